"""Does the task's reward rank outcomes, and runs, the way its success rate does?

    python -m softflow_bench.tools.outcome_returns RUN_DIR [RUN_DIR ...] [--evaluation final|all]

RL maximises the return; the leaderboard counts successes. Pooling the evaluation episodes of the
given runs (of one task), prints the return each outcome earns: a success; a failure that kept the
object (on the cube: held to the end short of a quarter turn); a failure by a drop (tasks that can
drop). What finishing adds over a kept failure, against what a drop costs, is how strongly the
reward asks for the task rather than for keeping the object. Then each run's final success, mean
return and drop rate, its outcomes at each evaluation (what its online stage traded for what), and
how many pairs of runs the two orders rank the other way round.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from softflow_bench.tools import print_run_table, run_evaluations

OUTCOMES = ("success", "failed, object kept", "failed, dropped")
MIN_GAP = 0.05  # success rates closer than this are not told apart by 100 episodes


def outcome(episode: dict) -> str:
    if episode["success"]:
        return OUTCOMES[0]
    return OUTCOMES[2] if episode.get("dropped") else OUTCOMES[1]


def run_episodes(run: Path, evaluation: str) -> tuple[str, list[list[dict]], list[dict]]:
    """(env, the episodes of each chosen evaluation in order, the final evaluation's episodes) of
    `run`; ValueError if it is not a finished run."""
    evaluations = run_evaluations(run)
    try:
        final_file = json.loads((run / "summary.json").read_text())["final"]["episodes_file"]
        env = json.loads((run / "config.json").read_text())["env"]
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(f"{run} is not a finished run ({type(exc).__name__}: {exc})") from exc
    final = evaluations[-1][1]
    if evaluations[-1][0]["episodes_file"] != final_file:
        raise ValueError(f"{run}: its last evaluation is not the final one its summary names")
    return env, [final] if evaluation == "final" else [episodes for _, episodes in evaluations], final


def read_runs(runs: list[Path], evaluation: str) -> list[tuple[str, list[list[dict]], list[dict]]]:
    """run_episodes of each run; ValueError if they are of more than one task."""
    per_run = [run_episodes(run, evaluation) for run in runs]
    envs = {env for env, _, _ in per_run}
    if len(envs) > 1:
        raise ValueError(f"the runs are of several tasks ({', '.join(sorted(envs))}); give one task's runs")
    return per_run


def to_markdown(runs: list[Path], per_run: list[tuple[str, list[list[dict]], list[dict]]], evaluation: str) -> str:
    pooled = {o: [e["return"] for _, chosen, _ in per_run for point in chosen for e in point if outcome(e) == o]
              for o in OUTCOMES}
    lines = [f"Outcomes over {sum(len(p) for _, c, _ in per_run for p in c)} evaluation episodes of {len(runs)} runs "
             f"({evaluation} evaluations):", "",
             "| outcome | episodes | mean return | 10th–90th percentile |", "|---|---|---|---|"]
    for o, returns in pooled.items():
        if returns:
            lo, hi = np.percentile(returns, [10, 90])
            lines.append(f"| {o} | {len(returns)} | {np.mean(returns):.2f} | {lo:.2f} – {hi:.2f} |")
    means = {o: float(np.mean(r)) for o, r in pooled.items() if r}
    if OUTCOMES[0] in means and OUTCOMES[1] in means:
        lines += ["", f"Finishing adds {means[OUTCOMES[0]] - means[OUTCOMES[1]]:+.2f} over a kept failure"
                  + (f"; a drop costs {means[OUTCOMES[2]] - means[OUTCOMES[1]]:+.2f} against it."
                     if OUTCOMES[2] in means else ".")]
    finals = [(str(run), np.mean([e["success"] for e in final]), np.mean([e["return"] for e in final]),
               f"{np.mean([e['dropped'] for e in final]):.2f}" if "dropped" in final[0] else "–")
              for run, (_, _, final) in zip(runs, per_run)]
    lines += ["", "| run | final success | final mean return | final drop rate |", "|---|---|---|---|"]
    lines += [f"| {run} | {ok:.2f} | {ret:.2f} | {drop} |" for run, ok, ret, drop in finals]
    lines += ["", "Each run's evaluations in order, as episodes succeeded / failed with the object kept / dropped:", "",
              "| run | evaluations |", "|---|---|"]
    for run, (_, chosen, _) in zip(runs, per_run):
        counts = (" / ".join(str(sum(outcome(e) == o for e in point)) for o in OUTCOMES) for point in chosen)
        lines.append(f"| {run} | {' → '.join(counts)} |")
    apart = [(a, b) for i, a in enumerate(finals) for b in finals[i + 1:] if abs(a[1] - b[1]) >= MIN_GAP]
    reversed_ = sum((a[1] - b[1]) * (a[2] - b[2]) < 0 for a, b in apart)
    lines += ["", f"Of {len(apart)} pairs of runs whose final success differs by {MIN_GAP} or more, the "
              f"return ranks {reversed_} the other way round."]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path, help="finished run directories of one task")
    p.add_argument("--evaluation", choices=["all", "final"], default="all",
                   help="pool every evaluation point of each run (default) or only the final one")
    args = p.parse_args(argv)
    return print_run_table(lambda: read_runs(args.runs, args.evaluation),
                           lambda per_run: to_markdown(args.runs, per_run, args.evaluation))


if __name__ == "__main__":
    sys.exit(main())
