"""The learnable parts every algorithm shares: a chunk policy, a critic ensemble, the losses.

Shapes: obs (B, obs_dim); chunk (B, H * action_dim) with actions in [-1, 1]. A `chunk` critic
scores a whole chunk, Q(s_t, a_{t:t+H}); a `step` critic scores the chunk's first action only,
Q(s_t, a_t); `dsrl_na` adds a noise critic Q^W(s, w) over a diffusion's starting noise. Which
policy, which critic: `softflow_bench.algos.ALGORITHMS`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from softflow_bench.algos import ALGORITHMS
from softflow_bench.chunk_target import chunk_td_target
from softflow_bench.config import RunConfig
from softflow_bench.flow import mlp
from softflow_bench.policies import make_policy

#: Noised dataset chunks are clipped into +-DEMO_NOISE_CLIP: a demonstrated action at a joint limit
#: then sits at atanh(0.999) = 3.8 in a flow's pre-tanh space, not pushed past the limit.
DEMO_NOISE_CLIP = 1 - 1e-3


class TrainingDiverged(RuntimeError):
    """A loss or the weights became NaN/inf; the run stops with its last good checkpoint kept."""


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
    """An ensemble of LayerNorm MLPs Q(s, a) -> (E, B); a is a chunk or a single action."""

    def __init__(self, obs_dim: int, action_dim: int, width: int, ensemble: int):
        super().__init__()
        self.members = nn.ModuleList(mlp(obs_dim + action_dim, 1, width, depth=3) for _ in range(ensemble))

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        x = torch.cat([obs, actions], -1)
        return torch.stack([m(x).squeeze(-1) for m in self.members])


@dataclass(frozen=True)
class CriticKind:
    """What an algorithm's critic scores of a chunk, and the TD target's inputs it learns from."""

    first_action_only: bool
    """Q(s_t, a_t) of the chunk's first action (a per-step critic), else Q(s_t, a_{t:t+H})."""

    def scored_dim(self, action_dim: int, chunk_dim: int) -> int:
        return action_dim if self.first_action_only else chunk_dim

    def scored(self, chunk: torch.Tensor, action_dim: int) -> torch.Tensor:
        return chunk[..., :action_dim] if self.first_action_only else chunk

    def td_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """(next observation, rewards, steps, terminated) of the TD target: after the whole chunk,
        or, for a per-step critic, after its first action (a one-step target)."""
        if self.first_action_only:
            return batch["next_obs1"], batch["rewards"][:, :1], torch.ones_like(batch["steps"]), batch["terminated1"]
        return batch["next_obs"], batch["rewards"], batch["steps"], batch["terminated"]


#: AlgoSpec.critic -> its kind (imitation-only algorithms, "none", keep an unused chunk critic).
CRITIC_KINDS = {"chunk": CriticKind(False), "step": CriticKind(True), "none": CriticKind(False)}


