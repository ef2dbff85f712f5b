#!/usr/bin/env bash
# Many leaderboard runs in parallel, one CPU thread each (the quick tier's numbers are CPU runs;
# DEVICE=cuda trains them on a GPU instead, one CPU thread each still stepping the simulator):
#   ENV=cube_pronation TIER=quick JOBS=8 bash scripts/run_grid.sh sac:1 sac:2 diffusion:1 ...
# Each argument is ALGO:SEED. A run that already finished is skipped; one that was interrupted
# resumes from its checkpoint. Logs go to results/runs/<env>/<algo>/seed<N>.log.
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
ENV="${ENV:-cube_pronation}" TIER="${TIER:-quick}" JOBS="${JOBS:-2}" DEVICE="${DEVICE:-cpu}"
[ $# -gt 0 ] || { echo "usage: [ENV=..] [TIER=..] [JOBS=..] $0 ALGO:SEED ..." >&2; exit 2; }
one() {
    algo="${1%%:*}" seed="${1##*:}" dir="results/runs/$ENV/$algo/seed$seed"
    [ -f "$dir/summary.json" ] && { echo "done already: $1"; return 0; }
    resume=(); [ -f "$dir/checkpoint.pt" ] && resume=(--resume)
    mkdir -p "$(dirname "$dir")"
    "$PY" -m softflow_bench.run --algo "$algo" --env "$ENV" --tier "$TIER" --seed "$seed" \
        --threads 1 --device "$DEVICE" "${resume[@]}" > "$dir.log" 2>&1
    echo "exit $? : $1"
}
export -f one; export PY ENV TIER DEVICE
printf '%s\n' "$@" | xargs -P "$JOBS" -I{} bash -c 'one {}'
