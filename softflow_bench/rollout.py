"""Acting in an environment: one episode of chunks executed open-loop, and an evaluation over fixed
seeds with its per-episode records. The learner, the evaluation tools and the real hand share them."""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch
from tqdm import tqdm

from softflow_bench.agent import Agent
from softflow_bench.chunks import episode_chunks
from softflow_bench.config import RunConfig
from softflow_bench.envs import all_metrics

EVAL_SEED_BASE = 1_000_000  # evaluation episodes use seeds EVAL_SEED_BASE + i, for every run
#: Episodes that choose a setting (an acting temperature, a noise scale) use seeds VALIDATION_SEED_BASE + i,
#: disjoint from the evaluation seeds, so no reported number is measured on the episodes that chose it.
VALIDATION_SEED_BASE = 2_000_000
ONLINE_SEED_BASE = 500_000


def task_metrics(infos: list[dict]) -> dict[str, float]:
    """The tasks' own numbers (envs.TASK_METRICS) from the final `info` of each evaluation episode:
    the mean of each one the episodes' infos carry."""
    return {name: float(np.mean([i[key] for i in infos])) for key, name in all_metrics()
            if infos and key in infos[0]}


@dataclass
class Episode:
    """One episode played by `play_episode`."""

    seed: int
    chunks: dict[str, np.ndarray]
    """Its chunk transitions (softflow_bench.chunks.episode_chunks), for the replay buffer."""
    info: dict
    """The env's final info."""
    ret: float
    actions: np.ndarray
    """(steps, action_dim) in [-1, 1], as executed."""
    chunk: int
    picks: list[dict] = field(default_factory=list)
    """Per decision with more than one candidate: the critic's view of the pick (Agent.act)."""
    frames: list = field(default_factory=list)

    @property
    def steps(self) -> int:
        return len(self.actions)

    def record(self, modes=None) -> dict:
        """The per-episode record an evaluation keeps: seed, outcome, the task's numbers, how smooth
        the chunks join (seam_jump: mean |a_t - a_t-1| where a new chunk starts; step_jump: the same
        inside chunks) and, with a critic's pick, how far the pick's Q stood above the candidates'
        mean and how much the ensemble disagreed on it; with a ModeClassifier (`modes`), the
        demonstrated mode the episode follows."""
        jumps = np.abs(np.diff(self.actions, axis=0)).mean(-1)  # jumps[t - 1]: between steps t - 1 and t
        seam = np.zeros(len(jumps), bool)
        seam[self.chunk - 1:: self.chunk] = True  # steps H, 2H, ... start a chunk
        success = bool(self.info["success"]) if "success" in self.info else None  # None: the task has no signal
        rec = {"seed": self.seed, "success": success, "return": float(self.ret),
               "length": self.steps, **{k: self.info[k] for k, _ in all_metrics() if k in self.info},
               "seam_jump": float(jumps[seam].mean()) if seam.any() else None,
               "step_jump": float(jumps[~seam].mean()) if (~seam).any() else None}
        if self.picks:
            rec.update({k: float(np.mean([p[k] for p in self.picks])) for k in self.picks[0]})
        if modes is not None:
            rec["mode"] = modes(self.actions)
        return rec


def play_episode(env: gym.Env, agent: Agent, cfg: RunConfig, seed: int, temperature: float,
                 gen: torch.Generator, render: bool = False) -> Episode:
    """One episode of `agent` on `env`, chunks executed open-loop (the policy sees no observation
    inside a chunk)."""
    low, high = env.action_space.low, env.action_space.high
    obs, info = env.reset(seed=seed)
    observations, actions, rewards, frames, picks = [obs], [], [], [], []
    total, done, terminated = 0.0, False, False
    while not done:
        chunk = agent.act(obs, temperature, cfg.candidates, gen, picks=picks).reshape(cfg.chunk, -1)
        for a_unit in chunk:
            a = low + (a_unit + 1) * 0.5 * (high - low)
            obs, r, terminated, truncated, info = env.step(a.astype(np.float32))
            observations.append(obs), actions.append(a_unit), rewards.append(r)
            total += r
            if render:
                frames.append(env.render())
            if terminated or truncated:
                done = True
                break
    actions = np.stack(actions)
    chunks = episode_chunks(np.stack(observations), actions, np.array(rewards), bool(terminated), cfg.chunk)
    return Episode(seed, chunks, info, total, actions, cfg.chunk, picks, frames)


def evaluate_policy(env: gym.Env, agent: Agent, cfg: RunConfig, gen: torch.Generator, episodes: int,
                    desc: str = "eval", seed_base: int = EVAL_SEED_BASE, modes=None) -> tuple[dict, list[dict]]:
    """`episodes` episodes on the fixed seeds seed_base + i at cfg.temperature. Returns the aggregates
    (success rate, mean return, the task's metrics, mean seam and step jumps; with a ModeClassifier,
    each mode's share of the episodes and success rate) and one record per episode (Episode.record)."""
    infos, records = [], []
    for i in tqdm(range(episodes), desc=desc, leave=False):
        ep = play_episode(env, agent, cfg, seed_base + i, cfg.temperature, gen)
        infos.append(ep.info)
        records.append(ep.record(modes))
    success = [r["success"] for r in records if r["success"] is not None]
    aggregates = {"success_rate": float(np.mean(success)) if success else None,
                  "return_mean": float(np.mean([r["return"] for r in records])), **task_metrics(infos)}
    for k in ("seam_jump", "step_jump"):
        values = [r[k] for r in records if r[k] is not None]
        if values:
            aggregates[k] = float(np.mean(values))
    if modes is not None:  # does the policy keep every demonstrated mode, and which one succeeds?
        for m in modes.modes:
            mine = [r for r in records if r["mode"] == m]
            aggregates[f"mode_share_{m}"] = len(mine) / len(records)
            aggregates[f"success_{m}"] = float(np.mean([r["success"] for r in mine])) if mine else None
    return aggregates, records
