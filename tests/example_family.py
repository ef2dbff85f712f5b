"""The worked example of docs/development.md: a new policy family in one module.

A mixture of K fixed-width Gaussians over the chunk (an MDN, as robomimic's GMM policy), with a
likelihood, so every algorithm that trains by likelihood can use it. Registered by a line in
softflow_bench.policies.POLICY_FAMILIES (the test adds that line at run time).
"""

import torch
from torch import nn

from softflow_bench.actor_losses import likelihood_actor_loss
from softflow_bench.flow import mlp

STD = 0.1


class ChunkMixture(nn.Module):
    has_likelihood = True
    actor_loss = likelihood_actor_loss  # SOFT-FLOW's loss: any family with a likelihood can take it

    def __init__(self, dim: int, cond_dim: int, width: int, components: int = 4):
        super().__init__()
        self.dim, self.k = dim, components
        self.net = mlp(cond_dim, components * (dim + 1), width)

    def _parts(self, cond):
        out = self.net(cond)
        return out[:, : self.k], torch.tanh(out[:, self.k:].view(-1, self.k, self.dim))  # logits, means in (-1, 1)

    def log_prob(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        logits, means = self._parts(cond)
        comp = torch.distributions.Normal(means, STD).log_prob(x[:, None]).sum(-1)
        return torch.logsumexp(torch.log_softmax(logits, -1) + comp, -1)

    def sample(self, cond, temperature=1.0, generator=None, with_log_prob=True):
        logits, means = self._parts(cond)
        pick = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator).squeeze(-1)
        mean = means[torch.arange(len(pick)), pick]
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        x = (mean + temperature * STD * noise).clamp(-1, 1)
        return x, (self.log_prob(x, cond) if with_log_prob else None)

    def bc_loss(self, chunks, cond, generator=None):
        return -self.log_prob(chunks, cond) / self.dim


def build(chunk_dim, obs_dim, cfg):
    return ChunkMixture(chunk_dim, obs_dim, cfg.policy_width or cfg.width)
