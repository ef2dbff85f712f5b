"""Does the method still learn? A seeded one-thread SOFT-FLOW run on a small real task must reach a
fixed success within a fixed budget, and a control run without the critic (behaviour cloning of
the same demonstrations) must not, so the check can fail.

The task: two doors. Ten steps move a point by 0.1 * a[0] each; the episode succeeds if it ends
above 0.3. Half the demonstrations push right (and succeed), half push left (and fail), so
imitation alone stays well below 1 while a critic that learned which chunks succeed picks the right
one among the policy's candidates. Breaking the critic's learning signal (its TD target ignoring the
reward) takes SOFT-FLOW to 0.04 and fails the check; zeroing the actor's Q term does not (the
critic's pick of 24 carries it): this checks the critic and the pick, not the actor's improvement.
Both runs together take about 15 s on one core.
"""

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from softflow_bench.algos import ALGORITHMS
from softflow_bench.chunks import ChunkBuffer, episode_chunks
from softflow_bench.config import RunConfig, resolve
from softflow_bench.learner import Learner

STEPS = 10


class TwoDoors(gym.Env):
    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def _obs(self) -> np.ndarray:
        return np.array([self.t / STEPS, self.pos], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.pos = 0, 0.0
        return self._obs(), {}

    def step(self, action):
        self.pos += 0.1 * float(action[0])
        self.t += 1
        done = self.t >= STEPS
        success = bool(done and self.pos > 0.3)
        return self._obs(), float(success), done, False, {"success": success}


def demonstrations(episodes: int = 100) -> ChunkBuffer:
    rng, env, buf = np.random.default_rng(0), TwoDoors(), ChunkBuffer()
    for i in range(episodes):
        side = 1.0 if i % 2 == 0 else -1.0
        obs, _ = env.reset()
        observations, actions, rewards = [obs], [], []
        for _ in range(STEPS):
            a = np.clip([0.6 * side, 0.0] + 0.05 * rng.standard_normal(2), -0.99, 0.99).astype(np.float32)
            obs, r, *_ = env.step(a)
            observations.append(obs), actions.append(a), rewards.append(r)
        buf.add(episode_chunks(np.stack(observations), np.stack(actions), np.array(rewards), True, STEPS))
    return buf


def final_success(algo: str, out: Path) -> float:
    """The run's last evaluation: 50 episodes at the untempered policy, the critic's best of 24
    chunks (imitation-only algorithms: one chunk, their own default)."""
    torch.set_num_threads(1)
    fields = dict(algo=algo, env="cube_pronation", tier="smoke", seed=1, out=str(out), chunk=STEPS, bc_steps=1500,
                  batch=128, critic_warmup_steps=200, offline_steps=200, online_episodes=10, eval_episodes=20,
                  final_eval_episodes=50, eval_every=100, checkpoint_every=10**6, demo_noise=0.0,
                  temperature=1.0, explore_temperature=1.0, target_temperature=1.0)
    if not ALGORITHMS[algo].imitation_only:
        fields["candidates"] = 24
    cfg = resolve(RunConfig(**fields), set(fields))
    out.mkdir(parents=True)
    learner = Learner(cfg, "two_doors", demonstrations(), out, torch.device("cpu"), env=TwoDoors())
    state = learner.run(say=lambda *a: None)
    return state["curve"][-1]["success_rate"]


@pytest.mark.parametrize("algo, low, high", [("softflow", 0.8, 1.0), ("bc_flow", 0.0, 0.6)])
def test_softflow_learns_the_two_doors_task_and_behaviour_cloning_does_not(tmp_path, algo, low, high):
    assert low <= final_success(algo, tmp_path / algo) <= high


def test_a_policy_family_is_one_module_and_one_registration(tmp_path, monkeypatch):
    """docs/development.md's worked example: tests/example_family.py, registered, imitates the two
    doors' demonstrations through the one learner loop: it imitates both doors (0.32 of 50), as
    behaviour cloning should, neither failing to learn nor passing the critic's bar."""
    from softflow_bench import algos, config, policies

    monkeypatch.setitem(policies.POLICY_FAMILIES, "mixture", "example_family")
    monkeypatch.setitem(algos.ALGORITHMS, "bc_mixture",
                        algos.AlgoSpec("mixture", "none", "imitation only: a chunk mixture", dict(candidates=1)))
    monkeypatch.setattr(config, "ALGOS", tuple(algos.ALGORITHMS))
    assert 0.1 <= final_success("bc_mixture", tmp_path / "mixture") <= 0.6
