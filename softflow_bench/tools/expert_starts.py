"""Split runs' success by whether the scripted expert succeeds from the same start.

    python -m softflow_bench.tools.expert_starts RUN_DIR [RUN_DIR ...] --name NAME \\
        [--evaluation final|offline] [--results results/evals]

An evaluation episode is fixed by its seed: the env's reset draws the start (cube pose, grasp
noise) from it. The expert, played from the same seed, either succeeds from that start or not.
Starts the expert fails are those the demonstrations hold no success for: a policy that imitates
well succeeds where the expert does and fails where it fails, and what an online stage can add
shows on the starts the policy still fails. Reads each run's per-episode records of the chosen
evaluation (`final`: the last one; `offline`: the one before online RL), plays the expert from
each start once (deterministic: its noise is seeded by the start's seed), and writes
results/evals/NAME.md (and .json): per run and pooled per algorithm, the success rate on the
expert's successful starts and on its failed ones, with 95 % Wilson intervals, the starts that no
given run solves, and each algorithm's success on the other starts (where there is room to gain),
and the object's pose at each unsolved start beside the others': whether the starts nothing solves
are of one kind.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from softflow_bench.tools.evaluate import RESULTS, wilson_interval
from softflow_bench.tools.leaderboard import episode_records, offline_point, started_from


def evaluation_records(run: Path, evaluation: str) -> tuple[dict, list[dict]]:
    """(summary, per-episode records) of a finished run's final or offline evaluation; ValueError
    naming what is missing."""
    path = run / "summary.json"
    if not path.is_file():
        raise ValueError(f"{run} is not a finished run (no summary.json)")
    summary = json.loads(path.read_text())
    records = episode_records(run, summary.get("final") if evaluation == "final" else offline_point(summary))
    if records is None:
        raise ValueError(f"{run} kept no per-episode records of its {evaluation} evaluation")
    return summary, records


def start_pose(env) -> dict[str, float]:
    """Where the task's object (the model's first free joint: the cube, the scissors) starts after
    the reset: x and y (mm) and yaw about the vertical (degrees), in the world frame."""
    import mujoco

    model, data = env.unwrapped.model, env.unwrapped.data
    joint = next(j for j in range(model.njnt) if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE)
    x, y, _, w, qx, qy, qz = data.qpos[model.jnt_qposadr[joint]:model.jnt_qposadr[joint] + 7]
    yaw = np.degrees(np.arctan2(2 * (w * qz + qx * qy), 1 - 2 * (qy * qy + qz * qz)))
    return {"x_mm": float(1e3 * x), "y_mm": float(1e3 * y), "yaw_deg": float(yaw)}


def expert_successes(env_name: str, env_id: str, seeds) -> tuple[dict[int, bool], dict[int, dict[str, float]]]:
    """({seed: whether the scripted expert succeeds from that start}, {seed: the object's start pose})."""
    import gymnasium as gym

    import softflow_bench.envs  # noqa: F401  (registers the tasks)
    from softflow_bench.demos import rollout_expert

    env = gym.make(env_id)
    solved, poses = {}, {}
    try:
        for s in sorted(seeds):
            env.reset(seed=s)
            poses[s] = start_pose(env)
            solved[s] = bool(rollout_expert(env_name, env, s)[2]["success"])
        return solved, poses
    finally:
        env.close()


def pose_lines(poses: dict[int, dict[str, float]], never: list[int]) -> list[str]:
    """Markdown: the object's start pose, mean and range, on the starts no run solves and on the
    others, then the unsolved starts one by one: whether they share a kind of start."""
    if not poses or not never:
        return []
    keys = list(next(iter(poses.values())))
    rest = [s for s in poses if s not in never]

    def summary(seeds: list[int], key: str) -> str:
        values = [poses[s][key] for s in seeds]
        return f"{sum(values) / len(values):+.2f} [{min(values):+.2f}, {max(values):+.2f}]" if values else "–"

    lines = ["", "The object's start pose (mean [min, max]) on the starts no run solves and on the others:", "",
             "| start pose | unsolved | the others |", "|---|---|---|"]
    lines += [f"| {k} | {summary(never, k)} | {summary(rest, k)} |" for k in keys]
    lines += ["", "| unsolved start | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    lines += [f"| {s} | " + " | ".join(f"{poses[s][k]:+.2f}" for k in keys) + " |" for s in never]
    return lines


def split(records: list[dict], expert: dict[int, bool], never: set[int] = frozenset()) -> dict:
    """Successes and episodes on the expert's successful starts (`solved`), on its failed ones
    (`failed`), and on every start but those no given run solves (`solvable`: where a run can gain)."""
    out = {}
    parts = (("solved", lambda r: expert[r["seed"]]), ("failed", lambda r: not expert[r["seed"]]),
             ("solvable", lambda r: r["seed"] not in never))
    for name, keep in parts:
        mine = [r for r in records if keep(r) and r["success"] is not None]
        wins = sum(bool(r["success"]) for r in mine)
        out[name] = {"successes": wins, "episodes": len(mine),
                     "rate": wins / len(mine) if mine else None,
                     "ci95": wilson_interval(wins, len(mine)) if mine else None}
    return out


def _cell(part: dict) -> str:
    if not part["episodes"]:
        return "–"
    lo, hi = part["ci95"]
    return f"{part['rate']:.2f} [{lo:.2f}, {hi:.2f}] ({part['successes']}/{part['episodes']})"


def to_markdown(rows: list[dict], pooled: list[dict], expert_rate: float, never: list[int], command: str,
                evaluation: str, poses: dict[int, dict[str, float]]) -> str:
    lines = ["# Success on the starts the expert solves and on those it fails", "",
             f"Regenerate: `{command}`", "",
             f"Each run's {evaluation} evaluation, episode by episode; the scripted expert played once from "
             f"each of its starts (the same seeds) succeeds from {expert_rate:.2f} of them.",
             started_from(r["git_commit"] for r in rows), "",
             "| env | algo | tier | seed | episodes | on the expert's successful starts | on its failed starts |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['env']} | {r['algo']} | {r['tier']} | {r['seed']} | {r['episodes']} | "
                     f"{_cell(r['solved'])} | {_cell(r['failed'])} |")
    lines += ["", "Pooled over the runs of each algorithm and tier (episodes of every seed together); the last "
              "column leaves out the starts that none of the runs solves:", "",
              "| env | algo | tier | runs | on the expert's successful starts | on its failed starts | on the starts "
              "some run solves |", "|---|---|---|---|---|---|---|"]
    for g in pooled:
        lines.append(f"| {g['env']} | {g['algo']} | {g['tier']} | {g['runs']} | {_cell(g['solved'])} | "
                     f"{_cell(g['failed'])} | {_cell(g['solvable'])} |")
    lines += ["", f"Starts that none of these runs solves ({len(never)}): "
              + (", ".join(map(str, never)) if never else "none") + "."]
    lines += pose_lines(poses, never)
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path, help="finished run directories (results/runs/<env>/<algo>/seed<N>)")
    p.add_argument("--name", required=True, help="the table is written to <results>/<name>.md and .json")
    p.add_argument("--evaluation", choices=("final", "offline"), default="final",
                   help="which of each run's evaluations: the last, or the one before online RL")
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    from softflow_bench.demos import EXPERT_ENVS

    loaded = []
    for run in args.runs:
        try:
            summary, records = evaluation_records(run, args.evaluation)
        except (ValueError, KeyError, TypeError) as exc:  # ValueError: also bad JSON
            p.error(str(exc))
        if summary.get("env") not in EXPERT_ENVS:
            p.error(f"{run}: its task {summary.get('env')!r} has no scripted expert "
                    f"(tasks with one: {list(EXPERT_ENVS)})")
        loaded.append((run, summary, records))
    if len({(s["env"], s["env_id"]) for _, s, _ in loaded}) > 1:
        p.error("the runs are of different tasks: give the runs of one task")
    env_name, env_id = loaded[0][1]["env"], loaded[0][1]["env_id"]
    seeds = {r["seed"] for _, _, records in loaded for r in records}
    expert, poses = expert_successes(env_name, env_id, seeds)

    never = sorted(seed for seed in seeds
                   if not any(r["success"] for _, _, records in loaded for r in records if r["seed"] == seed))
    rows, groups = [], defaultdict(list)
    for run, s, records in loaded:
        tier = s.get("tier", "quick")
        row = {"run": str(run), "env": s["env"], "algo": s["algo"], "tier": tier, "seed": s["seed"],
               "git_commit": s["git_commit"], "episodes": len(records), **split(records, expert, set(never))}
        rows.append(row)
        groups[(s["env"], s["algo"], tier)].append(records)
    pooled = [{"env": env, "algo": algo, "tier": tier, "runs": len(rs),
               **split([r for records in rs for r in records], expert, set(never))}
              for (env, algo, tier), rs in sorted(groups.items())]
    command = "python -m softflow_bench.tools.expert_starts " + " ".join(shlex.quote(a) for a in argv)
    expert_rate = sum(expert.values()) / len(expert)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"{args.name}.json").write_text(json.dumps(
        {"command": command, "evaluation": args.evaluation, "expert": {str(k): v for k, v in expert.items()},
         "start_pose": {str(k): v for k, v in poses.items()},
         "rows": rows, "pooled": pooled, "never_solved": never}, indent=1))
    text = to_markdown(rows, pooled, expert_rate, never, command, args.evaluation, poses)
    (args.results / f"{args.name}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
