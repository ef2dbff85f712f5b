"""The chunk flow's likelihood is exact. (Its BC keeping both modes of the toy two-mode data, where a
Gaussian averages them, is tested beside the baselines in test_baselines.py.)"""

import math

import pytest
import torch

from softflow_bench.flow import ChunkFlow


def _random_flow(dim=2, cond_dim=3, seed=0, scale=0.3):
    torch.manual_seed(seed)
    flow = ChunkFlow(dim, cond_dim, blocks=4, width=32, seed=seed).double()
    with torch.no_grad():  # leave the zero-init identity so the test sees real couplings
        for p in flow.parameters():
            p.add_(scale * torch.randn_like(p))
    return flow


def _perturbed(flow: ChunkFlow, scale: float = 0.15) -> ChunkFlow:
    """`flow` in double precision, every weight moved off its zero-init identity so tests see real couplings."""
    torch.manual_seed(0)
    flow = flow.double()
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(scale * torch.randn_like(p))
    return flow


def test_log_prob_equals_brute_force_change_of_variables():
    flow = _random_flow(scale=0.15)  # x stays clear of the box edge, where log_prob clips by ATANH_EPS
    cond = torch.randn(3, dtype=torch.float64)
    z = torch.randn(2, dtype=torch.float64)

    def sample_fn(z_):
        u, _ = flow._from_base(z_, cond)
        return torch.tanh(u)

    x = sample_fn(z)
    jac = torch.autograd.functional.jacobian(sample_fn, z)
    base = -0.5 * (z**2).sum() - math.log(2 * math.pi)
    brute = base - torch.linalg.slogdet(jac)[1]
    assert flow.log_prob(x, cond).item() == pytest.approx(brute.item(), abs=1e-8)
    # sample() reports the same density for the point it draws
    g = torch.Generator().manual_seed(1)
    xs, lp = flow.sample(cond.expand(4, 3), generator=g)
    assert torch.allclose(lp, flow.log_prob(xs, cond.expand(4, 3)), atol=1e-6)


def test_density_matches_sample_histogram():
    """exp(log_prob) integrated over grid cells equals the fraction of samples in each cell.

    The grid covers [-0.9, 0.9]^2: tanh piles mass against the box's edges, where a midpoint
    rule cannot integrate, so the check compares like with like inside the box.
    """
    flow = _random_flow(seed=2, scale=0.1)
    cond = torch.randn(1, 3, dtype=torch.float64)
    bins, sub, edge = 6, 50, 0.9
    n = bins * sub
    grid = -edge + (torch.arange(n, dtype=torch.float64) + 0.5) * (2 * edge / n)
    xx, yy = torch.meshgrid(grid, grid, indexing="ij")
    pts = torch.stack([xx.ravel(), yy.ravel()], -1)
    with torch.no_grad():
        dens = flow.log_prob(pts, cond.expand(len(pts), 3)).exp()
        xs, _ = flow.sample(cond.expand(200_000, 3), generator=torch.Generator().manual_seed(0))
    predicted = (dens.reshape(n, n) * (2 * edge / n) ** 2).reshape(bins, sub, bins, sub).sum((1, 3))
    inside = (xs.abs() < edge).all(-1)
    idx = ((xs[inside] + edge) / (2 * edge) * bins).long().clamp(0, bins - 1)
    hist = torch.zeros(bins, bins, dtype=torch.float64)
    hist.index_put_((idx[:, 0], idx[:, 1]), torch.ones(len(idx), dtype=torch.float64), accumulate=True)
    hist /= len(xs)
    assert predicted.sum().item() == pytest.approx(inside.double().mean().item(), abs=0.01)
    assert torch.abs(hist - predicted).max().item() < 0.004


def test_tempered_samples_stay_inside_the_box_and_are_reparameterised():
    flow = _random_flow().float()
    cond = torch.randn(5, 3, requires_grad=True)
    x, lp = flow.sample(cond, temperature=0.7)
    assert x.abs().max() < 1
    (x.sum() + lp.sum()).backward()
    assert cond.grad is not None and torch.isfinite(cond.grad).all()


@pytest.mark.parametrize("seed", range(5))
def test_every_chunk_dimension_depends_on_the_observation(seed):
    # The cube/scissors chunk: 10 steps x 17 joints, 6 blocks. A flow whose random permutations left
    # a dimension out of every coupling's free half sampled it as base noise whatever the
    # observation (seed 1 had 7 such dims); every dim must move when the observation does.
    torch.manual_seed(seed)
    flow = ChunkFlow(170, 8, blocks=6, width=32, seed=seed).double()
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.1 * torch.randn_like(p))
    z = torch.randn(170, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda c: flow._from_base(z, c)[0], torch.randn(8, dtype=torch.float64))
    assert (jac.abs().sum(-1) > 0).all(), f"dims that ignore the observation: {(jac.abs().sum(-1) == 0).nonzero()}"


