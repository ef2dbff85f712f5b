"""Baseline policies on the toy two-mode dataset: a Gaussian averages the modes, flow and
diffusion keep both; the diffusion sampler is seeded and reproducible."""

import numpy as np
import pytest
import torch
from toy_data import fit, mode_stats, two_mode_chunks

from softflow_bench.baselines.diffusion import ChunkDiffusion
from softflow_bench.baselines.gaussian import ChunkGaussian
from softflow_bench.flow import ChunkFlow

DIM = 6


@pytest.fixture(scope="module")
def data():
    return two_mode_chunks(dim=DIM)


@pytest.fixture(scope="module")
def diffusion(data):
    model = ChunkDiffusion(DIM, 1, width=128, train_steps=100, sample_steps=10, prediction="eps")
    fit(model, data, steps=1500)
    return model


def _samples(policy, temperature=1.0, n=4000, seed=0):
    with torch.no_grad():
        return policy.sample(torch.zeros(n, 1), temperature, generator=torch.Generator().manual_seed(seed),
                             with_log_prob=False)[0]


def test_bc_gaussian_averages_the_modes(data):
    gaussian = ChunkGaussian(DIM, 1, width=64)
    fit(gaussian, data, steps=600)
    at_mean = _samples(gaussian, temperature=0.0, n=1)  # the action a Gaussian policy commits to
    assert at_mean.abs().max() < 0.15  # between the modes, where no demonstration ever was
    stats = mode_stats(_samples(gaussian))
    assert stats["near_modes"] < 0.6  # its samples smear across the gap instead of hitting the modes


def test_bc_flow_keeps_both_modes(data):
    flow = ChunkFlow(DIM, 1, blocks=4, width=64, seed=0)
    fit(flow, data, steps=600)
    stats = mode_stats(_samples(flow))
    assert stats["near_modes"] > 0.9 and stats["between"] < 0.05
    assert 0.35 < stats["positive"] < 0.65


def test_bc_diffusion_keeps_both_modes(diffusion):
    stats = mode_stats(_samples(diffusion))
    assert stats["near_modes"] > 0.9 and stats["between"] < 0.05
    assert 0.3 < stats["positive"] < 0.7  # measured 0.62-0.64: 10 DDIM steps tilt the split a little


def test_bc_diffusion_predicting_the_clean_chunk_keeps_both_modes(data):
    """`prediction="x0"` (RunConfig.diffusion_prediction) trains the denoiser on the chunk itself;
    its DDIM samples must still land on both modes, not on their mean."""
    model = ChunkDiffusion(DIM, 1, width=128, train_steps=100, sample_steps=10, prediction="x0")
    fit(model, data, steps=1500)
    stats = mode_stats(_samples(model))
    assert stats["near_modes"] > 0.9 and stats["between"] < 0.05
    assert 0.3 < stats["positive"] < 0.7


def test_diffusion_sampling_is_reproducible_from_a_seed(diffusion):
    a, b, c = _samples(diffusion, n=8, seed=3), _samples(diffusion, n=8, seed=3), _samples(diffusion, n=8, seed=4)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.abs().max() <= 1.0


def test_diffusion_refuses_a_log_prob_and_bad_step_counts():
    with pytest.raises(ValueError, match="sample_steps"):
        ChunkDiffusion(DIM, 1, train_steps=10, sample_steps=20, prediction="x0")
    with pytest.raises(ValueError, match="prediction"):
        ChunkDiffusion(DIM, 1, prediction="v")
    with pytest.raises(NotImplementedError):
        ChunkDiffusion(DIM, 1, prediction="x0").sample(torch.zeros(1, 1), with_log_prob=True)


def _dsrl_over(diffusion, noise_bound=1.5):
    from softflow_bench.baselines.dsrl import NoiseSpacePolicy

    policy = NoiseSpacePolicy(DIM, 1, width=128, train_steps=100, sample_steps=10, mean_bound=noise_bound,
                              prediction=diffusion.prediction)
    policy.diffusion.load_state_dict(diffusion.state_dict())
    return policy


def test_dsrl_starts_as_its_diffusion_policy(diffusion):
    """The noise actor starts at N(0, I): before any RL, dsrl's chunks are the BC diffusion's."""
    policy = _dsrl_over(diffusion)
    for temperature in (1.0, 0.5):
        np.testing.assert_allclose(_samples(policy, temperature, n=64, seed=5),
                                   _samples(diffusion, temperature, n=64, seed=5), atol=1e-6)


