"""Chunk transitions: what the chunked critic and the chunk policy learn from.

One transition per start step t of an episode: (s_t, a_{t:t+H}, r_{t:t+H}, k, terminated,
s_{t+k}), where k <= H steps were executed before the chunk or the episode ended, plus the
one-step view a per-step critic needs: s_{t+1} and whether the episode terminated there. Actions after
an episode's end are padded with its last action (the policy's BC target stays a full chunk);
rewards after step k are zero and masked by `chunk_td_target`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FIELDS = ("obs", "actions", "rewards", "steps", "terminated", "next_obs", "next_obs1", "terminated1")


def episode_chunks(observations: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
                   terminated: bool, horizon: int, stride: int = 1) -> dict[str, np.ndarray]:
    """All chunk transitions of one episode (observations has T+1 rows, actions T)."""
    T = len(actions)
    starts = np.arange(0, T, stride)
    idx = np.minimum(starts[:, None] + np.arange(horizon)[None, :], T - 1)
    steps = np.minimum(horizon, T - starts)
    valid = np.arange(horizon)[None, :] < steps[:, None]
    return {
        "obs": observations[starts].astype(np.float32),
        "actions": actions[idx].reshape(len(starts), -1).astype(np.float32),
        "rewards": np.where(valid, rewards[idx], 0.0).astype(np.float32),
        "steps": steps.astype(np.int64),
        # only a chunk that reaches the episode's last step sees its termination
        "terminated": (terminated & (starts + steps == T)).astype(bool),
        "next_obs": observations[starts + steps].astype(np.float32),
        "next_obs1": observations[starts + 1].astype(np.float32),
        "terminated1": (terminated & (starts + 1 == T)).astype(bool),
    }


class ChunkBuffer:
    """A growing store of chunk transitions, saved and loaded as a plain .npz (no pickle)."""

    def __init__(self):
        self.data: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return 0 if not self.data else len(self.data["obs"])

    def add(self, chunks: dict[str, np.ndarray]) -> None:
        if not self.data:
            self.data = {k: chunks[k].copy() for k in FIELDS}
        else:
            self.data = {k: np.concatenate([self.data[k], chunks[k]]) for k in FIELDS}

    def sample(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        idx = rng.integers(0, len(self), n)
        return {k: v[idx] for k, v in self.data.items()}

    def save(self, path: Path) -> None:
        tmp = Path(path).with_suffix(".tmp.npz")
        np.savez(tmp, **self.data)
        tmp.replace(path)  # atomic: a kill mid-write never leaves a half file

    @classmethod
    def load(cls, path: Path) -> "ChunkBuffer":
        buf = cls()
        with np.load(path, allow_pickle=False) as f:
            buf.data = {k: f[k] for k in f.files}
        return buf
