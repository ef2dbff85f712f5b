"""Policy families: the chunk policies an algorithm can name (`AlgoSpec.policy`), behind one interface.

A family is a module with a `build(chunk_dim, obs_dim, cfg)` that returns its policy, and one line
in `POLICY_FAMILIES`. Shapes: cond (B, obs_dim), the normalised observation; chunks (B, chunk_dim)
with actions in [-1, 1].
"""

from __future__ import annotations

import importlib
from typing import Protocol

import torch
from torch import nn

from softflow_bench.config import RunConfig


class ChunkPolicy(Protocol):
    has_likelihood: bool
    """Whether `sample` gives the log-likelihood of its chunks (a flow, a Gaussian; dsrl's noise)."""

    def actor_loss(self, agent, s: torch.Tensor, policy_batch: dict, data_batch: dict,
                   generator: torch.Generator | None = None) -> tuple:
        """The later stages' actor loss (softflow_bench.actor_losses): SOFT-FLOW's -Q + alpha * log pi
        + lambda * NLL of dataset chunks for a family with a likelihood (`actor_loss =
        likelihood_actor_loss`), advantage-weighted denoising for a diffusion policy."""

    def sample(self, cond: torch.Tensor, temperature: float, generator: torch.Generator | None = None,
               with_log_prob: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Chunks drawn at `temperature` (the scale of the base noise), and their log-probability."""

    def bc_loss(self, chunks: torch.Tensor, cond: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-chunk imitation loss (B,): the negative log-likelihood, or the denoising loss."""


#: family name -> the module whose build() makes it
POLICY_FAMILIES: dict[str, str] = {
    "flow": "softflow_bench.flow",
    "gaussian": "softflow_bench.baselines.gaussian",
    "diffusion": "softflow_bench.baselines.diffusion",
    "dsrl": "softflow_bench.baselines.dsrl",
    "flow_steer": "softflow_bench.baselines.flow_steer",
}


def make_policy(family: str, chunk_dim: int, obs_dim: int, cfg: RunConfig) -> nn.Module:
    if family not in POLICY_FAMILIES:
        raise ValueError(f"unknown policy family {family!r}; known: {sorted(POLICY_FAMILIES)}")
    return importlib.import_module(POLICY_FAMILIES[family]).build(chunk_dim, obs_dim, cfg)
