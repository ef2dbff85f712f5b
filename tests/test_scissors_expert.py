"""The scissors expert: inside the 25-75 % band, both grasps (index / middle finger in ring A)
appear and succeed, and they are distinct modes in the action chunks."""

import gymnasium as gym
import numpy as np
from expert_modes import mixture_vs_single

import softflow_bench  # noqa: F401
from softflow_bench.demos import rollout_expert

SEEDS = range(1000, 1024)  # fixed, and disjoint from the default dataset's seeds 0..99
CHUNK = 10


def test_expert_success_rate_is_in_the_band_and_both_grasps_are_modes():
    env = gym.make("softflow_bench/ScissorsTape-v0")
    results = [rollout_expert("scissors_tape", env, seed) for seed in SEEDS]
    rate = np.mean([info["success"] for _, _, info in results])
    assert 0.25 <= rate <= 0.75, rate
    modes = np.array([mode for _, mode, _ in results])
    for mode in ("index", "middle"):
        assert any(info["success"] for _, m, info in results if m == mode), f"{mode} grasp never cuts"

    # Chunks of the insertion (steps 30-40): the two grasps put the fingers in different places.
    # With 12 training chunks in 230 dimensions the components share the within-mode variance.
    chunks = np.stack([buf.actions[30:30 + CHUNK].ravel() for buf, _, _ in results])
    mixture, single = mixture_vs_single(chunks, modes, pooled_variance=True)
    assert mixture > single + 20.0, (mixture, single)  # nats per chunk


def test_a_cut_episode_grasps_first_and_ends_on_the_cut():
    env = gym.make("softflow_bench/ScissorsTape-v0")
    for seed in SEEDS:
        buf, _, info = rollout_expert("scissors_tape", env, seed)
        if info["success"]:
            break
    assert info["cut"] and buf.terminations[-1] and buf.rewards[-1] == 1.0 and buf.rewards[:-1].sum() == 0
    grasped = np.asarray(buf.infos["grasped"])
    assert grasped.any() and not grasped[0]  # lifted out of the case before the cut
