"""Agents, batches and one learner-style update at the default method sizes, for the benchmarks.

They run on the CPU; SOFTFLOW_BENCH_DEVICE=cuda runs them on a GPU instead (the README's GPU figures).
"""

import os

import torch

from softflow_bench.agent import Agent
from softflow_bench.config import RunConfig, resolve

OBS_DIM, ACTION_DIM = 60, 17
DEVICE = torch.device(os.environ.get("SOFTFLOW_BENCH_DEVICE", "cpu"))


def sync() -> None:
    """Wait for the GPU's queued work, so a timer stopped after it measures the work itself."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def make_agent(algo: str) -> Agent:
    torch.manual_seed(0)
    return Agent(OBS_DIM, ACTION_DIM, resolve(RunConfig(algo=algo), {"algo"})).to(DEVICE)


def make_batch(n: int, chunk: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    batch = {
        "obs": torch.randn(n, OBS_DIM, generator=g), "next_obs": torch.randn(n, OBS_DIM, generator=g),
        "next_obs1": torch.randn(n, OBS_DIM, generator=g),
        "actions": torch.rand(n, chunk * ACTION_DIM, generator=g) * 1.8 - 0.9,
        "rewards": torch.randn(n, chunk, generator=g), "steps": torch.full((n,), chunk),
        "terminated": torch.zeros(n, dtype=torch.bool), "terminated1": torch.zeros(n, dtype=torch.bool),
    }
    return {k: v.to(DEVICE) for k, v in batch.items()}


def make_update(agent: Agent):
    """One full learner update (critic, target, actor, alpha when tuned): the agent's own."""
    batch = make_batch(agent.cfg.batch, agent.cfg.chunk)

    def update():
        agent.update(batch, (batch, batch))
        sync()

    return update
