"""Does a run remake its committed leaderboard row? The run (finished, or still training) is compared
with the row of its task, algorithm, seed and tier, evaluation by evaluation.

    python -m softflow_bench.tools.remake RUN [RUN ...] [--table results/leaderboard.json]

A row is reproduced by its command at the commit it names, with the libraries it names; a run made
so must match it exactly: its config, the success rate at every point of the learning curve it has
reached, every metric of the offline point and of the final evaluation, and which of their episodes
succeed. One table row per run; exit 1 if any run differs from its row, 2 if a run or the table
cannot be read or the table has no row for a run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from softflow_bench.tools import run_evaluations

ROOT = Path(__file__).resolve().parents[2]


def alike(row_episodes: dict | None, records: list[dict]) -> tuple[int, int] | None:
    """(episodes ending as the row's did, the row's episodes), or None where the row kept none."""
    from softflow_bench.tools.leaderboard import episode_successes

    if row_episodes is None:
        return None
    mine = episode_successes(records)
    return sum(mine.get(seed) == success for seed, success in row_episodes.items()), len(row_episodes)


def metrics_differ(row_point: dict, point: dict) -> list[str]:
    """The metrics in which an evaluation differs from the row's record of it."""
    keys = (set(row_point) | set(point)) - {"episodes_file"}
    return sorted(k for k in keys if row_point.get(k) != point.get(k))


def compare(run: Path, table: list[dict]) -> dict:
    """What of `run` matches its row in `table`. ValueError, naming the run, if it cannot be read or
    the table has no row for it."""
    from softflow_bench.config import BOOKKEEPING, unread_fields

    try:
        config = json.loads((run / "config.json").read_text())
        key = (config["env"], config["algo"], config["seed"], config["tier"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{run} is not a run's folder ({type(exc).__name__}: {exc})") from None
    row = next((r for r in table if (r["env"], r["algo"], r["seed"], r["tier"]) == key), None)
    if row is None:
        raise ValueError(f"the table has no row for {run} ({'/'.join(map(str, key))})")
    evaluations = run_evaluations(run, none_yet_ok=True)
    finished = (run / "summary.json").exists()
    differs = []
    if "config" in row:  # the fields the row recorded (a field added since is judged by its effect)
        ignored = {*BOOKKEEPING, *unread_fields(row["algo"])}  # as --resume judges a config (run.py)
        differs += [f"config {k}" for k in sorted(row["config"])
                    if k not in ignored and row["config"][k] != config.get(k)]
    curve = [{k: p[k] for k in ("online_episodes", "success_rate")} for p, _ in evaluations]
    first = next((p for p, row_p in zip(curve, row["curve"]) if p != row_p), None)
    if first is not None:  # where the two runs part, in the order they were made
        differs.append(f"curve from {first['online_episodes']} online episodes")
    offline = next(((p, r) for p, r in evaluations if p["online_episodes"] == 0), None)
    try:
        commit = str(json.loads((run / "provenance.json").read_text()).get("git_commit"))[:10]
    except (OSError, json.JSONDecodeError, AttributeError):
        commit = "–"  # a run from before provenance.json, or one whose record is damaged
    out = {"run": str(run), "row's commit": row["git_commit"], "run's commit": commit,
           "evaluations": f"{len(evaluations)} of {len(row['curve'])}"}
    for name, row_point, row_episodes, got in (
            ("offline", row.get("before"), row.get("before_episodes"), offline),
            ("final", row.get("final"), row.get("final_episodes"), evaluations[-1] if finished else None)):
        if row_point is None or got is None:
            out[name], out[f"{name} episodes alike"] = "–", "–"
            continue
        point, records = got
        differs += [f"{name} {m}" for m in metrics_differ(row_point, point)]
        counts = alike(row_episodes, records)
        if counts is not None and counts[0] != counts[1]:
            differs.append(f"{name} episodes")
        out[name] = f"{row_point['success_rate']:.2f} → {point['success_rate']:.2f}"
        out[f"{name} episodes alike"] = "–" if counts is None else f"{counts[0]} of {counts[1]}"
    out["remakes"] = "no" if differs else ("yes" if finished else "so far")
    out["differs in"] = ", ".join(differs[:4]) + (f" (+{len(differs) - 4})" if len(differs) > 4 else "")
    return out


def to_markdown(rows: list[dict]) -> str:
    """The runs' comparisons as one markdown table."""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    return "\n".join(lines + ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--table", type=Path, default=ROOT / "results" / "leaderboard.json",
                   help="the committed table (a leaderboard's .json)")
    args = p.parse_args(argv)
    from softflow_bench.tools.leaderboard import committed_rows

    try:
        table = committed_rows(args.table)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {args.table} cannot be read as a leaderboard table ({exc})", file=sys.stderr)
        return 2
    try:
        rows = [compare(run, table) for run in args.runs]
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(to_markdown(rows))
    return 1 if any(r["remakes"] == "no" for r in rows) else 0

if __name__ == "__main__":
    sys.exit(main())
