"""The toy two-mode chunk dataset shared by the policy tests."""

import torch


def two_mode_chunks(n: int = 2048, dim: int = 6, seed: int = 0) -> torch.Tensor:
    """Every chunk is all +0.6 or all -0.6 (plus noise 0.05), 50/50: two modes, mean 0 between them."""
    g = torch.Generator().manual_seed(seed)
    signs = torch.where(torch.rand(n, 1, generator=g) < 0.5, 1.0, -1.0)
    return (0.6 * signs + 0.05 * torch.randn(n, dim, generator=g)).clamp(-0.99, 0.99)


def fit(policy: torch.nn.Module, data: torch.Tensor, steps: int, lr: float = 3e-3) -> None:
    """Stage-1 imitation through the policy's own bc_loss (unconditional: cond is one zero)."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    for _ in range(steps):
        idx = torch.randint(0, len(data), (256,), generator=g)
        loss = policy.bc_loss(data[idx], torch.zeros(256, 1), g).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def mode_stats(samples: torch.Tensor) -> dict[str, float]:
    """Where sampled chunks fall: near a mode, between the modes, on the positive mode."""
    m = samples.mean(-1)
    return {"near_modes": (((m - 0.6).abs() < 0.2) | ((m + 0.6).abs() < 0.2)).float().mean().item(),
            "between": (m.abs() < 0.3).float().mean().item(),
            "positive": (m > 0).float().mean().item()}
