"""The cube expert: inside the 25-75 % success band, and its two gaits are distinct modes."""

import gymnasium as gym
import numpy as np
from expert_modes import mixture_vs_single

import softflow_bench  # noqa: F401
from softflow_bench.demos import rollout_expert

SEEDS = range(1000, 1024)  # fixed, and disjoint from the default dataset's seeds 0..99
CHUNK = 10


def test_expert_success_rate_is_in_the_band_and_chunks_are_multimodal():
    env = gym.make("softflow_bench/CubePronation-v0")
    results = [rollout_expert("cube_pronation", env, seed) for seed in SEEDS]
    rate = np.mean([info["success"] for _, _, info in results])
    assert 0.25 <= rate <= 0.75, rate

    # Chunks of the gait phase (steps 20-30) by mode; a held-out likelihood comparison.
    modes = np.array([mode for _, mode, _ in results])
    assert len(set(modes)) == 2
    chunks = np.stack([buf.actions[20:20 + CHUNK].ravel() for buf, _, _ in results
                       if len(buf.actions) >= 20 + CHUNK])
    modes = np.array([m for (buf, m, _) in results if len(buf.actions) >= 20 + CHUNK])
    mixture, single = mixture_vs_single(chunks, modes, pooled_variance=False)
    # nats per chunk: the two-component mixture explains held-out chunks far better
    assert mixture > single + 20.0, (mixture, single)
