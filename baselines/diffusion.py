"""A diffusion policy over one action chunk: DDPM training, DDIM sampling.

The policy of `diffusion` and `bc_diffusion`. The denoiser is an MLP (LayerNorm, the same width
as the flow and critics) on (noisy chunk, observation features, timestep embedding) predicting the
noise (`prediction="eps"`, DDPM's choice) or the clean chunk itself (`"x0"`). Training is the DDPM
regression loss on that target over `train_steps` levels of a cosine schedule; sampling is
deterministic DDIM over `sample_steps` of them, starting from noise scaled by the temperature,
with the clean-chunk estimate clipped to [-1, 1] at every step. Why both: at the noisiest level
(alpha_bar = 1e-4) a noise prediction gives the clean chunk only divided by sqrt(alpha_bar) = 0.01,
so its error is magnified a hundredfold there, where the observation alone must decide the chunk.

It has no tractable likelihood (`has_likelihood = False`): fine-tuning cannot add an NLL term, so
the `diffusion` algorithm uses best-of-N selection by the critic plus an advantage-weighted
denoising loss on replay data (`softflow_bench.agent.Agent.actor_loss`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from softflow_bench.actor_losses import advantage_weighted_loss
from softflow_bench.config import DIFFUSION_PREDICTIONS as PREDICTIONS
from softflow_bench.flow import mlp

TIME_FEATURES = 32


def cosine_alpha_bars(steps: int, s: float = 0.008) -> torch.Tensor:
    """alpha_bar_t for t = 1..steps (Nichol & Dhariwal's cosine schedule), clipped away from 0."""
    t = torch.arange(steps + 1, dtype=torch.float64) / steps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    return (f[1:] / f[0]).clamp(min=1e-4).float()


class ChunkDiffusion(nn.Module):
    has_likelihood = False
    actor_loss = advantage_weighted_loss

    def __init__(self, dim: int, cond_dim: int, width: int = 256, train_steps: int = 100, sample_steps: int = 10,
                 *, prediction: str):
        """`prediction`: "eps" or "x0", no default here: weights trained with one are wrong under the
        other, so every caller names it (runs: RunConfig.diffusion_prediction)."""
        super().__init__()
        if not 1 <= sample_steps <= train_steps:
            raise ValueError(f"sample_steps must be in [1, train_steps={train_steps}], got {sample_steps}")
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")
        self.dim, self.train_steps, self.sample_steps, self.prediction = dim, train_steps, sample_steps, prediction
        self.register_buffer("alpha_bars", cosine_alpha_bars(train_steps))
        self.register_buffer("freqs", torch.exp(torch.linspace(0, math.log(1000), TIME_FEATURES // 2)))
        self.net = mlp(dim + cond_dim + TIME_FEATURES, dim, width, depth=3)

    def _predict(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The denoiser's output (noise or clean chunk, by `prediction`); t holds integer levels in [0, train_steps)."""
        phase = (t.float() / self.train_steps)[..., None] * self.freqs
        return self.net(torch.cat([x_t, cond, torch.sin(phase), torch.cos(phase)], -1))

    def bc_loss(self, x: torch.Tensor, cond: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-sample DDPM loss: mean squared error of the prediction (noise or chunk) at a random level."""
        t = torch.randint(0, self.train_steps, x.shape[:-1], device=x.device, generator=generator)
        noise = torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=generator)
        ab = self.alpha_bars[t][..., None]
        x_t = ab.sqrt() * x + (1 - ab).sqrt() * noise
        target = noise if self.prediction == "eps" else x
        return ((self._predict(x_t, t, cond) - target) ** 2).mean(-1)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self._predict(x_t, t, cond)  # lets `torch.func.functional_call` run it with frozen weights

    def sample(self, cond: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None,
               with_log_prob: bool = False):
        """DDIM (eta = 0) from N(0, temperature^2 I). Returns (chunks in [-1, 1], None): no log-prob."""
        if with_log_prob:
            raise NotImplementedError("a diffusion policy has no tractable log-probability")
        x = torch.randn(*cond.shape[:-1], self.dim, device=cond.device, dtype=cond.dtype, generator=generator)
        return self.denoise(x * temperature, cond), None

    def denoise(self, x: torch.Tensor, cond: torch.Tensor, predict_fn=None) -> torch.Tensor:
        """Deterministic DDIM from the starting noise x to a chunk in [-1, 1]: a differentiable map
        of x (what `dsrl` steers). `predict_fn` replaces the denoiser (same signature as forward)."""
        predict_fn = predict_fn or self._predict
        levels = torch.linspace(self.train_steps - 1, 0, self.sample_steps, device=cond.device).round().long()
        for i, t in enumerate(levels):
            ab = self.alpha_bars[t]
            out = predict_fn(x, t.expand(cond.shape[:-1]), cond)
            x0 = (out if self.prediction == "x0" else (x - (1 - ab).sqrt() * out) / ab.sqrt()).clamp(-1, 1)
            if i + 1 == len(levels):
                x = x0
            else:
                ab_next = self.alpha_bars[levels[i + 1]]
                eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()  # re-derived after clipping x0
                x = ab_next.sqrt() * x0 + (1 - ab_next).sqrt() * eps
        return x


def build(chunk_dim: int, obs_dim: int, cfg) -> ChunkDiffusion:
    """The `diffusion` policy family (softflow_bench.policies)."""
    return ChunkDiffusion(chunk_dim, obs_dim, cfg.policy_width or cfg.width, cfg.diffusion_train_steps,
                          cfg.diffusion_steps, prediction=cfg.diffusion_prediction)
