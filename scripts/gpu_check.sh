#!/usr/bin/env bash
# The checks that need a GPU, in one go on a machine with CUDA:
#   [ENV=scissors_tape] bash scripts/gpu_check.sh [ALGO ...]   (SEEDS=0-2 by default)
# 1. the SOFT-FLOW and baseline benchmarks on the GPU, alone on it (docs/performance.md's GPU figures);
# 2. the given algorithms' leaderboard runs trained on the GPU (the grid tool with --device cuda, all
#    at once), beside 3. the CUDA path's tests (tests/test_cuda.py, which CI's machines skip).
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
export MUJOCO_GL="${MUJOCO_GL:-egl}" PYTHONUNBUFFERED=1
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name())" || exit 2
echo "== benchmarks on the GPU"
SOFTFLOW_BENCH_DEVICE=cuda "$PY" -m pytest -q -s -p no:cacheprovider --benchmark-enable --benchmark-columns=mean,ops \
    tests/benchmarks/test_baselines_speed.py tests/benchmarks/test_softflow_speed.py
status=$?
if [ $# -gt 0 ]; then
    echo "== training on the GPU: $*"
    "$PY" -m softflow_bench.tools.grid --envs "${ENV:-cube_pronation}" --algos "$@" --seeds ${SEEDS:-0-2} \
        -- --device cuda &
fi
echo "== the CUDA path's tests"
parallel=(); "$PY" -c "import xdist" 2>/dev/null && parallel=(-n 4)  # pytest-xdist, where installed
"$PY" -m pytest -q -p no:cacheprovider tests/test_cuda.py "${parallel[@]}" || status=1
wait
exit $status
