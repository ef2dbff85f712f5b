"""The parts a real setup needs (a hand, an arm for the scissors, object observations, rewards,
resets), each a small interface with a hardware implementation and
a digital-twin one (LeRobot style: connect, observe, act, disconnect).

Joint angles are radians in `softflow_bench.hand.JOINT_IDS` order everywhere in `real/`; only
`real.joint_map` speaks orca-core's degrees.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class StalePose(RuntimeError):
    """The tracker has no pose newer than its staleness timeout."""


class ArmFault(RuntimeError):
    """The arm stopped answering or reported an error (a reflex, a lost connection)."""


class Hand(Protocol):
    def connect(self) -> None: ...
    def read(self) -> np.ndarray:
        """Measured joint angles (rad)."""
    def command(self, q: np.ndarray) -> None:
        """Send joint targets (rad) that already passed the safety filter."""
    def enable_torque(self) -> None: ...
    def disable_torque(self) -> None: ...
    def disconnect(self) -> None: ...


class Arm(Protocol):
    """The arm carrying the hand; poses are 4x4 flange poses in the robot's base frame."""

    def connect(self) -> None: ...
    def pose(self) -> np.ndarray:
        """The measured flange pose; raises ArmFault."""
    def command(self, pose: np.ndarray, wait: bool = False) -> None:
        """Move towards a target that already passed the safety filter (wait: until there)."""
    def stop(self) -> None: ...
    def recover(self) -> None: ...
    def disconnect(self) -> None: ...


class ObjectTracker(Protocol):
    def pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Latest object (position (3,), rotation (3, 3)) in the palm frame; raises StalePose."""


class ScissorsTracker(Protocol):
    def scissors(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Latest scissors pivot position (3,), rotation (3, 3) and blade opening (rad), in the task's
        frame (the simulated scene's world frame); raises StalePose."""
    def cut_point(self) -> np.ndarray:
        """Latest position (3,) of the tape's cut point in the task's frame; raises StalePose."""


class RewardSource(Protocol):
    def step_reward(self, info: dict) -> float:
        """Reward for the step just taken (a human labeller gives 0 until the episode ends)."""
    def episode_label(self, info: dict) -> dict:
        """At the end of an episode: {"success": bool, "reward": float, ...} added to the last step."""


class SceneReset(Protocol):
    def reset(self, episode: int) -> None:
        """Return when the scene is ready for a new episode."""
