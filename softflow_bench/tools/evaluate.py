"""Re-evaluate the saved policies of finished runs on more episodes than their tier's evaluation.

    python -m softflow_bench.tools.evaluate RUN_DIR [RUN_DIR ...] --episodes 100 --name NAME \\
        [--policy final_policy.pt] [--results results/evals] [--candidates N] [--temperature T] \\
        [--pick-pessimism K] [--validation]

Each run's policy is evaluated exactly as the run evaluated it (its saved config: temperature,
candidates, chunk) on the same fixed evaluation seeds (1,000,000 + i), only more of them: 20
episodes resolve a success rate to ±0.2 at best, 100 to about ±0.1. Writes results/evals/NAME.md
(and .json) with the command at the top, a row per run with a 95 % Wilson interval on the success
rate, and the mean over the seeds of each (env, algo). `--validation` plays the validation seeds
(2,000,000 + i) instead, those a choice of setting is made on.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shlex
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from softflow_bench.tools.leaderboard import METRICS, started_from

RESULTS = Path(__file__).resolve().parents[2] / "results" / "evals"


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a binomial rate: honest at 0 and 1, unlike the normal one."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def load_run(run: Path, policy: str):
    """(config, env id, agent state, the commit the run started from or None) of a finished run;
    ValueError with the reason if it is not one."""
    from softflow_bench.config import saved_config

    if not (run / "config.json").is_file():
        raise ValueError(f"{run} is not a run directory (no config.json)")
    if not (run / policy).is_file():
        raise ValueError(f"{run} has no {policy} (is the run finished?)")
    import torch

    saved = json.loads((run / "config.json").read_text())
    state = torch.load(run / policy, map_location="cpu", weights_only=True)["agent"]
    summary = run / "summary.json"  # which code trained the policy
    commit = json.loads(summary.read_text()).get("git_commit") if summary.is_file() else None
    return saved_config(saved), saved["env_id"], state, commit


def agent_of_run(cfg, env_id: str, state: dict):
    """The Agent a run trained (`cfg`, `env_id`, `state` from load_run; `cfg` may override fields
    that do not shape the networks), weights loaded, in eval mode, with the run's env."""
    import gymnasium as gym

    import softflow_bench.envs  # noqa: F401  (registers the tasks)
    from softflow_bench.agent import Agent

    env = gym.make(env_id)
    agent = Agent(env.observation_space.shape[0], env.action_space.shape[0], cfg)
    agent.load_state_dict(state)
    return agent.eval(), env


#: The acting settings an evaluation may set instead of the run's own, each as its table says so.
OVERRIDES = {"candidates": "N = {} chunks sampled per decision", "temperature": "the temperature, {}",
             "pick_pessimism": "pick_pessimism = {}"}


def evaluate_run(run: Path, policy: str, loaded, episodes: int, overrides: dict | None = None,
                 validation: bool = False) -> dict:
    """Evaluate one run's policy (`loaded` = load_run's result) on `episodes` fixed seeds (the
    evaluation seeds, or the validation seeds), with `overrides` ({field: value} of OVERRIDES; e.g.
    candidates 1: the policy's own samples without the critic's pick) instead of the run's own."""
    import torch

    from softflow_bench.config import non_defaults
    from softflow_bench.rollout import EVAL_SEED_BASE, VALIDATION_SEED_BASE, evaluate_policy

    cfg, env_id, state, commit = loaded
    # the run's own settings, named before the overrides change them for this evaluation
    settings = ", ".join(f"{k}={v}" for k, v in non_defaults(cfg).items()) or "default"
    cfg = dataclasses.replace(cfg, **(overrides or {}))
    agent, env = agent_of_run(cfg, env_id, state)
    gen = torch.Generator().manual_seed(cfg.seed)
    metrics, records = evaluate_policy(env, agent, cfg, gen, episodes, desc=f"{cfg.env}/{cfg.algo}/seed{cfg.seed}",
                                       seed_base=VALIDATION_SEED_BASE if validation else EVAL_SEED_BASE)
    env.close()
    successes = round(metrics["success_rate"] * episodes)
    return {"run": str(run), "env": cfg.env, "algo": cfg.algo, "seed": cfg.seed, "tier": cfg.tier,
            "settings": settings,
            "policy": policy, "episodes": episodes, "candidates": cfg.candidates, "temperature": cfg.temperature,
            "pick_pessimism": cfg.pick_pessimism, "validation": validation, "git_commit": commit, **metrics,
            "success_ci95": wilson_interval(successes, episodes),
            # per episode, so that two evaluations can be compared on the starts both played
            "episode_records": records}


