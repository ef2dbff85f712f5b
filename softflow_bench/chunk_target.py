"""The action-chunked critic's TD target (method.md, "Critic: Q over the whole chunk").

For a chunk started at s_t and executed open-loop for H steps:

    y = sum_{i<k} gamma^i r_{t+i} + [not terminated] * gamma^k * Qbar(s_{t+k}, a' ~ pi)

where k <= H is the number of steps actually executed: the chunk ends early when the episode
terminates (no bootstrap) or is truncated by a time limit (bootstrap from the last state, with
the discount gamma^k it reached).
"""

from __future__ import annotations

import torch


def chunk_td_target(rewards: torch.Tensor, steps: torch.Tensor, terminated: torch.Tensor,
                    next_q: torch.Tensor, gamma: float) -> torch.Tensor:
    """TD targets for a batch of chunks.

    rewards: (B, H) per-step rewards, zero-padded after the chunk's last executed step.
    steps: (B,) number of executed steps k (1..H).
    terminated: (B,) True where the episode terminated within the chunk (no bootstrap).
    next_q: (B,) Qbar(s_{t+k}, a') from the target critic, a' drawn from the policy.
    """
    horizon = rewards.shape[1]
    i = torch.arange(horizon, device=rewards.device)
    executed = (i[None, :] < steps[:, None]).to(rewards.dtype)
    discounted = (rewards * executed * gamma ** i.to(rewards.dtype)).sum(1)
    bootstrap = (~terminated).to(rewards.dtype) * gamma ** steps.to(rewards.dtype) * next_q
    return discounted + bootstrap
