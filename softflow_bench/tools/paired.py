"""The change in success between two re-evaluations of the same runs, episode by episode.

    python -m softflow_bench.tools.paired BEFORE.json AFTER.json

BEFORE and AFTER are tables written by `softflow_bench.tools.evaluate` (results/evals/NAME.json),
e.g. the same runs' offline and final policies. Episodes are paired by (run seed, evaluation
episode seed): both evaluations played the same starts, so their difference is free of the
between-start spread. Prints the mean of AFTER - BEFORE with the 95 % interval of
tools.stats.paired_difference, per run seed and pooled.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from softflow_bench.tools.stats import paired_difference


def outcomes(path: Path) -> dict[tuple[int, int], float]:
    """{(run seed, episode seed): success} of an evaluate table; ValueError if it kept no episodes."""
    rows = json.loads(path.read_text())["rows"]
    out = {}
    for row in rows:
        if "episode_records" not in row:
            raise ValueError(f"{path} kept no per-episode records (made before evaluate kept them)")
        out.update({(row["seed"], r["seed"]): float(r["success"]) for r in row["episode_records"]})
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("before", type=Path, help="an evaluate table (.json)")
    p.add_argument("after", type=Path, help="another one, of the same runs")
    args = p.parse_args(argv)
    try:
        before, after = outcomes(args.before), outcomes(args.after)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # ValueError: also bad JSON
        p.error(str(exc))
    seeds = sorted({s for s, _ in before} & {s for s, _ in after})
    if not seeds:
        p.error("the two tables share no (run seed, episode) pair")
    print(f"success, {args.after.stem} - {args.before.stem}, on the episodes both played:")
    for seed in seeds:
        mean, lo, hi, n = paired_difference({k: v for k, v in after.items() if k[0] == seed},
                                            {k: v for k, v in before.items() if k[0] == seed})
        print(f"  run seed {seed}: {mean:+.3f} [{lo:+.3f}, {hi:+.3f}] over {n} episodes")
    mean, lo, hi, n = paired_difference(after, before)
    print(f"  pooled: {mean:+.3f} [{lo:+.3f}, {hi:+.3f}] over {n} episode pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