class Agent(nn.Module):
    """Policy + critic of one algorithm, with the losses of the four stages."""

    def __init__(self, obs_dim: int, action_dim: int, cfg: RunConfig):
        super().__init__()
        self.cfg, self.spec = cfg, ALGORITHMS[cfg.algo]
        self.action_dim, self.chunk_dim = action_dim, cfg.chunk * action_dim
        self.normalizer = ObsNormalizer(obs_dim)
        self.policy = make_policy(self.spec.policy, self.chunk_dim, obs_dim, cfg)
        self.critic_kind = CRITIC_KINDS[self.spec.critic]
        self.critic = ChunkCritic(obs_dim, self.critic_kind.scored_dim(action_dim, self.chunk_dim), cfg.width,
                                  cfg.critics)
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)
        # dsrl_na: Q^W(s, w) over the diffusion's starting noise, regressed onto Q(s, decode(w))
        self.noise_critic = (ChunkCritic(obs_dim, self.chunk_dim, cfg.width, cfg.critics)
                             if self.spec.noise_critic else None)
        # SAC's entropy weight, tuned when cfg.auto_alpha (else fixed at cfg.alpha)
        self.log_alpha = nn.Parameter(torch.tensor(float(np.log(max(cfg.alpha, 1e-8)))), requires_grad=cfg.auto_alpha)
        # Adam keeps its moments on the parameters' device, made at the first step: `.to(device)`
        # after construction moves the parameters these optimisers hold.
        # foreach: one multi-tensor step instead of a Python loop over parameters; the same
        # arithmetic, bit for bit, a few per cent off a BC update on one CPU thread (benchmarks)
        self.actor_opt = torch.optim.Adam(self.policy.parameters(), lr=cfg.lr, foreach=True)
        self.critic_opt = torch.optim.Adam(self.critic_parameters(), lr=cfg.lr, foreach=True)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=cfg.lr, foreach=True)

    def q(self, obs_n: torch.Tensor, chunk: torch.Tensor, target: bool = False) -> torch.Tensor:
        return (self.target_critic if target else self.critic)(obs_n, self.critic_kind.scored(chunk, self.action_dim))

    def critic_parameters(self) -> list[nn.Parameter]:
        """What the critic optimiser trains: the critic ensemble, and the noise critic if there is one."""
        extra = list(self.noise_critic.parameters()) if self.noise_critic is not None else []
        return list(self.critic.parameters()) + extra

    @property
    def alpha(self) -> torch.Tensor:
        return self.log_alpha.exp().detach() if self.cfg.auto_alpha else torch.tensor(self.cfg.alpha)

    # ---- acting ---------------------------------------------------------------------------
    @torch.inference_mode()
    def act(self, obs: np.ndarray, temperature: float, candidates: int, generator=None,
            picks: list | None = None) -> np.ndarray:
        """Best of `candidates` chunks by the critic (pick_score). Returns (H * action_dim,).

        `picks`, when given, gets one entry per decision with candidates > 1: how far the pick's Q
        stands above the candidates' mean (q_gap) and the ensemble's spread on the pick
        (q_disagreement). A large gap with a large spread is a critic that picks where it is unsure.
        """
        device = self.normalizer.mean.device
        s = self.normalizer(torch.as_tensor(obs, dtype=torch.float32, device=device)[None])
        s = s.expand(candidates, -1)
        chunks, _ = self.policy.sample(s, temperature, generator=generator, with_log_prob=False)
        if candidates == 1:
            return chunks[0].cpu().numpy()
        q = self.q(s, chunks)
        q_mean = q.mean(0)
        best = self.pick_score(q).argmax()
        if picks is not None:
            picks.append({"q_gap": float(q_mean[best] - q_mean.mean()),
                          "q_disagreement": float(q[:, best].std(correction=0))})
        return chunks[best].cpu().numpy()

    @staticmethod
    def lower_bound(q: torch.Tensor, k: float) -> torch.Tensor:
        """The ensemble's Q (E, ...) read as its mean less k times the members' spread; k = 0: the mean."""
        return q.mean(0) - k * q.std(0, correction=0) if k > 0 else q.mean(0)

    def pick_score(self, q: torch.Tensor) -> torch.Tensor:
        """What best-of-N maximises, from the ensemble's Q (E, ..., N): its lower bound at pick_pessimism."""
        return self.lower_bound(q, self.cfg.pick_pessimism)

    # ---- losses ---------------------------------------------------------------------------
    def bc_loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        """Stage 1 (and the likelihood term later): the policy's imitation loss on dataset chunks,
        each jittered by N(0, demo_noise^2) when demo_noise > 0 (no draw at all otherwise, so runs
        without it keep their random streams)."""
        chunks = batch["actions"]
        if self.cfg.demo_noise > 0:
            noise = torch.randn(chunks.shape, device=chunks.device, dtype=chunks.dtype, generator=generator)
            chunks = (chunks + self.cfg.demo_noise * noise).clamp(-DEMO_NOISE_CLIP, DEMO_NOISE_CLIP)
        return self.policy.bc_loss(chunks, self.normalizer(batch["obs"]), generator).mean()

    def critic_loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        s = self.normalizer(batch["obs"])
        next_obs, rewards, steps, terminated = self.critic_kind.td_inputs(batch)
        s_next = self.normalizer(next_obs)
        with torch.no_grad():
            q_next = self._next_q(s_next, generator)
            # drawn on the generator's own device (a CUDA generator cannot draw on the CPU)
            where = generator.device if generator is not None else "cpu"
            pick = torch.randperm(self.cfg.critics, generator=generator, device=where)[: self.cfg.target_subset]
            q_next = q_next[pick.to(q_next.device)].min(0).values
            target = chunk_td_target(rewards, steps, terminated, q_next, self.cfg.gamma)
        q = self.q(s, batch["actions"])
        loss = ((q - target[None]) ** 2).mean()
        if self.noise_critic is not None:
            loss = loss + self._noise_critic_loss(s, generator)
        return loss

    def _next_q(self, s_next: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """The target ensemble's Q (E, B) at the policy's next chunk: one drawn at target_temperature,
        or the best of cfg.target_candidates by pick_score, as the policy acts."""
        n = self.cfg.target_candidates
        if n == 1:
            a_next, _ = self.policy.sample(s_next, self.cfg.target_temperature, generator=generator,
                                           with_log_prob=False)
            return self.q(s_next, a_next, target=True)
        b = s_next.shape[0]
        s_rep = s_next.repeat_interleave(n, 0)  # (B * N): N candidates per state, state-major
        a_next, _ = self.policy.sample(s_rep, self.cfg.target_temperature, generator=generator, with_log_prob=False)
        q = self.q(s_rep, a_next, target=True).view(-1, b, n)  # (E, B, N)
        best = self.pick_score(q).argmax(-1)  # (B,)
        return q.gather(2, best.view(1, b, 1).expand(q.shape[0], b, 1)).squeeze(-1)

    def _noise_critic_loss(self, s: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """DSRL's noise aliasing: Q^W(s, w) regressed onto the chunk critic's Q(s, decode(w)), w ~ N(0, I),
        so every noise that DDIM maps to the same chunk gets that chunk's value."""
        w = torch.randn(s.shape[0], self.chunk_dim, device=s.device, dtype=s.dtype, generator=generator)
        with torch.no_grad():
            target = self.q(s, self.policy.decode(w, s)).mean(0)
        return ((self.noise_critic(s, w) - target[None]) ** 2).mean()

    def actor_loss(self, policy_batch: dict[str, torch.Tensor], data_batch: dict[str, torch.Tensor],
                   generator: torch.Generator | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor | None, dict[str, torch.Tensor]]:
        """(actor loss, log pi of the policy's chunks or None, its terms detached for the logs): the
        policy family's own loss (softflow_bench.actor_losses)."""
        return self.policy.actor_loss(self, self.normalizer(policy_batch["obs"]), policy_batch, data_batch, generator)

    # ---- updates --------------------------------------------------------------------------
    @staticmethod
    def _step(opt: torch.optim.Optimizer, loss: torch.Tensor, name: str) -> float:
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingDiverged(f"{name} loss is {value}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return value

    def bc_update(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> dict:
        """One stage-1 step: the policy's imitation loss on a batch of dataset chunks."""
        return {"bc_loss": self._step(self.actor_opt, self.bc_loss(batch, generator), "bc")}

    def update(self, critic_batch: dict[str, torch.Tensor] | None,
               actor_batches: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]] | None,
               generator: torch.Generator | None = None) -> dict:
        """One update of the later stages: the critic on `critic_batch` (then its target), the actor
        (and alpha when tuned) on `actor_batches` = (policy batch, dataset batch); None skips a part.
        Returns the losses and the actor's terms (tensors, turned into numbers only when logged)."""
        logs = {}
        if critic_batch is not None:
            logs["critic_loss"] = self._step(self.critic_opt, self.critic_loss(critic_batch, generator), "critic")
            self.update_target()
        if actor_batches is not None:
            loss, log_pi, terms = self.actor_loss(*actor_batches, generator)
            logs["actor_loss"] = self._step(self.actor_opt, loss, "actor")
            logs.update(terms)
            if self.cfg.auto_alpha:
                self._step(self.alpha_opt, self.alpha_loss(log_pi), "alpha")
                logs["alpha"] = self.alpha.item()
        return logs

    def alpha_loss(self, log_pi: torch.Tensor) -> torch.Tensor:
        """SAC's temperature loss: raise alpha while entropy per dimension is below the target."""
        return -(self.log_alpha * (log_pi + self.cfg.target_entropy)).mean()

    @torch.no_grad()
    def update_target(self) -> None:
        for p, tp in zip(self.critic.parameters(), self.target_critic.parameters()):
            tp.lerp_(p, self.cfg.tau)