def test_dsrl_steers_the_noise_onto_one_mode_and_never_changes_the_diffusion(diffusion):
    """Maximising a critic that prefers ever larger chunks: dsrl moves every sample to the positive
    mode's side, none between the modes, and the bound on its noise keeps it near that mode (an
    unbounded noise actor reached the action bound, 1.0); the diffusion's weights do not move."""
    policy = _dsrl_over(diffusion)
    frozen = {k: v.clone() for k, v in policy.diffusion.state_dict().items()}
    opt = torch.optim.Adam(policy.parameters(), lr=1e-3)  # all parameters, as the learner's actor optimiser
    g = torch.Generator().manual_seed(0)
    before = mode_stats(_samples(policy))
    for _ in range(150):
        chunk, log_pi = policy.sample(torch.zeros(256, 1), 1.0, generator=g)
        loss = -chunk.mean() + 0.01 * log_pi.mean() / DIM  # -Q + alpha * log pi, Q = mean of the chunk
        opt.zero_grad()
        loss.backward()
        opt.step()
    samples = _samples(policy)
    after = mode_stats(samples)
    assert before["positive"] < 0.7 and after["positive"] > 0.95 and after["between"] < 0.05
    assert samples.mean() < 0.9  # measured 0.80 (the mode is at 0.6); 1.0 with the noise unbounded
    assert all(torch.equal(frozen[k], v) for k, v in policy.diffusion.state_dict().items())


@pytest.mark.parametrize("bound", [0.25, 1.5])
def test_dsrl_noise_mean_stays_within_its_bound(diffusion, bound):
    """However far the noise actor's raw output goes, the mean of its noise stays within the bound."""
    policy = _dsrl_over(diffusion, bound)
    with torch.no_grad():
        policy.noise_actor[-1].bias.fill_(100.0)
    mean, _ = policy._mean_log_std(torch.zeros(4, 1))
    assert mean.max() <= bound and mean.min() > 0.99 * bound


def test_dsrl_na_distils_a_noise_critic_and_steers_by_it_alone(diffusion):
    """dsrl_na through the agent's own losses: the critic loss teaches the noise critic Q^W(s, w) the
    chunk critic's value of decode(w); the actor loss, maximising Q^W with no gradient through DDIM,
    moves every sample to the better mode; the diffusion and both critics stay as they were."""
    from softflow_bench.agent import Agent
    from softflow_bench.config import RunConfig

    cfg = RunConfig(algo="dsrl_na", chunk=1, width=128, critics=2, target_subset=2, bc_weight=0.0, alpha=0.01,
                    diffusion_train_steps=100, diffusion_steps=10, diffusion_prediction=diffusion.prediction)
    torch.manual_seed(0)
    agent = Agent(1, DIM, cfg)
    agent.policy.diffusion.load_state_dict(diffusion.state_dict())
    g, n = torch.Generator().manual_seed(0), 256
    zeros = torch.zeros(n, 1)

    critic_opt = torch.optim.Adam(agent.critic.parameters(), lr=1e-3)
    for _ in range(300):  # a chunk critic that prefers larger chunks: Q = 5 * mean of the chunk
        chunks = torch.rand(n, DIM, generator=g) * 2 - 1
        loss = ((agent.q(zeros, chunks) - 5 * chunks.mean(-1)) ** 2).mean()
        critic_opt.zero_grad()
        loss.backward()
        critic_opt.step()
    critic = {k: v.clone() for k, v in agent.critic.state_dict().items()}

    batch = {"obs": zeros, "next_obs": zeros, "actions": torch.rand(n, DIM, generator=g) * 2 - 1,
             "rewards": torch.zeros(n, 1), "steps": torch.ones(n, dtype=torch.long),
             "terminated": torch.ones(n, dtype=torch.bool)}
    noise_opt = torch.optim.Adam(agent.noise_critic.parameters(), lr=1e-3)  # only Q^W learns from this loss
    for _ in range(300):
        loss = agent.critic_loss(batch, g)
        noise_opt.zero_grad()
        loss.backward()
        noise_opt.step()
    with torch.no_grad():
        w = torch.randn(2000, DIM, generator=g)
        q_w = agent.noise_critic(torch.zeros(2000, 1), w).mean(0)
        q_chunk = agent.q(torch.zeros(2000, 1), agent.policy.decode(w, torch.zeros(2000, 1))).mean(0)
    assert torch.corrcoef(torch.stack([q_w, q_chunk]))[0, 1] > 0.9  # Q^W knows which noise makes which chunk
    noise_critic = {k: v.clone() for k, v in agent.noise_critic.state_dict().items()}

    frozen = {k: v.clone() for k, v in agent.policy.diffusion.state_dict().items()}
    actor_opt = torch.optim.Adam(agent.policy.parameters(), lr=1e-3)  # all of it, as the learner's
    before = mode_stats(_samples(agent.policy))
    for _ in range(150):
        loss, *_ = agent.actor_loss(batch, batch, g)
        actor_opt.zero_grad()
        loss.backward()
        actor_opt.step()
    after = mode_stats(_samples(agent.policy))
    assert before["positive"] < 0.7 and after["positive"] > 0.95 and after["between"] < 0.05
    for module, saved in ((agent.policy.diffusion, frozen), (agent.critic, critic), (agent.noise_critic, noise_critic)):
        assert all(torch.equal(saved[k], v) for k, v in module.state_dict().items())


