"""What both hand tasks share: render-mode checks, an offscreen renderer, action validation, and
the controlled joints' ranges and positions."""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np


class MujocoTaskEnv(gym.Env):
    """Gymnasium plumbing over `self.model` / `self.data`; subclasses set CAMERA, the spaces, and the
    controlled joints in action order: `self._ranges` (n, 2) and `self._qadr` (n,) their qpos addresses."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}
    CAMERA: str = ""

    def __init__(self, render_mode: str | None, render_size: tuple[int, int]):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        self._render_size = render_size
        self._renderer: mujoco.Renderer | None = None

    def _checked_action(self, action) -> np.ndarray:
        """A finite action of the right shape, clipped to [-1, 1]; anything else is refused."""
        action = np.asarray(action, dtype=np.float32)
        if action.shape != self.action_space.shape or not np.isfinite(action).all():
            raise ValueError(f"action must be a finite array of shape {self.action_space.shape}")
        # the ufuncs themselves: np.clip's Python wrapper costs more than the clipping (see the
        # env-overhead benchmark); same result for finite input
        return np.minimum(np.maximum(action, -1.0), 1.0)

    @property
    def joint_ranges(self) -> np.ndarray:
        """(n, 2) the controlled joints' ranges (rad, m) in action order: what actions normalise."""
        return self._ranges

    def joint_positions(self) -> np.ndarray:
        """(n,) the controlled joints' positions, in action order."""
        return self.data.qpos[self._qadr].copy()

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, *self._render_size)
        self._renderer.update_scene(self.data, camera=self.CAMERA)
        return self._renderer.render()

    def close(self):
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
