"""DSRL: reinforcement learning in a frozen diffusion policy's noise space (Wagenmaker et al., 2025).

The policy of `dsrl`. Stage 1 trains the diffusion policy of `bc_diffusion` (DDPM on the
demonstrations); after that its weights never change. What RL trains is a small Gaussian "noise
actor" w ~ N(mu(s), sigma(s)^2) over the diffusion's starting noise; the executed chunk is the
deterministic DDIM image of w. The noise actor starts at N(0, I), so before any RL `dsrl` acts
exactly like the BC diffusion policy, and it can only choose among chunks the diffusion policy
produces: steering, not rewriting.

Same interface as the other chunk policies: reparameterised `sample` with a temperature (scaling
the noise actor's spread) and `log_prob`s, here of w under the noise actor, which is what SAC's
entropy term needs; `bc_loss` is the diffusion's DDPM loss (stage 1 only: the algorithm's
likelihood weight is 0, the chunk has no tractable likelihood).

Two ways to get the noise actor's Q (`softflow_bench.algos`): `dsrl` backpropagates the chunk
critic through the DDIM steps, Q(s, decode(w)); `dsrl_na` is the paper's noise aliasing, a
second critic Q^W(s, w) regressed onto Q(s, decode(w)) for w ~ N(0, I) (`Agent.critic_loss`),
which the actor maximises without any gradient through the denoiser.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

from softflow_bench.actor_losses import likelihood_actor_loss, regularised_q_loss
from softflow_bench.baselines.diffusion import ChunkDiffusion
from softflow_bench.flow import gaussian_log_prob, mlp


class NoiseActorPolicy(nn.Module):
    """A Gaussian noise actor over a frozen generative policy's starting noise: what `dsrl` (over a
    diffusion policy) and `flow_steer` (over a flow, baselines.flow_steer) share. A subclass holds
    its frozen policy (its `stage1_module`, trained by stage 1) and says how noise becomes a chunk
    (`decode`)."""

    has_likelihood = True  # of the noise w, for the entropy term; `bc_loss` is not a chunk likelihood
    # A cap on the noise actor's log-spread per dim below the e^2 its tanh squashing allows (None: none).
    max_log_std: float | None = None

    def __init__(self, frozen: nn.Module, frozen_name: str, dim: int, cond_dim: int, width: int, mean_bound: float):
        """`frozen`, made before the noise actor so that its initialisation draws first, is kept as
        attribute `frozen_name`. `mean_bound`: |mu| per dim of the noise actor (RunConfig.noise_bound,
        whose docstring says why)."""
        super().__init__()
        if mean_bound <= 0:
            raise ValueError(f"mean_bound must be > 0, got {mean_bound}")
        self.dim, self.mean_bound, self._frozen_name = dim, mean_bound, frozen_name
        setattr(self, frozen_name, frozen)
        self.noise_actor = mlp(cond_dim, 2 * dim, width, depth=3)
        last = self.noise_actor[-1]
        nn.init.zeros_(last.weight), nn.init.zeros_(last.bias)  # N(0, I) at the start: the BC policy

    @property
    def stage1_module(self) -> nn.Module:
        """What stage 1 trains, weight for weight the BC algorithm's policy (AlgoSpec.bc_source)."""
        return getattr(self, self._frozen_name)

    def decode(self, w: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The chunk the frozen policy makes of noise w."""
        raise NotImplementedError

    def actor_loss(self, agent, s, policy_batch, data_batch, generator=None):
        """SOFT-FLOW's loss over the noise actor; with the agent's noise critic (dsrl_na) its Q is
        that critic's Q of the noise itself, so no gradient runs through the frozen policy."""
        if agent.noise_critic is None:
            return likelihood_actor_loss(self, agent, s, policy_batch, data_batch, generator)
        w, log_pi = self.sample_noise(s, agent.cfg.target_temperature, generator)
        q = agent.lower_bound(agent.noise_critic(s, w), agent.cfg.actor_pessimism)
        return regularised_q_loss(agent, q, log_pi, data_batch, generator)

    def _mean_log_std(self, cond: torch.Tensor):
        raw_mean, raw_log_std = self.noise_actor(cond).chunk(2, -1)
        bound = self.mean_bound
        if self.max_log_std is not None:
            raw_log_std = raw_log_std.clamp(max=self.max_log_std)
        return bound * torch.tanh(raw_mean / bound), 2.0 * torch.tanh(raw_log_std / 2.0)

    def _frozen_forward(self, *args):
        """The frozen policy's forward with its weights detached: gradients reach w, never them."""
        module = self.stage1_module
        params = {k: v.detach() for k, v in module.named_parameters()}
        return functional_call(module, (params, dict(module.named_buffers())), args)

    def sample(self, cond: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None,
               with_log_prob: bool = True):
        """Chunks (the frozen policy's images of reparameterised noise w) and log-probs of w (or None)."""
        w, log_prob = self.sample_noise(cond, temperature, generator)
        return self.decode(w, cond), (log_prob if with_log_prob else None)

    def sample_noise(self, cond: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None):
        """Reparameterised noise w from the noise actor and its log-prob (before any decoding)."""
        mean, log_std = self._mean_log_std(cond)
        z = torch.randn(mean.shape, device=cond.device, dtype=cond.dtype, generator=generator) * temperature
        return mean + torch.exp(log_std) * z, gaussian_log_prob(z) - log_std.sum(-1)

    def bc_loss(self, x: torch.Tensor, cond: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Stage 1: the frozen policy's own imitation loss (the noise actor is not involved)."""
        return self.stage1_module.bc_loss(x, cond, generator)


class NoiseSpacePolicy(NoiseActorPolicy):
    """The `dsrl` policy: a noise actor over a DDPM/DDIM chunk policy (bc_diffusion's)."""

    def __init__(self, dim: int, cond_dim: int, width: int = 256, train_steps: int = 100, sample_steps: int = 10,
                 *, mean_bound: float, prediction: str):
        diffusion = ChunkDiffusion(dim, cond_dim, width, train_steps, sample_steps, prediction=prediction)
        super().__init__(diffusion, "diffusion", dim, cond_dim, width, mean_bound)

    def decode(self, w: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The chunk the frozen diffusion policy's DDIM makes of noise w."""
        return self.diffusion.denoise(w, cond, self._frozen_forward)


def build(chunk_dim: int, obs_dim: int, cfg) -> NoiseSpacePolicy:
    """The `dsrl` policy family (softflow_bench.policies)."""
    return NoiseSpacePolicy(chunk_dim, obs_dim, cfg.policy_width or cfg.width, cfg.diffusion_train_steps,
                            cfg.diffusion_steps, mean_bound=cfg.noise_bound, prediction=cfg.diffusion_prediction)
