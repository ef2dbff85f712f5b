"""What both hand tasks share: render-mode checks, an offscreen renderer, action validation."""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np


class MujocoTaskEnv(gym.Env):
    """Gymnasium plumbing over `self.model` / `self.data`; subclasses set CAMERA and the spaces."""

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