def test_a_single_coupling_is_refused():
    with pytest.raises(ValueError, match="at least 2 blocks"):
        ChunkFlow(4, 2, blocks=1)


def test_lu_mixing_keeps_log_prob_exact_and_leaves_the_default_flow_as_it_was():
    """With the learned LU-parameterised linear maps the density is still the exact change of
    variables (brute-force Jacobian), and a flow without them holds the same weights as before."""
    flow = _perturbed(ChunkFlow(6, 3, blocks=4, width=16, seed=2, mixing="lu"))
    cond = torch.randn(3, dtype=torch.float64)
    z = torch.randn(6, dtype=torch.float64)

    def sample_fn(z_):
        return torch.tanh(flow._from_base(z_, cond)[0])

    jac = torch.autograd.functional.jacobian(sample_fn, z)
    brute = -0.5 * (z**2).sum() - 3 * math.log(2 * math.pi) - torch.linalg.slogdet(jac)[1]
    assert flow.log_prob(sample_fn(z), cond).item() == pytest.approx(brute.item(), abs=1e-8)
    u = torch.randn(5, 6, dtype=torch.float64)
    back, _ = flow._from_base(flow._to_base(u, cond.expand(5, 3))[0], cond.expand(5, 3))
    assert torch.allclose(back, u, atol=1e-9)  # the inverse inverts
    torch.manual_seed(0)
    plain = ChunkFlow(6, 3, blocks=4, width=16, seed=2)
    torch.manual_seed(0)
    also_plain = ChunkFlow(6, 3, blocks=4, width=16, seed=2, mixing="permutation")
    assert plain.mixers is None and all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(),
                                                                          also_plain.state_dict().values()))


def test_an_observation_encoder_conditions_every_coupling_and_keeps_log_prob_exact():
    """With a shared observation encoder the density over the chunk is still the exact change of
    variables, sampling reports it, the encoder is trained by the imitation loss, and a flow
    without one holds the same weights as before."""
    flow = _perturbed(ChunkFlow(6, 3, blocks=4, width=16, seed=2, encoder_layers=2))
    cond = torch.randn(3, dtype=torch.float64)
    z = torch.randn(6, dtype=torch.float64)

    def sample_fn(z_):
        return torch.tanh(flow._from_base(z_, flow._features(cond))[0])

    jac = torch.autograd.functional.jacobian(sample_fn, z)
    brute = -0.5 * (z**2).sum() - 3 * math.log(2 * math.pi) - torch.linalg.slogdet(jac)[1]
    assert flow.log_prob(sample_fn(z), cond).item() == pytest.approx(brute.item(), abs=1e-8)
    xs, lp = flow.sample(cond.expand(4, 3), generator=torch.Generator().manual_seed(1))
    assert torch.allclose(lp, flow.log_prob(xs, cond.expand(4, 3)), atol=1e-6)
    flow.bc_loss(xs.detach(), cond.expand(4, 3)).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in flow.encoder.parameters())
    torch.manual_seed(0)
    plain = ChunkFlow(6, 3, blocks=4, width=16, seed=2)
    torch.manual_seed(0)
    also_plain = ChunkFlow(6, 3, blocks=4, width=16, seed=2, encoder_layers=0)
    assert plain.encoder is None and all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(),
                                                                           also_plain.state_dict().values()))


def test_a_flow_in_action_space_has_the_exact_density_of_its_unclipped_samples_and_clips_them():
    flow = _perturbed(ChunkFlow(6, 3, blocks=4, width=16, seed=2, space="action"))
    cond = torch.randn(3, dtype=torch.float64)
    z = 0.3 * torch.randn(6, dtype=torch.float64)

    def sample_fn(z_):
        return flow._from_base(z_, cond)[0]  # no squashing

    jac = torch.autograd.functional.jacobian(sample_fn, z)
    brute = -0.5 * (z**2).sum() - 3 * math.log(2 * math.pi) - torch.linalg.slogdet(jac)[1]
    assert flow.log_prob(sample_fn(z), cond).item() == pytest.approx(brute.item(), abs=1e-8)
    wide, _ = flow.sample(cond.expand(500, 3), temperature=3.0, generator=torch.Generator().manual_seed(1))
    assert wide.abs().max() == 1.0  # some drawn outside the box, clipped onto it
    xs, lp = flow.sample(cond.expand(500, 3), temperature=0.3, generator=torch.Generator().manual_seed(1))
    inside = (xs.abs() < 1).all(-1)
    assert inside.sum() >= 5 and torch.allclose(lp[inside], flow.log_prob(xs[inside], cond.expand(500, 3)[inside]))
    with pytest.raises(ValueError, match="space"):
        ChunkFlow(6, 3, space="tanh")
