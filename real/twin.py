"""The digital twin: the four interfaces of `real.interfaces` over one simulated cube_pronation.

Physics advances only when the twin hand is commanded (one control period per command), so the
twin runs as fast as the computer allows and is deterministic from its seed. The twin's rewards
are the task's own; its resets are the task's resets.
"""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np

from softflow_bench import hand
from softflow_bench.envs import ENV_IDS


class TwinScene:
    """One simulated scene shared by the twin's hand, tracker, rewards and resets."""

    def __init__(self, seed: int = 0, **task_overrides):
        self.env = gym.make(ENV_IDS["cube_pronation"], **task_overrides).unwrapped
        self.seed = seed
        self.torque = True
        self.last_info: dict = {}
        self.last_reward = 0.0
        self.env.reset(seed=seed)

    # ---- Hand ------------------------------------------------------------------------------
    def connect(self) -> None:
        self.torque = True

    def read(self) -> np.ndarray:
        return self.env.data.qpos[self.env._qadr].copy()

    def command(self, q: np.ndarray) -> None:
        """Hold joint targets q (rad) for one control period, through the task's own step."""
        if not self.torque:  # torque off: commands are ignored; the joints stay where they are
            self.env.data.ctrl[:] = self.read()
            mujoco.mj_step(self.env.model, self.env.data, nstep=self.env.substeps)
            return
        action = hand.normalize(q, self.env._ranges).astype(np.float32)
        _, self.last_reward, _, _, self.last_info = self.env.step(np.clip(action, -1, 1))

    def enable_torque(self) -> None:
        self.torque = True

    def disable_torque(self) -> None:
        self.torque = False

    def disconnect(self) -> None:
        self.env.close()

    # ---- ObjectTracker ---------------------------------------------------------------------
    def pose(self) -> tuple[np.ndarray, np.ndarray]:
        return self.env._cube_in_palm()

    # ---- RewardSource ----------------------------------------------------------------------
    def step_reward(self, info: dict) -> float:
        return float(self.last_reward)

    def episode_label(self, info: dict) -> dict:
        return {"success": bool(self.last_info.get("success", False)), "reward": 0.0,
                "turns": float(self.last_info.get("turns", 0.0))}

    # ---- SceneReset ------------------------------------------------------------------------
    def reset(self, episode: int) -> None:
        self.torque = True
        self.env.reset(seed=self.seed + episode)

    @property
    def dropped(self) -> bool:
        return bool(self.last_info.get("dropped", False))
