"""SOFT-FLOW speed: best-of-24 chunk sampling at batch 1, and one full update at batch 256.

Default method sizes (H = 10, 17-dim actions, 6 coupling blocks of width 256, 4 critics), one
CPU thread. The sampling target (<= 5 ms) is checked on the best of many rounds, which noise on
a shared machine can only make slower, never faster.
Figures: bash scripts/test.sh tests/benchmarks -s
"""

import time

import numpy as np
import torch

from bench_agents import OBS_DIM, make_agent, make_update


def test_best_of_24_sampling_latency(benchmark):
    torch.set_num_threads(1)
    agent = make_agent("softflow")
    obs = np.random.default_rng(0).standard_normal(OBS_DIM).astype(np.float32)
    for _ in range(5):
        agent.act(obs, 0.7, 24)
    times = []
    for _ in range(200):
        t = time.perf_counter()
        agent.act(obs, 0.7, 24)
        times.append(time.perf_counter() - t)
    best_ms = 1000 * min(times)
    print(f"\nbest-of-24 sampling, batch 1: best {best_ms:.2f} ms, median {1000 * np.median(times):.2f} ms")
    benchmark.extra_info["best_ms"] = best_ms
    benchmark(agent.act, obs, 0.7, 24)
    assert best_ms <= 5.0


def test_full_update_batch_256(benchmark):
    torch.set_num_threads(1)
    update = make_update(make_agent("softflow"))
    update()
    t = time.perf_counter()
    for _ in range(5):
        update()
    print(f"\nSOFT-FLOW update (batch 256, 4 critics, actor): {1000 * (time.perf_counter() - t) / 5:.1f} ms")
    benchmark.pedantic(update, rounds=3, iterations=1)
