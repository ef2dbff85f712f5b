"""SOFT-FLOW's learnable parts: the chunk flow policy, the chunked critic ensemble, the losses.

Shapes: obs (B, obs_dim); chunk (B, H * action_dim) with actions in [-1, 1]; the critic scores a
whole chunk, Q(s_t, a_{t:t+H}).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from softflow_bench.chunk_target import chunk_td_target
from softflow_bench.config import RunConfig
from softflow_bench.flow import ChunkFlow, mlp


class ObsNormalizer(nn.Module):
    """Fixed per-dimension standardisation, fitted once on the offline data."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, obs: np.ndarray) -> None:
        self.mean.copy_(torch.as_tensor(obs.mean(0)))
        self.std.copy_(torch.as_tensor(obs.std(0) + 1e-3))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return ((obs - self.mean) / self.std).clamp(-10, 10)


class ChunkCritic(nn.Module):
    """An ensemble of LayerNorm MLPs Q(s, chunk) -> (E, B)."""

    def __init__(self, obs_dim: int, chunk_dim: int, width: int, ensemble: int):
        super().__init__()
        self.members = nn.ModuleList(mlp(obs_dim + chunk_dim, 1, width, depth=3) for _ in range(ensemble))

    def forward(self, obs: torch.Tensor, chunk: torch.Tensor) -> torch.Tensor:
        x = torch.cat([obs, chunk], -1)
        return torch.stack([m(x).squeeze(-1) for m in self.members])


class SoftFlowAgent(nn.Module):
    """Flow policy + chunked critic; losses for the four stages."""

    def __init__(self, obs_dim: int, action_dim: int, cfg: RunConfig):
        super().__init__()
        self.cfg = cfg
        self.chunk_dim = cfg.chunk * action_dim
        self.normalizer = ObsNormalizer(obs_dim)
        self.policy = ChunkFlow(self.chunk_dim, obs_dim, cfg.flow_blocks, cfg.width, cfg.scale_bound, seed=cfg.seed)
        self.critic = ChunkCritic(obs_dim, self.chunk_dim, cfg.width, cfg.critics)
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)

    # ---- acting ---------------------------------------------------------------------------
    @torch.inference_mode()
    def act(self, obs: np.ndarray, temperature: float, candidates: int, generator=None) -> np.ndarray:
        """Best of `candidates` chunks by the critic's ensemble mean. Returns (H * action_dim,)."""
        device = self.normalizer.mean.device
        s = self.normalizer(torch.as_tensor(obs, dtype=torch.float32, device=device)[None])
        s = s.expand(candidates, -1)
        chunks, _ = self.policy.sample(s, temperature, generator=generator, with_log_prob=False)
        best = self.critic(s, chunks).mean(0).argmax() if candidates > 1 else 0
        return chunks[best].cpu().numpy()

    # ---- losses ---------------------------------------------------------------------------
    def bc_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Stage 1 (and the likelihood term later): NLL of dataset chunks, per chunk dimension."""
        s = self.normalizer(batch["obs"])
        return -self.policy.log_prob(batch["actions"], s).mean() / self.chunk_dim

    def critic_loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        s, s_next = self.normalizer(batch["obs"]), self.normalizer(batch["next_obs"])
        with torch.no_grad():
            a_next, _ = self.policy.sample(s_next, 1.0, generator=generator)
            q_next = self.target_critic(s_next, a_next)
            pick = torch.randperm(self.cfg.critics, generator=generator, device="cpu")[: self.cfg.target_subset]
            q_next = q_next[pick.to(q_next.device)].min(0).values
            target = chunk_td_target(batch["rewards"], batch["steps"], batch["terminated"], q_next, self.cfg.gamma)
        q = self.critic(s, batch["actions"])
        return ((q - target[None]) ** 2).mean()

    def actor_loss(self, policy_batch: dict[str, torch.Tensor], data_batch: dict[str, torch.Tensor],
                   generator: torch.Generator | None = None) -> torch.Tensor:
        """-Q(s, reparameterised chunk) + alpha * log pi + lambda * NLL(dataset chunks)."""
        s = self.normalizer(policy_batch["obs"])
        chunk, log_pi = self.policy.sample(s, 1.0, generator=generator)
        q = self.critic(s, chunk).mean(0)
        # Q's scale grows with returns; normalise it so lambda keeps one meaning (TD3+BC).
        q_term = -(q / q.abs().mean().detach().clamp(min=1e-3)).mean()
        return q_term + self.cfg.alpha * log_pi.mean() / self.chunk_dim + self.cfg.bc_weight * self.bc_loss(data_batch)

    @torch.no_grad()
    def update_target(self) -> None:
        for p, tp in zip(self.critic.parameters(), self.target_critic.parameters()):
            tp.lerp_(p, self.cfg.tau)
