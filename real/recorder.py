"""Every finished episode on disk, atomically, as it ends: a crash or a disconnect loses at most the
episode in progress.

Each episode is one `episode_<n>.npz` (observations, actions, the safe commands actually sent,
rewards, terminations, truncations, timestamps) and one `episode_<n>.json` (label, safety events,
late cycles, why it ended). `to_minari` turns a directory of them into a Minari dataset.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

STEP_FIELDS = ("actions", "commands", "rewards", "timestamps")


class EpisodeRecorder:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._steps: dict[str, list] | None = None

    def next_index(self) -> int:
        return len(list(self.root.glob("episode_*.json")))

    def begin(self, first_obs: np.ndarray, t: float) -> None:
        self._steps = {"observations": [first_obs], "obs_timestamps": [t], **{k: [] for k in STEP_FIELDS}}

    def step(self, action, command, obs, reward: float, t: float) -> None:
        s = self._steps
        s["actions"].append(action), s["commands"].append(command), s["observations"].append(obs)
        s["rewards"].append(reward), s["timestamps"].append(t), s["obs_timestamps"].append(t)

    @property
    def in_progress(self) -> bool:
        return self._steps is not None

    def end(self, terminated: bool, truncated: bool, meta: dict) -> Path:
        """Write the episode (npz first, then the json that marks it complete)."""
        s, self._steps = self._steps, None
        n = self.next_index()
        T = len(s["actions"])
        arrays = {k: np.asarray(v, dtype=np.float64 if "timestamp" in k else np.float32) for k, v in s.items()}
        arrays["terminations"] = np.zeros(T, bool)
        arrays["truncations"] = np.zeros(T, bool)
        if T:
            arrays["terminations"][-1], arrays["truncations"][-1] = terminated, truncated and not terminated
        path = self.root / f"episode_{n:06d}.npz"
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)
        meta_path = path.with_suffix(".json")
        tmp = meta_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"episode": n, "steps": T, **meta}, indent=1))
        tmp.replace(meta_path)
        return path


def load_episodes(root: Path) -> list[tuple[dict, dict]]:
    """(arrays, meta) of every complete episode, in order."""
    out = []
    for meta_path in sorted(Path(root).glob("episode_*.json")):
        with np.load(meta_path.with_suffix(".npz"), allow_pickle=False) as f:
            out.append(({k: f[k] for k in f.files}, json.loads(meta_path.read_text())))
    return out


def to_minari(root: Path, dataset_id: str, env_id: str):
    """A Minari dataset from recorded episodes (labels and safety events in its metadata)."""
    import gymnasium as gym
    from minari.data_collector import EpisodeBuffer

    from softflow_bench.demos import _minari

    minari = _minari()
    episodes = load_episodes(root)
    buffers = [EpisodeBuffer(id=i, observations=a["observations"], actions=a["actions"], rewards=a["rewards"],
                             terminations=a["terminations"], truncations=a["truncations"])
               for i, (a, _) in enumerate(episodes) if len(a["actions"])]
    dataset = minari.create_dataset_from_buffers(dataset_id=dataset_id, buffer=buffers, env=gym.make(env_id),
                                                 eval_env=env_id,
                                                 algorithm_name="softflow_bench.real", author="softflow-bench",
                                                 author_email="softflow-bench@users.noreply.github.com",
                                                 code_permalink="real/recorder.py",
                                                 description=f"episodes recorded by softflow_bench.real in {root}")
    dataset.storage.update_metadata({"softflow_real_meta": json.dumps([m for _, m in episodes])})
    return dataset
