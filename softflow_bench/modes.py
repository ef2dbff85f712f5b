"""Which demonstrated mode an episode follows, so that success can be reported per mode.

Both experts draw one of two modes per episode (the cube's two finger gaits; the scissors' index
or middle finger in the ring), recorded in the dataset's metadata. An episode is summarised by the
mean of its executed actions (which joints it drives, and how far), and given the mode whose
demonstrated episodes' summaries explain it best: one diagonal Gaussian per mode, the variance
pooled over modes. A policy that keeps both modes shows both here; one that collapsed shows one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ModeClassifier:
    modes: list[str]
    means: np.ndarray
    """(modes, action_dim): the mean over each mode's episodes of their mean action."""
    var: np.ndarray
    """(action_dim,): the within-mode variance, pooled."""

    @classmethod
    def fit(cls, episodes: list[np.ndarray], labels: list[str]) -> ModeClassifier:
        summaries = np.stack([np.asarray(a).mean(0) for a in episodes])
        labels_arr = np.asarray(labels)
        modes = sorted(set(labels))
        means = np.stack([summaries[labels_arr == m].mean(0) for m in modes])
        within = summaries - means[[modes.index(m) for m in labels]]
        return cls(modes, means, within.var(0) + 1e-6)

    def __call__(self, actions: np.ndarray) -> str:
        x = np.asarray(actions).mean(0)
        loglik = -0.5 * (((x - self.means) ** 2) / self.var).sum(-1)
        return self.modes[int(np.argmax(loglik))]


def from_dataset(dataset, episodes: list[int]) -> ModeClassifier | None:
    """Fitted on the given episodes of a Minari dataset made by softflow_bench.demos (None if the
    dataset does not record modes, or records only one)."""
    recorded = dataset.storage.metadata.get("softflow_modes")
    if not recorded:
        return None
    labels = recorded.split(",")
    chosen = [labels[i] for i in episodes]
    if len(set(chosen)) < 2:
        return None
    actions = [ep.actions for ep in dataset.iterate_episodes(episodes)]
    return ModeClassifier.fit(actions, chosen)
