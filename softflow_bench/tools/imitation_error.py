"""How closely a run's stage-1 (BC) policy reproduces the demonstrations' chunks, offline.

    python -m softflow_bench.tools.imitation_error RUN_DIR [RUN_DIR ...] [--states 1024] [--policy bc_policy.pt]

For each run: on `--states` chunk transitions drawn from the run's offline data (fixed seed 0),
one chunk sampled by the policy alone (no critic) at temperature 0 and at the run's evaluation
temperature, and its mean absolute error against the demonstrated chunk: over the first action
and over whole chunks (those not cut short by the episode's end), and the first action's error at
the 99th percentile of states (each state's error averaged over the action's dimensions). Actions
lie in [-1, 1]; the demonstrations are near-deterministic given the observation, so a policy that
imitates them well has a small error at either temperature.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from softflow_bench.tools import print_run_table


def imitation_row(run: Path, policy: str, states: int) -> dict:
    """One row (see the module docstring); ValueError if `run` cannot be read."""
    import numpy as np
    import torch

    from softflow_bench.offline import offline_chunks
    from softflow_bench.tools.evaluate import agent_of_run, load_run

    cfg, env_id, state, _ = load_run(run, policy)
    data = offline_chunks(cfg, say=lambda *_: None)
    if data is None:
        raise ValueError(f"{run} has no offline data to compare with")
    batch = data.sample(np.random.default_rng(0), states)
    agent, env = agent_of_run(cfg, env_id, state)
    env.close()
    action_dim = env.action_space.shape[0]
    obs = agent.normalizer(torch.as_tensor(batch["obs"], dtype=torch.float32))
    demo = torch.as_tensor(batch["actions"])
    whole = torch.as_tensor(batch["steps"] == cfg.chunk)
    row = {"run": str(run), "algo": cfg.algo, "policy": policy, "temperature": cfg.temperature}
    for name, temperature in (("t0", 0.0), ("eval", cfg.temperature)):
        with torch.no_grad():
            chunk, _ = agent.policy.sample(obs, temperature, generator=torch.Generator().manual_seed(0),
                                           with_log_prob=False)
        error = (chunk - demo).abs()
        per_state = error[:, :action_dim].mean(dim=1)
        row[f"first_action_{name}"] = float(per_state.mean())
        # a mean can hide a few states with far-off actions, which may be all it takes to drop the cube
        row[f"first_action_p99_{name}"] = float(torch.quantile(per_state, 0.99))
        row[f"chunk_{name}"] = float(error[whole].mean())
    return row


def to_markdown(rows: list[dict]) -> str:
    cols = ["run", "algo", "policy", "first action (T = 0)", "whole chunk (T = 0)", "eval T",
            "first action (eval T)", "whole chunk (eval T)", "first action, 99th percentile of states (eval T)"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append(f"| {r['run']} | {r['algo']} | {r['policy']} | {r['first_action_t0']:.3f} | {r['chunk_t0']:.3f} "
                     f"| {r['temperature']:g} | {r['first_action_eval']:.3f} | {r['chunk_eval']:.3f} "
                     f"| {r['first_action_p99_eval']:.3f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path, help="run directories (results/runs/<env>/<algo>/seed<N>)")
    p.add_argument("--states", type=int, default=1024, help="chunk transitions drawn from the offline data")
    p.add_argument("--policy", default="bc_policy.pt", help="which saved policy of each run")
    args = p.parse_args(argv)
    if args.states < 1:
        print("error: --states must be at least 1", file=sys.stderr)
        return 2
    return print_run_table(lambda: [imitation_row(run, args.policy, args.states) for run in args.runs], to_markdown)


if __name__ == "__main__":
    sys.exit(main())
