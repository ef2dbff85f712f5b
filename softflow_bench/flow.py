"""A conditional RealNVP-style coupling flow over one normalised action chunk.

x (a chunk of H actions in (-1, 1), flattened) is modelled as x = tanh(f(z; s)), z ~ N(0, I)
(or, with space="action", as x = f(z; s) clipped into the box when sampled),
where f is a stack of affine couplings, in pairs with complementary masks after a fixed random
permutation, conditioned on observation features s. `log_prob` is exact: base density + sum of
coupling log-scales + tanh Jacobian.
Coupling, not autoregressive: sampling is one pass per block (method.md: an autoregressive flow
samples 100-300x slower at these sizes).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from softflow_bench.actor_losses import likelihood_actor_loss
from softflow_bench.config import FLOW_MIXINGS as MIXINGS
from softflow_bench.config import FLOW_SPACES as SPACES

#: Targets are clipped into (-1 + eps, 1 - eps) before atanh, so demo actions at the joint
#: limits get a finite pre-image.
ATANH_EPS = 1e-4


def tanh_logdet(u: torch.Tensor) -> torch.Tensor:
    """log |d tanh(u)/du| summed over the last dim, = log(1 - tanh(u)^2) in a numerically stable form."""
    return (2 * (math.log(2) - u - nn.functional.softplus(-2 * u))).sum(-1)


def gaussian_log_prob(z: torch.Tensor) -> torch.Tensor:
    """Standard normal log density, summed over the last dim."""
    return -0.5 * (z**2).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)


def hidden_layers(inp: int, width: int, depth: int, layer_norm: bool = True) -> list[nn.Module]:
    """`depth` blocks of Linear, LayerNorm (optional) and SiLU, `width` wide."""
    layers: list[nn.Module] = []
    d = inp
    for _ in range(depth):
        layers += [nn.Linear(d, width)] + ([nn.LayerNorm(width)] if layer_norm else []) + [nn.SiLU()]
        d = width
    return layers


def mlp(inp: int, out: int, width: int, depth: int = 2, layer_norm: bool = True) -> nn.Sequential:
    d = width if depth else inp
    return nn.Sequential(*hidden_layers(inp, width, depth, layer_norm), nn.Linear(d, out))


class AffineCoupling(nn.Module):
    """y_b = x_b * exp(s(x_a, c)) + t(x_a, c) on the free half b; x_a (the kept half) passes through.

    The conditioner reads only the kept half and predicts only the free half's scale and shift;
    s is soft-clamped to +-scale_bound.
    """

    def __init__(self, dim: int, cond_dim: int, width: int, mask: torch.Tensor, scale_bound: float):
        super().__init__()
        self.register_buffer("kept", torch.nonzero(mask).squeeze(-1))
        self.register_buffer("free", torch.nonzero(1 - mask).squeeze(-1))
        self.scale_bound = scale_bound
        self.net = mlp(len(self.kept) + cond_dim, 2 * len(self.free), width)
        nn.init.zeros_(self.net[-1].weight)  # start as the identity
        nn.init.zeros_(self.net[-1].bias)

    def _scale_shift(self, x: torch.Tensor, cond: torch.Tensor):
        s, t = self.net(torch.cat([x[..., self.kept], cond], -1)).chunk(2, -1)
        return self.scale_bound * torch.tanh(s / self.scale_bound), t

    def forward(self, x, cond):
        s, t = self._scale_shift(x, cond)
        y = x.index_copy(-1, self.free, x[..., self.free] * torch.exp(s) + t)
        return y, s.sum(-1)

    def inverse(self, y, cond):
        s, t = self._scale_shift(y, cond)
        x = y.index_copy(-1, self.free, (y[..., self.free] - t) * torch.exp(-s))
        return x, -s.sum(-1)


class LUMixing(nn.Module):
    """A learned invertible linear map y = W x with W = P L U: P a fixed permutation, L unit
    lower-triangular, U upper-triangular with diagonal sign * exp(log_scale). log|det W| =
    sum(log_scale) exactly; the inverse is two triangular solves. Starts at a random orthogonal W (so
    log|det| = 0), as NinA's flows do: it mixes every dimension with every other, where a fixed
    permutation only reorders them."""

    def __init__(self, dim: int, generator: torch.Generator):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=generator))
        p, lower, upper = torch.linalg.lu(q)
        diag = torch.diagonal(upper)
        self.register_buffer("p", p)
        self.register_buffer("sign", torch.sign(diag))
        self.lower = nn.Parameter(torch.tril(lower, -1))
        self.upper = nn.Parameter(torch.triu(upper, 1))
        self.log_scale = nn.Parameter(torch.log(diag.abs()))
        eye = torch.eye(dim)
        self.register_buffer("eye", eye)

    def _factors(self):
        lower = torch.tril(self.lower, -1) + self.eye
        upper = torch.triu(self.upper, 1) + torch.diag(self.sign * torch.exp(self.log_scale))
        return lower, upper

    def forward(self, x: torch.Tensor):
        lower, upper = self._factors()
        return x @ (self.p @ lower @ upper).T, self.log_scale.sum().expand(x.shape[:-1])

    def inverse(self, y: torch.Tensor):
        lower, upper = self._factors()
        rows = (y @ self.p).reshape(-1, y.shape[-1]).T  # P^T y, one column per sample
        x = torch.linalg.solve_triangular(lower, rows, upper=False, unitriangular=True)
        x = torch.linalg.solve_triangular(upper, x, upper=True)
        return x.T.reshape(y.shape), -self.log_scale.sum().expand(y.shape[:-1])


class ChunkFlow(nn.Module):
    """p(chunk | obs features): z ~ N(0, I) -> couplings -> tanh, on dim = H * action_dim.

    The chunk-policy interface every algorithm's policy follows: `sample`, `bc_loss` (per sample)
    and `has_likelihood` (a flow and a Gaussian have `log_prob`; a diffusion policy does not).
    """

    has_likelihood = True
    actor_loss = likelihood_actor_loss

    def __init__(self, dim: int, cond_dim: int, blocks: int = 6, width: int = 256, scale_bound: float = 2.0,
                 seed: int = 0, mixing: str = "permutation", encoder_layers: int = 0, space: str = "atanh"):
        """`mixing`: what precedes each pair of couplings: a fixed random permutation, or "lu", the same
        permutation followed by a learned LU-parameterised invertible linear map (LUMixing).
        `encoder_layers`: hidden layers of an observation encoder whose features (width wide) every
        conditioner reads instead of the observation (0: none).
        `space`: "atanh": the flow models atanh(x) and samples are squashed by tanh (its Jacobian in the
        density); "action": the flow models x itself, as NinA's flows do, and samples are clipped into
        the box, with the density of the unclipped sample."""
        super().__init__()
        if space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, got {space!r}")
        self.dim, self.space = dim, space
        if blocks < 2:
            raise ValueError(f"a coupling flow needs at least 2 blocks (1 leaves half the dims untransformed), "
                             f"got {blocks}")
        if encoder_layers < 0:
            raise ValueError(f"encoder_layers must be >= 0, got {encoder_layers}")
        # the encoder's features end in a LayerNorm and SiLU like every hidden layer, so the
        # conditioners read features on the scale they would read an observation's
        self.encoder = None
        if encoder_layers:
            self.encoder, cond_dim = nn.Sequential(*hidden_layers(cond_dim, width, encoder_layers)), width
        g = torch.Generator().manual_seed(seed)
        layers, perms = [], []
        for i in range(blocks):
            # Couplings come in pairs: a fixed random permutation, then two couplings with
            # complementary masks, so every dimension is transformed once per pair. (A random
            # permutation before *every* coupling leaves each dimension untransformed with
            # probability 2^-blocks: with 6 blocks, ~3 of 170 chunk dims were pure base noise,
            # independent of the observation, and which ones depended on the seed.)
            perms.append(torch.randperm(dim, generator=g) if i % 2 == 0 else torch.arange(dim))
            mask = (torch.arange(dim) % 2 == i % 2).float()
            layers.append(AffineCoupling(dim, cond_dim, width, mask, scale_bound))
        self.couplings = nn.ModuleList(layers)
        self.register_buffer("perms", torch.stack(perms))
        self.register_buffer("inv_perms", torch.argsort(self.perms, dim=-1))
        if mixing not in MIXINGS:
            raise ValueError(f"mixing must be one of {MIXINGS}, got {mixing!r}")
        # drawn after everything else, so a permutation-only flow is the very same with or without the option
        self.mixers = nn.ModuleList(LUMixing(dim, g) if i % 2 == 0 else nn.Identity() for i in range(blocks)) \
            if mixing == "lu" else None

    def _to_base(self, u: torch.Tensor, cond: torch.Tensor):
        """Pre-tanh u -> base z, with log|det dz/du|."""
        logdet = torch.zeros(u.shape[:-1], device=u.device)
        for i in reversed(range(len(self.couplings))):
            u, ld = self.couplings[i].inverse(u, cond)
            logdet = logdet + ld
            if self.mixers is not None and i % 2 == 0:
                u, ld = self.mixers[i].inverse(u)
                logdet = logdet + ld
            u = u[..., self.inv_perms[i]]
        return u, logdet

    def _from_base(self, z: torch.Tensor, cond: torch.Tensor, with_logdet: bool = True):
        """Base z -> pre-tanh u, with log|det du/dz| (None when not asked for)."""
        logdet = torch.zeros(z.shape[:-1], device=z.device) if with_logdet else None
        for i, (coupling, perm) in enumerate(zip(self.couplings, self.perms)):
            z = z[..., perm]
            if self.mixers is not None and i % 2 == 0:
                z, ld = self.mixers[i](z)
                if with_logdet:
                    logdet = logdet + ld
            z, ld = coupling(z, cond)
            if with_logdet:
                logdet = logdet + ld
        return z, logdet

    def _features(self, cond: torch.Tensor) -> torch.Tensor:
        return self.encoder(cond) if self.encoder is not None else cond

    def log_prob(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Exact log density of chunks x in (-1, 1)^dim (x is clipped by ATANH_EPS first)."""
        cond = self._features(cond)
        if self.space == "action":
            z, ld = self._to_base(x, cond)
            return gaussian_log_prob(z) + ld
        x = x.clamp(-1 + ATANH_EPS, 1 - ATANH_EPS)
        u = torch.atanh(x)
        z, ld = self._to_base(u, cond)
        return gaussian_log_prob(z) + ld - tanh_logdet(u)

    def sample(self, cond: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None,
               with_log_prob: bool = True):
        """Reparameterised samples and their log-probs (None if not asked for). cond: (..., cond_dim)."""
        z = torch.randn(*cond.shape[:-1], self.dim, device=cond.device, dtype=cond.dtype, generator=generator)
        z = z * temperature
        u, ld = self._from_base(z, self._features(cond), with_log_prob)
        x = self._squash(u)
        if not with_log_prob:  # acting needs no density: skip its bookkeeping
            return x, None
        # log-prob under the *untempered* model, of the tempered sample (in action space: before clipping)
        return x, gaussian_log_prob(z) - ld - (tanh_logdet(u) if self.space == "atanh" else 0.0)

    def forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The chunk the flow makes of base noise z, without its density: `sample` at temperature 1 is
        this of z ~ N(0, I). What a noise-space actor (baselines.flow_steer) steers."""
        return self._squash(self._from_base(z, self._features(cond), with_logdet=False)[0])

    def _squash(self, u: torch.Tensor) -> torch.Tensor:
        return u.clamp(-1.0, 1.0) if self.space == "action" else torch.tanh(u)

    def bc_loss(self, x: torch.Tensor, cond: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-sample imitation loss: NLL per chunk dimension."""
        return -self.log_prob(x, cond) / self.dim


def build(chunk_dim: int, obs_dim: int, cfg) -> ChunkFlow:
    """The `flow` policy family (softflow_bench.policies)."""
    return ChunkFlow(chunk_dim, obs_dim, cfg.flow_blocks, cfg.policy_width or cfg.width, cfg.scale_bound,
                     seed=cfg.seed, mixing=cfg.flow_mixing, encoder_layers=cfg.flow_encoder, space=cfg.flow_space)
