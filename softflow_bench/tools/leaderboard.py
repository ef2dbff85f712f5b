"""Tabulate finished runs: the evaluation before online RL against the final one, per seed.

    python -m softflow_bench.tools.leaderboard [--runs results/runs] [--out results/leaderboard.md]

Reads every results/runs/<env>/<algo>/seed<N>/summary.json; writes a markdown table (and a .json
beside it) with the exact run command of each row, so every number can be regenerated.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
METRICS = ("success_rate", "turns_mean", "drop_rate", "grasp_rate", "cut_rate", "return_mean")


def rows(runs: Path) -> list[dict]:
    out = []
    for path in sorted(runs.glob("*/*/seed*/summary.json")):
        s = json.loads(path.read_text())
        before = next((p for p in s["curve"] if p["online_episodes"] == 0), None)
        out.append({
            "env": s["env"], "algo": s["algo"], "seed": s["seed"], "tier": s["tier"], "git_commit": s["git_commit"][:10],
            "online_episodes": s["online_episodes"], "before": before, "final": s["final"],
            "command": f"python -m softflow_bench.run --algo {s['algo']} --env {s['env']} --tier {s['tier']} "
                       f"--seed {s['seed']} --threads {s['config'].get('threads', 0)}",
        })
    return out


def render(table: list[dict]) -> str:
    metrics = [m for m in METRICS if any(m in (r["final"] or {}) for r in table)]
    head = ["env", "algo", "tier", "seed"] + [f"{m} (offline → final)" for m in metrics] + ["commit"]
    lines = ["# Leaderboard (development runs)", "",
             "Each row: the evaluation before online RL (after the offline stages) → the final one,",
             "over the tier's fixed evaluation seeds; imitation-only rows (`bc_*`, no online stage) have",
             "one evaluation. Regenerate a row with its command below, then",
             "`python -m softflow_bench.tools.leaderboard`.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in table:
        cells = [r["env"], r["algo"], r["tier"], str(r["seed"])]
        for m in metrics:
            b = (r["before"] or {}).get(m)
            f = (r["final"] or {}).get(m)
            if r["online_episodes"] == 0 and f is not None:
                cells.append(f"{f:.2f}")
            else:
                cells.append(f"{b:.2f} → {f:.2f}" if b is not None and f is not None else "–")
        lines.append("| " + " | ".join(cells + [r["git_commit"]]) + " |")
    lines += ["", "Commands:", ""] + [f"- `{r['command']}`" for r in table]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", default=str(ROOT / "results" / "runs"))
    p.add_argument("--out", default=str(ROOT / "results" / "leaderboard.md"))
    args = p.parse_args(argv)
    table = rows(Path(args.runs))
    if not table:
        p.error(f"no finished runs (summary.json) under {args.runs}")
    out = Path(args.out)
    out.write_text(render(table))
    out.with_suffix(".json").write_text(json.dumps(table, indent=1))
    print(out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