def to_markdown(rows: list[dict], command: str, overrides: dict | None = None, validation: bool = False) -> str:
    metrics = [m for m in METRICS if any(m in r for r in rows)]
    seeds = "Validation seeds 2,000,000 + i" if validation else "Fixed evaluation seeds 1,000,000 + i"
    lines = [f"# Re-evaluation on {rows[0]['episodes']} episodes per policy", "",
             f"Regenerate: `{command}`", "",
             f"{seeds}, each run's own saved config (temperature, candidates)"
             + "".join(f", except {OVERRIDES[k].format(v)}" for k, v in (overrides or {}).items()) + ".",
             started_from(r["git_commit"] for r in rows),
             "Settings: the run's config fields that differ from its algo's, task's and tier's defaults today.", "",
             "| env | algo | settings | seed | policy | " + " | ".join(metrics) + " | success 95 % CI |",
             "|---|---|---|---|---|" + "---|" * (len(metrics) + 1)]
    for r in rows:
        lo, hi = r["success_ci95"]
        lines.append(f"| {r['env']} | {r['algo']} | {r['settings']} | {r['seed']} | {r['policy']} | "
                     + " | ".join(f"{r[m]:.3f}" if m in r else "–" for m in metrics) + f" | [{lo:.2f}, {hi:.2f}] |")
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:  # runs of one algo with other settings are other groups, not more seeds
        groups[(r["env"], r["algo"], r["settings"], r["policy"])].append(r)
    lines += ["", "Mean ± std over seeds:", "",
              "| env | algo | settings | policy | seeds | " + " | ".join(metrics) + " |",
              "|---|---|---|---|---|" + "---|" * len(metrics)]
    for (env, algo, settings, policy), rs in groups.items():
        cells = [f"{np.mean([r[m] for r in rs]):.3f} ± {np.std([r[m] for r in rs]):.3f}" if m in rs[0] else "–"
                 for m in metrics]
        lines.append(f"| {env} | {algo} | {settings} | {policy} | {len(rs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path, help="finished run directories (results/runs/<env>/<algo>/seed<N>)")
    p.add_argument("--episodes", type=int, default=100, help="evaluation episodes per policy")
    p.add_argument("--policy", default="final_policy.pt", help="which saved policy of each run")
    p.add_argument("--name", required=True, help="the table is written to <results>/<name>.md and .json")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--temperature", type=float, default=None, help="acting temperature instead of each run's own")
    p.add_argument("--candidates", type=int, default=None,
                   help="chunks sampled per decision instead of each run's own N (1: the policy alone, no critic)")
    p.add_argument("--pick-pessimism", type=float, default=None,
                   help="k of the critic's pick (mean - k * spread) instead of each run's own")
    p.add_argument("--validation", action="store_true",
                   help="play the validation seeds (2,000,000 + i) instead of the evaluation seeds")
    args = p.parse_args(argv)
    if args.temperature is not None and not 0 < args.temperature < float("inf"):
        print(f"error: --temperature must be positive and finite, got {args.temperature}", file=sys.stderr)
        return 2
    for name in ("episodes", "candidates"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            print(f"error: --{name} must be at least 1", file=sys.stderr)
            return 2
    if args.pick_pessimism is not None and not 0 <= args.pick_pessimism < float("inf"):
        print(f"error: --pick-pessimism must be >= 0 and finite, got {args.pick_pessimism}", file=sys.stderr)
        return 2
    try:  # every run loaded before anything is evaluated or written
        loaded = [load_run(run, args.policy) for run in args.runs]
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    overrides = {k: getattr(args, k) for k in OVERRIDES if getattr(args, k) is not None}
    rows = []
    for run, run_loaded in zip(args.runs, loaded):
        rows.append(evaluate_run(run, args.policy, run_loaded, args.episodes, overrides, args.validation))
        r = rows[-1]
        print(f"{run}: success {r['success_rate']:.3f} (95 % CI {r['success_ci95'][0]:.2f}-{r['success_ci95'][1]:.2f})"
              f", return {r['return_mean']:.2f}", flush=True)
    args.results.mkdir(parents=True, exist_ok=True)
    command = "python -m softflow_bench.tools.evaluate " + shlex.join(argv)
    (args.results / f"{args.name}.md").write_text(to_markdown(rows, command, overrides, args.validation))
    (args.results / f"{args.name}.json").write_text(json.dumps({"command": command, "rows": rows}, indent=1))
    print(f"wrote {args.results / args.name}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
