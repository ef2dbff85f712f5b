"""Tabulate finished runs: the evaluation before online RL against the final one, per seed,
and the same averaged over seeds for each (env, algo, tier).

    python -m softflow_bench.tools.leaderboard [--runs results/runs] [--out results/leaderboard.md]

Reads every results/runs/<env>/<algo>/seed<N>/summary.json; writes a markdown table (and a .json
beside it) with the exact run command of each row, so every number can be regenerated.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
METRICS = ("success_rate", "turns_mean", "drop_rate", "grasp_rate", "cut_rate", "return_mean")


def started_from(commits) -> str:
    """The line a sweep or re-evaluation table carries to say which code trained its runs."""
    return f"Runs started from commit {', '.join(sorted({(c or 'unknown')[:10] for c in commits}))}."


def offline_point(summary: dict) -> dict | None:
    """A run's evaluation before online RL (after the offline stages), if its curve has one."""
    return next((p for p in summary["curve"] if p["online_episodes"] == 0), None)


def rows(runs: Path) -> list[dict]:
    out = []
    for path in sorted(runs.glob("*/*/seed*/summary.json")):
        s = json.loads(path.read_text())
        before = offline_point(s)
        out.append({
            "env": s["env"], "algo": s["algo"], "seed": s["seed"], "tier": s["tier"],
            "git_commit": s["git_commit"][:10],
            "ran_on": _ran_on(s),
            "online_episodes": s["online_episodes"], "before": before, "final": s["final"],
            "command": f"python -m softflow_bench.run --algo {s['algo']} --env {s['env']} --tier {s['tier']} "
                       f"--seed {s['seed']} --threads {s['config'].get('threads', 0)}",
        })
    return out


def _ran_on(summary: dict) -> str:
    """Torch build and CPU count: runs from different machines are not bit-comparable."""
    cpus = summary.get("machine", {}).get("cpus")
    return f"torch {summary['versions']['torch']}" + (f", {cpus} CPUs" if cpus else "")


def aggregate(table: list[dict], metrics: list[str]) -> list[dict]:
    """Per (env, algo, tier): seed count, mean and std over seeds of each metric before and after
    online RL, and on how many seeds the final success rate beat the offline one."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in table:
        groups[(r["env"], r["algo"], r["tier"])].append(r)
    out = []
    for (env, algo, tier), runs in sorted(groups.items()):
        row = {"env": env, "algo": algo, "tier": tier, "seeds": sorted(r["seed"] for r in runs)}
        for m in metrics:
            for when in ("before", "final"):
                vals = [r[when][m] for r in runs if r[when] and m in r[when]]
                row[f"{m}_{when}"] = (float(np.mean(vals)), float(np.std(vals))) if vals else None
        online = [r for r in runs if r["online_episodes"] > 0 and r["before"]]
        row["improved"] = (sum(r["final"]["success_rate"] > r["before"]["success_rate"] for r in online), len(online))
        out.append(row)
    return out


def _mean_std(v) -> str:
    return "–" if v is None else f"{v[0]:.2f} ± {v[1]:.2f}"


def render(table: list[dict]) -> str:
    metrics = [m for m in METRICS if any(m in (r["final"] or {}) for r in table)]
    summary = aggregate(table, metrics)
    shown = [m for m in ("success_rate", "drop_rate", "turns_mean", "grasp_rate", "cut_rate") if m in metrics]
    agg_head = ["env", "algo", "tier", "seeds"] + [f"{m} offline → final (mean ± std)" for m in shown] + [
        "success improved (seeds)"]
    agg_lines = ["## Mean over seeds", "",
                 "| " + " | ".join(agg_head) + " |", "|" + "---|" * len(agg_head)]
    for a in summary:
        cells = [a["env"], a["algo"], a["tier"], ",".join(map(str, a["seeds"]))]
        online = a["improved"][1] > 0
        for m in shown:
            after = _mean_std(a[f"{m}_final"])
            cells.append(f"{_mean_std(a[f'{m}_before'])} → {after}" if online else after)
        cells.append(f"{a['improved'][0]} of {a['improved'][1]}" if online else "–")
        agg_lines.append("| " + " | ".join(cells) + " |")
    head = ["env", "algo", "tier", "seed"] + [f"{m} (offline → final)" for m in metrics] + ["commit", "ran on"]
    lines = ["# Leaderboard (development runs)", "",
             "Each row: the evaluation before online RL (after the offline stages) → the final one,",
             "over the tier's fixed evaluation seeds; imitation-only rows (`bc_*`, no online stage) have",
             "one evaluation. Regenerate a row with its command below, then",
             "`python -m softflow_bench.tools.leaderboard`.", ""] + agg_lines + [
             "", "## Every run", "",
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
        lines.append("| " + " | ".join(cells + [r["git_commit"], r["ran_on"]]) + " |")
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
