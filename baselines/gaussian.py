"""A diagonal tanh-Gaussian policy over one action chunk (or one action when H = 1).

The policy of `sac`, `sac_chunked` and `bc_gaussian`. Same interface as the flow
(`softflow_bench.flow.ChunkFlow`): reparameterised `sample` with a temperature, exact `log_prob`
with the tanh Jacobian, and a per-sample `bc_loss`. Under multimodal demonstrations a single
Gaussian can only average the modes: that is the failure SOFT-FLOW's flow exists to avoid.
"""

from __future__ import annotations

import torch
from torch import nn

from softflow_bench.actor_losses import likelihood_actor_loss
from softflow_bench.flow import ATANH_EPS, gaussian_log_prob, mlp, tanh_logdet

LOG_STD_RANGE = (-5.0, 2.0)  # std between ~0.007 and ~7.4 in atanh space


class ChunkGaussian(nn.Module):
    has_likelihood = True
    actor_loss = likelihood_actor_loss

    def __init__(self, dim: int, cond_dim: int, width: int = 256):
        super().__init__()
        self.dim = dim
        self.net = mlp(cond_dim, 2 * dim, width, depth=3)

    def _mean_log_std(self, cond: torch.Tensor):
        mean, raw = self.net(cond).chunk(2, -1)
        lo, hi = LOG_STD_RANGE
        return mean, lo + 0.5 * (hi - lo) * (torch.tanh(raw) + 1)  # smooth bound, as in SAC's common form

    def log_prob(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Exact log density of chunks x in (-1, 1)^dim (clipped by ATANH_EPS first)."""
        u = torch.atanh(x.clamp(-1 + ATANH_EPS, 1 - ATANH_EPS))
        mean, log_std = self._mean_log_std(cond)
        z = (u - mean) * torch.exp(-log_std)
        return gaussian_log_prob(z) - log_std.sum(-1) - tanh_logdet(u)

    def sample(self, cond: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None,
               with_log_prob: bool = True):
        """Reparameterised samples and their log-probs under the untempered policy (or None)."""
        mean, log_std = self._mean_log_std(cond)
        z = torch.randn(mean.shape, device=cond.device, dtype=cond.dtype, generator=generator) * temperature
        u = mean + torch.exp(log_std) * z
        x = torch.tanh(u)
        if not with_log_prob:
            return x, None
        return x, gaussian_log_prob(z) - log_std.sum(-1) - tanh_logdet(u)

    def bc_loss(self, x: torch.Tensor, cond: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-sample imitation loss: NLL per chunk dimension."""
        return -self.log_prob(x, cond) / self.dim


def build(chunk_dim: int, obs_dim: int, cfg) -> ChunkGaussian:
    """The `gaussian` policy family (softflow_bench.policies)."""
    return ChunkGaussian(chunk_dim, obs_dim, cfg.policy_width or cfg.width)
