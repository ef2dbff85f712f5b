"""The change in success between two evaluations of the same starts, episode by episode.

    python -m softflow_bench.tools.paired BEFORE.json AFTER.json [--before-temperature T] [--after-temperature T]
    python -m softflow_bench.tools.paired results/leaderboard.json results/leaderboard.json \
        --env ENV --before-algo A --after-algo B [--tier quick]
    python -m softflow_bench.tools.paired results/leaderboard.json SWEEP.json --env ENV --before-algo A \
        --after-value V

BEFORE and AFTER are each one of: a table written by `softflow_bench.tools.evaluate`
(results/evals/NAME.json), e.g. the same runs' offline and final policies; one written by
`softflow_bench.tools.tune_temperature` (results/sweeps/NAME.json; its rows span several
temperatures, so name the one to compare); one written by `softflow_bench.tools.sweep` (its runs'
final evaluations; name the value when it swept several); or the leaderboard's table with
--before-algo or --after-algo: that algorithm's final evaluations on one task (--env), from the rows
today's defaults make (those the verdict compares). So a recipe's sweep compares with the row it
would replace.
Episodes are paired by (run seed, evaluation episode seed): both evaluations played the same
starts, so their difference is free of the between-start spread. Prints the mean of AFTER -
BEFORE with the 95 % interval of tools.stats.paired_difference, per run seed and pooled.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from softflow_bench.tools.stats import paired_difference


def _rows(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text())["rows"]
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not an evaluate table (not JSON: {exc})") from None
    except (KeyError, TypeError):
        raise ValueError(f"{path} is not an evaluate table (no rows)") from None


def outcomes(path: Path, temperature: float | None = None, value: str | None = None) -> dict[tuple[int, int], float]:
    """{(run seed, episode seed): success} of an evaluate, temperature-search or sweep table (its rows
    at `temperature` or of the swept `value`, when given); ValueError if it kept no episodes or mixes
    temperatures or values unasked."""
    rows = _rows(path)
    # (row key, the one asked for, how the error names it, and names several of them)
    choices = (("temperature", temperature, f"at temperature {temperature}", "temperatures"),
               ("value", value, f"of the swept value {value!r}", "swept values"))
    for key, wanted, named, _ in choices:
        if wanted is not None:
            rows = [row for row in rows if row.get(key) == wanted]
            if not rows:
                raise ValueError(f"{path} has no rows {named}")
    for key, _, _, several in choices:
        if len({(row["seed"], row.get(key)) for row in rows}) > len({row["seed"] for row in rows}):
            raise ValueError(f"{path} holds several {several} per run: choose one with --before-{key} "
                             f"or --after-{key}")
    out = {}
    for row in rows:
        if "episode_records" not in row:
            raise ValueError(f"{path} kept no per-episode records (made before evaluate kept them)")
        out.update({(row["seed"], r["seed"]): float(r["success"]) for r in row["episode_records"]})
    return out


def leaderboard_outcomes(path: Path, env: str, algo: str, tier: str) -> dict[tuple[int, int], float]:
    """{(run seed, episode seed): success} of one algorithm's final evaluations in a leaderboard table,
    from its rows that today's defaults make; ValueError if there are none with their episodes."""
    from softflow_bench.tools.leaderboard import committed_rows, current
    from softflow_bench.tools.verdict import episode_outcomes

    rows = [row for row in committed_rows(path)
            if (row.get("env"), row.get("algo"), row.get("tier")) == (env, algo, tier)
            and row.get("final_episodes") and current(row)]
    if not rows:
        raise ValueError(f"{path} has no current rows of {algo} on {env} ({tier} tier) with their episodes")
    return {k: v for row in rows for k, v in episode_outcomes(row).items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("before", type=Path, help="an evaluate, temperature-search, sweep or leaderboard table (.json)")
    p.add_argument("after", type=Path, help="another, of the same starts")
    p.add_argument("--before-temperature", type=float, help="BEFORE's rows at this temperature (a search's table)")
    p.add_argument("--after-temperature", type=float, help="AFTER's rows at this temperature (a search's table)")
    p.add_argument("--before-value", help="BEFORE's runs of this swept value (a sweep's table)")
    p.add_argument("--after-value", help="AFTER's runs of this swept value (a sweep's table)")
    p.add_argument("--env", help="with --before-algo/--after-algo: the task of the leaderboard rows")
    p.add_argument("--before-algo", help="BEFORE is a leaderboard table: this algorithm's final evaluations")
    p.add_argument("--after-algo", help="AFTER is a leaderboard table: this algorithm's final evaluations")
    p.add_argument("--tier", default="quick", help="with --before-algo/--after-algo: the rows' tier")
    args = p.parse_args(argv)
    if (args.before_algo or args.after_algo) and not args.env:
        p.error("a leaderboard side (--before-algo or --after-algo) takes --env, the task of its rows")

    def side(path: Path, algo: str | None, temperature: float | None, value: str | None):
        if algo:
            return leaderboard_outcomes(path, args.env, algo, args.tier)
        return outcomes(path, temperature, value)

    try:
        before = side(args.before, args.before_algo, args.before_temperature, args.before_value)
        after = side(args.after, args.after_algo, args.after_temperature, args.after_value)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # ValueError: also bad JSON
        p.error(str(exc))
    seeds = sorted({s for s, _ in before} & {s for s, _ in after})
    if not seeds:
        p.error("the two tables share no (run seed, episode) pair")
    names = [algo or (f"{path.stem} {value}" if value else path.stem)
             for algo, path, value in ((args.after_algo, args.after, args.after_value),
                                       (args.before_algo, args.before, args.before_value))]
    print(f"success, {names[0]} - {names[1]}, on the episodes both played:")
    for seed in seeds:
        mean, lo, hi, n = paired_difference({k: v for k, v in after.items() if k[0] == seed},
                                            {k: v for k, v in before.items() if k[0] == seed})
        print(f"  run seed {seed}: {mean:+.3f} [{lo:+.3f}, {hi:+.3f}] over {n} episodes")
    mean, lo, hi, n = paired_difference(after, before)
    print(f"  pooled: {mean:+.3f} [{lo:+.3f}, {hi:+.3f}] over {n} episode pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
