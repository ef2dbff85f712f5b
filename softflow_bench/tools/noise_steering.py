"""Where a noise-space agent (`dsrl`, `dsrl_na`, `flow_steer`) has steered its frozen policy's noise.

    python -m softflow_bench.tools.noise_steering RUN_DIR [RUN_DIR ...] [--states 512]

For each saved policy of each run (end of BC, offline point, final), on `--states` observations
drawn from the run's offline data (fixed seed 0), prints one table row:
- at bound: the fraction of the noise actor's mean dimensions within 5 % of `noise_bound`;
- std: the noise actor's mean spread (N(0, I), the BC policy's own noise, has 1);
- Q chunk: the chunk critic's mean Q of the chunks decoded from N(0, I) noise and from the
  actor's noise; `dsrl_na` also has Q noise, its noise critic's value of the same two noises.
A critic that rates the actor's chunks above the prior's while the evaluations drop every cube
is being exploited off its data.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from softflow_bench.tools import print_run_table

POLICIES = ("bc_policy.pt", "offline_policy.pt", "final_policy.pt")


def steering_rows(run: Path, states: int) -> list[dict]:
    """One row per saved policy of `run` (see the module docstring); ValueError if `run` is not a
    finished noise-space run."""
    import numpy as np
    import torch

    from softflow_bench.algos import ALGORITHMS
    from softflow_bench.offline import offline_chunks
    from softflow_bench.tools.evaluate import agent_of_run, load_run

    loaded = [load_run(run, policy) for policy in POLICIES]  # raises for a missing file
    cfg, env_id = loaded[0][0], loaded[0][1]
    if not ALGORITHMS[cfg.algo].noise_actor:
        raise ValueError(f"{run} is a {cfg.algo} run, not a noise-space one (dsrl, dsrl_na, flow_steer)")
    data = offline_chunks(cfg, say=lambda *_: None)
    if data is None:
        raise ValueError(f"{run} has no offline data to draw states from")
    obs = torch.as_tensor(data.sample(np.random.default_rng(0), states)["obs"], dtype=torch.float32)
    agent, env = agent_of_run(cfg, env_id, loaded[0][2])
    env.close()
    rows = []
    for policy, (_, _, state, _) in zip(POLICIES, loaded):
        agent.load_state_dict(state)
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            s = agent.normalizer(obs)
            mean, log_std = agent.policy._mean_log_std(s)
            prior = torch.randn(mean.shape, generator=gen)
            steered = agent.policy.sample_noise(s, 1.0, gen)[0]
            row = {"run": str(run), "policy": policy,
                   "at_bound": float((mean.abs() > 0.95 * cfg.noise_bound).float().mean()),
                   "std": float(log_std.exp().mean())}
            for name, w in (("prior", prior), ("actor", steered)):
                row[f"q_chunk_{name}"] = float(agent.q(s, agent.policy.decode(w, s)).mean())
                if agent.noise_critic is not None:
                    row[f"q_noise_{name}"] = float(agent.noise_critic(s, w).mean())
        rows.append(row)
    return rows



def to_markdown(rows: list[dict]) -> str:
    """The rows as one markdown table (the noise-critic column only where the runs have one)."""
    noise = all("q_noise_prior" in r for r in rows)
    cols = ["run", "policy", "at bound", "std", "Q chunk: prior → actor"]
    cols += ["Q noise: prior → actor"] if noise else []
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [r["run"], r["policy"], f"{r['at_bound']:.2f}", f"{r['std']:.2f}",
                 f"{r['q_chunk_prior']:.3f} → {r['q_chunk_actor']:.3f}"]
        if noise:
            cells.append(f"{r['q_noise_prior']:.3f} → {r['q_noise_actor']:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path, help="finished dsrl / dsrl_na run directories")
    p.add_argument("--states", type=int, default=512, help="observations drawn from the offline data")
    args = p.parse_args(argv)
    if args.states < 1:
        print("error: --states must be at least 1", file=sys.stderr)
        return 2
    return print_run_table(lambda: [row for run in args.runs for row in steering_rows(run, args.states)], to_markdown)


if __name__ == "__main__":
    sys.exit(main())
