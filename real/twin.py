"""The digital twins: the interfaces of `real.interfaces` over one simulated scene (the cube; the
scissors, with franky-sim as the arm).

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
from softflow_bench.real.interfaces import ArmFault


class _SimulatedScene:
    """What both twins share: a simulated task as a hand with torque, its rewards and its resets."""

    def __init__(self, task: str, seed: int, **task_overrides):
        self.env = gym.make(ENV_IDS[task], **task_overrides).unwrapped
        self.seed = seed
        self.torque = True
        self.last_info: dict = {}
        self.last_reward = 0.0
        self.env.reset(seed=seed)

    def connect(self) -> None:
        self.torque = True

    def enable_torque(self) -> None:
        self.torque = True

    def disable_torque(self) -> None:
        self.torque = False

    def disconnect(self) -> None:
        self.env.close()

    def step_reward(self, info: dict) -> float:
        return float(self.last_reward)

    def reset(self, episode: int) -> None:
        self.torque = True
        self.env.reset(seed=self.seed + episode)
        self.last_info, self.last_reward = {}, 0.0


class TwinScene(_SimulatedScene):
    """One simulated cube_pronation shared by the twin's hand, tracker, rewards and resets."""

    def __init__(self, seed: int = 0, **task_overrides):
        super().__init__("cube_pronation", seed, **task_overrides)

    # ---- Hand ------------------------------------------------------------------------------
    def read(self) -> np.ndarray:
        return self.env.joint_positions()

    def command(self, q: np.ndarray) -> None:
        """Hold joint targets q (rad) for one control period, through the task's own step."""
        if not self.torque:  # torque off: commands are ignored; the joints stay where they are
            self.env.data.ctrl[:] = self.read()
            mujoco.mj_step(self.env.model, self.env.data, nstep=self.env.substeps)
            return
        action = hand.normalize(q, self.env.joint_ranges).astype(np.float32)
        _, self.last_reward, _, _, self.last_info = self.env.step(np.clip(action, -1, 1))

    # ---- ObjectTracker ---------------------------------------------------------------------
    def pose(self) -> tuple[np.ndarray, np.ndarray]:
        return self.env.cube_in_palm()

    # ---- RewardSource ----------------------------------------------------------------------
    def episode_label(self, info: dict) -> dict:
        return {"success": bool(self.last_info.get("success", False)), "reward": 0.0,
                "turns": float(self.last_info.get("turns", 0.0))}

    @property
    def dropped(self) -> bool:
        return bool(self.last_info.get("dropped", False))


class ScissorsTwinScene(_SimulatedScene):
    """The scissors scene in MuJoCo as the hand, tracker, labels and resets of a setup whose arm is
    franky-sim (or any `Arm`): every hand command steps the scene with its stand-in arm driven to
    the arm's measured pose, mapped back through the `ArmPoseMap`, so the simulated scissors meet
    the arm that the protocol moved. Physics advances one control period per hand command."""

    def __init__(self, arm, arm_map, seed: int = 0, **task_overrides):
        super().__init__("scissors_tape", seed, **task_overrides)
        self.arm, self.arm_map = arm, arm_map
        self._arm_q = np.zeros(6)

    def _measured_arm_q(self) -> np.ndarray:
        try:
            self._arm_q = self.arm_map.arm_q(self.arm.pose())
        except ArmFault:
            pass  # the arm is gone: the stand-in stays where it was last seen; the env ends the episode
        return self._arm_q

    # ---- Hand ------------------------------------------------------------------------------
    def read(self) -> np.ndarray:
        return self.env.joint_positions()[6:]

    def command(self, q: np.ndarray) -> None:
        hand_q = q if self.torque else self.read()
        target = np.concatenate([self._measured_arm_q(), hand_q])
        action = np.clip(hand.normalize(target, self.env.joint_ranges), -1, 1).astype(np.float32)
        _, self.last_reward, _, _, self.last_info = self.env.step(action)

    # ---- ScissorsTracker -------------------------------------------------------------------
    def scissors(self) -> tuple[np.ndarray, np.ndarray, float]:
        return (*self.env.scissors_pose(), self.env.blade_opening())

    def cut_point(self) -> np.ndarray:
        return self.env.cut_point()

    @property
    def cut(self) -> bool:
        return bool(self.last_info.get("cut", False))

    # ---- RewardSource ----------------------------------------------------------------------
    def episode_label(self, info: dict) -> dict:
        return {"success": self.cut, "reward": 0.0, "grasped": bool(self.last_info.get("grasped", False)),
                "cut": self.cut}
