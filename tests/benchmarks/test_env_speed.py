"""Env overhead: the Gymnasium layer must add at most 20 % over the physics it runs.

Both rates are measured in the same run on the same compiled model and the same held-cube
state, interleaved and best-of-N, so the ratio is robust on a shared machine. Figures go to the
README:  pytest tests/benchmarks -q --benchmark-enable --benchmark-columns=mean,ops
"""

import time

import mujoco
import numpy as np

from softflow_bench import hand
from softflow_bench.envs.cube_pronation import CubePronationEnv

STEPS = 100


def _env_rate(env):
    env.reset(seed=0)
    # hold the controls reset left, so both loops simulate exactly the same trajectory
    hold = hand.normalize(env.data.ctrl.copy(), env._ranges).astype(np.float32)
    t = time.perf_counter()
    for _ in range(STEPS):
        env.step(hold)
    return STEPS / (time.perf_counter() - t)


def _physics_rate(env, substeps):
    env.reset(seed=0)
    m, d = env.model, env.data
    t = time.perf_counter()
    for _ in range(STEPS):
        mujoco.mj_step(m, d, nstep=substeps)
    return STEPS * substeps / (time.perf_counter() - t)


def test_env_overhead_ratio(benchmark):
    env = CubePronationEnv()
    env_rates, phys_rates = [], []
    for _ in range(9):
        env_rates.append(_env_rate(env))
        phys_rates.append(_physics_rate(env, env.substeps))
    ratio = max(env_rates) * env.substeps / max(phys_rates)
    benchmark.extra_info.update(env_steps_per_s=max(env_rates), mj_steps_per_s=max(phys_rates), ratio=ratio)
    print(f"\nenv {max(env_rates):.0f} steps/s x {env.substeps} substeps; raw {max(phys_rates):.0f} mj_step/s; ratio {ratio:.3f}")
    env.reset(seed=0)
    benchmark(env.step, hand.normalize(env.data.ctrl.copy(), env._ranges).astype(np.float32))
    assert ratio >= 0.8