@pytest.mark.parametrize("anchor", [0.0, 10.0])
def test_diffusion_demo_anchor_keeps_the_demonstrated_modes(diffusion, data, anchor):
    """`diffusion`'s actor loss on replay chunks that all sit between the modes, with flat advantages
    (a critic that scores every chunk alike, so every weight is 1): without the anchor the policy
    becomes the replay, between the modes (measured 1.00 there); with demo_denoise_weight 10 its
    denoising on the dataset chunks keeps most samples on the two demonstrated modes (0.85)."""
    from softflow_bench.agent import Agent
    from softflow_bench.config import RunConfig

    cfg = RunConfig(algo="diffusion", chunk=1, width=128, critics=2, target_subset=2, diffusion_train_steps=100,
                    diffusion_steps=10, diffusion_prediction=diffusion.prediction, demo_denoise_weight=anchor)
    torch.manual_seed(0)
    agent = Agent(1, DIM, cfg)
    agent.policy.load_state_dict(diffusion.state_dict())
    for member in agent.critic.members:  # Q = 0 everywhere: flat advantages
        torch.nn.init.zeros_(member[-1].weight)
        torch.nn.init.zeros_(member[-1].bias)
    opt = torch.optim.Adam(agent.policy.parameters(), lr=1e-3)
    g, n = torch.Generator().manual_seed(0), 256
    for _ in range(300):
        replay = {"obs": torch.zeros(n, 1), "actions": 0.05 * torch.randn(n, DIM, generator=g)}
        demos = {"obs": torch.zeros(n, 1), "actions": data[torch.randint(0, len(data), (n,), generator=g)]}
        loss, *_ = agent.actor_loss(replay, demos, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    stats = mode_stats(_samples(agent.policy))
    if anchor == 0:
        assert stats["between"] > 0.9
    else:
        assert stats["near_modes"] > 0.75 and 0.3 < stats["positive"] < 0.7


def _steer_over(flow):
    from softflow_bench.baselines.flow_steer import FlowNoisePolicy

    return FlowNoisePolicy(flow, 1, width=64, mean_bound=1.5)


def test_flow_steer_starts_as_its_flow_and_never_changes_it(data):
    """flow_steer's noise actor starts at N(0, I): before any RL its chunks are its flow's at every
    temperature. Maximising a critic that prefers larger chunks moves its chunks up and leaves the
    flow's weights as they were (all parameters in the optimiser, as the learner's actor optimiser)."""
    flow = ChunkFlow(DIM, 1, blocks=4, width=64, seed=0)
    fit(flow, data, steps=300)
    policy = _steer_over(flow)
    for temperature in (1.0, 0.3):
        np.testing.assert_allclose(_samples(policy, temperature, n=256, seed=5),
                                   _samples(flow, temperature, n=256, seed=5), atol=1e-6)
    frozen = {k: v.clone() for k, v in policy.flow.state_dict().items()}
    opt = torch.optim.Adam(policy.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    before = float(_samples(policy, n=512).mean())
    for _ in range(100):
        chunk, log_pi = policy.sample(torch.zeros(256, 1), 1.0, generator=g)
        loss = -chunk.mean() + 0.01 * log_pi.mean() / DIM
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(_samples(policy, n=512).mean()) > before + 0.2
    assert all(torch.equal(frozen[k], v) for k, v in policy.flow.state_dict().items())


def test_flow_steer_never_spreads_wider_than_its_prior_and_dsrl_may(data, diffusion):
    """A flow maps noise outside its typical set off the data, so flow_steer's noise actor is capped
    at the N(0, I) it starts from; dsrl's (DDIM clamps every step) may spread up to e^2."""
    flow = ChunkFlow(DIM, 1, blocks=2, width=64, seed=0)
    for policy, widest in ((_steer_over(flow), 1.0), (_dsrl_over(diffusion), np.exp(2.0))):
        with torch.no_grad():
            policy.noise_actor[-1].bias[DIM:] = 10.0  # the raw log-spreads, pushed far up
            _, log_std = policy._mean_log_std(torch.zeros(4, 1))
        assert float(log_std.exp().max()) == pytest.approx(widest, rel=1e-3)
