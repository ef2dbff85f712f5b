"""Which demonstrated mode a run's policy follows at each evaluation point, and how each one fares.

    python -m softflow_bench.tools.modes RUN_DIR [RUN_DIR ...]

Both experts draw one of two modes per episode (two finger gaits on the cube, the index or the
middle finger in the scissors' ring), and every evaluation episode is labelled with the mode its
actions follow (rollout.ModeClassifier). For each evaluation of each run (the offline point, then
each online one) prints one table row: the online episodes so far, the success rate, and per mode
its share of the episodes, its success rate and the critic ensemble's mean disagreement on the
chunks played in it. A success rate that swings between evaluation points while one mode's
success holds and the other's moves is that mode's doing, not the whole policy's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from softflow_bench.tools import print_run_table, run_evaluations


def _mean(episodes: list[dict], key: str) -> float | None:
    """The mean of `key` over the episodes that recorded it (a policy acting with one chunk and no
    critic's pick records no disagreement); None if none did."""
    values = [e[key] for e in episodes if e.get(key) is not None]
    return sum(values) / len(values) if values else None


def evaluation_rows(run: Path) -> list[dict]:
    """One row per evaluation of `run` (see the module docstring); ValueError if it has none, its files
    cannot be read or its episodes carry no mode."""
    rows = []
    for point, episodes in run_evaluations(run):
        if any("mode" not in e for e in episodes):
            raise ValueError(f"{run}: the episodes of {point['episodes_file']} carry no mode")
        row = {"run": str(run), "online_episodes": point["online_episodes"],
               "success": sum(e["success"] for e in episodes) / len(episodes), "modes": {}}
        # every demonstrated mode, the ones no episode followed included (the evaluation lists them all)
        for mode in sorted(k.removeprefix("mode_share_") for k in point if k.startswith("mode_share_")):
            mine = [e for e in episodes if e["mode"] == mode]
            row["modes"][mode] = {"share": len(mine) / len(episodes), "success": _mean(mine, "success"),
                                  "q_disagreement": _mean(mine, "q_disagreement")}
        rows.append(row)
    return rows


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def to_markdown(rows: list[dict]) -> str:
    """The rows as one markdown table, a column per mode of any row ("–" for what a row cannot have: a
    mode of another task, or the success of a mode no episode followed)."""
    modes = sorted({m for r in rows for m in r["modes"]})
    cols = ["run", "online episodes", "success"] + [f"{m}: share / success / Q disagreement" for m in modes]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [r["run"], str(r["online_episodes"]), f"{r['success']:.2f}"]
        for m in modes:
            part = r["modes"].get(m)
            if part is None:
                cells.append("–")
            else:
                cells.append(" / ".join([f"{part['share']:.2f}", _fmt(part["success"], ".2f"),
                                         _fmt(part["q_disagreement"], ".3f")]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path, help="run directories (results/runs/<env>/<algo>/[<tier>/]seed<N>)")
    args = p.parse_args(argv)
    return print_run_table(lambda: [row for run in args.runs for row in evaluation_rows(run)], to_markdown)


if __name__ == "__main__":
    sys.exit(main())
