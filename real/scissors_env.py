"""`RealScissorsEnv`: scissors_tape's observation and action spaces over the ORCA hand on a Franka arm.

One step: the first six actions (the simulated arm's x, y, z, yaw, pitch, roll, relative to home)
-> the arm's safety filter (workspace box and orientation bounds around home, change per step
limited; NaN/inf refused) -> a flange pose target (`ArmPoseMap`) sent as an asynchronous motion;
the other 17 -> the hand's safety filter -> the hand; then the 20 Hz tick, and the observation in
the simulated task's layout: arm joints read back from the measured flange pose through the same
map, hand joints, their finite-difference velocities, the previous action, the scissors' pose and
blade opening and the tape's cut point from the tracker (task frame), and the cut flag, which
stays 0 (the operator reports the cut at the end). An arm fault (a reflex, a lost connection, a
state that stopped advancing) or an unsafe command ends the episode with the arm stopped and the
hand holding its last safe pose; the episode is recorded either way.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from softflow_bench import hand
from softflow_bench.envs.scissors_tape import ARM_RANGES, OBS_DIM, ScissorsTaskConfig
from softflow_bench.real.arm import ArmPoseMap
from softflow_bench.real.env import RealTaskEnv
from softflow_bench.real.interfaces import Arm, ArmFault, Hand, RewardSource, SceneReset, ScissorsTracker
from softflow_bench.real.recorder import EpisodeRecorder
from softflow_bench.real.safety import SafetyFilter, UnsafeCommand

ARM_DIM = len(ARM_RANGES)
#: An arm within this of home (m and rad, every coordinate) starts an episode where it is.
HOME_TOLERANCE = 0.002


def arm_safety(box: np.ndarray, max_step: np.ndarray) -> SafetyFilter:
    """The arm's filter: `box` (6, 2) bounds on the simulated arm's coordinates around home (m, rad),
    `max_step` (6,) the largest change per step. No margin: the box is the margin."""
    return SafetyFilter(np.asarray(box, dtype=np.float64), margin=0.0, max_step=np.asarray(max_step, dtype=np.float64))


class RealScissorsEnv(RealTaskEnv):
    def __init__(self, hand_: Hand, arm: Arm, arm_map: ArmPoseMap, arm_filter: SafetyFilter,
                 tracker: ScissorsTracker, rewards: RewardSource, resetter: SceneReset, ranges: np.ndarray,
                 recorder: EpisodeRecorder, safety: SafetyFilter, realtime: bool = True,
                 task: ScissorsTaskConfig = ScissorsTaskConfig(), max_late_run: int = 5):
        super().__init__(hand_, rewards, resetter, ranges, recorder, safety, task.control_hz, task.episode_steps,
                         realtime, max_late_run)
        self.arm, self.arm_map, self.arm_filter, self.tracker, self.task = arm, arm_map, arm_filter, tracker, task
        self.action_space = gym.spaces.Box(-1.0, 1.0, (ARM_DIM + hand.NUM_JOINTS,), np.float32)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32)
        self._all_ranges = np.concatenate([ARM_RANGES, ranges])

    def _start(self) -> np.ndarray:
        self.arm.recover()
        q_arm = self.arm_map.arm_q(self.arm.pose())
        if np.abs(q_arm).max() > HOME_TOLERANCE:  # home before the episode (a zero-length motion can fail to plan)
            self.arm.command(self.arm_map.target(np.zeros(ARM_DIM)), wait=True)
            q_arm = self.arm_map.arm_q(self.arm.pose())
        q_hand = self.hand.read()
        self.arm_filter.reset(q_arm)
        self.safety.reset(q_hand)
        self._q_prev = np.concatenate([q_arm, q_hand])
        self._prev_action = np.clip(hand.normalize(self._q_prev, self._all_ranges), -1, 1).astype(np.float32)
        return self._observe()

    def _act(self, action: np.ndarray) -> tuple[np.ndarray, str | None]:
        ended_by = None
        try:
            arm_q, events = self.arm_filter.check(hand.denormalize(action[:ARM_DIM], ARM_RANGES), self._steps)
            self._events += [{**e, "part": "arm"} for e in events]
            self.arm.command(self.arm_map.target(arm_q))
        except UnsafeCommand:
            arm_q, ended_by = self.arm_filter.last_safe, "unsafe_command"
            self._events += [{**self.arm_filter.events[-1], "part": "arm"}]
            self.arm.stop()  # not after a fault: the robot has stopped itself then, and may not answer
        except ArmFault as exc:
            arm_q, ended_by = self.arm_filter.last_safe, "arm_fault"
            self._events.append({"step": self._steps, "event": "arm_fault", "message": str(exc)})
        hand_command, ended_by = self._hand_command(action[ARM_DIM:], ended_by)
        return np.concatenate([arm_q, hand_command]), ended_by

    def _observe(self) -> np.ndarray:
        q = np.concatenate([self.arm_map.arm_q(self.arm.pose()), self.hand.read()])
        vel = (q - self._q_prev) * self.task.control_hz
        self._q_prev = q
        pos, rot, opening = self.tracker.scissors()
        cut_point = self.tracker.cut_point()
        return np.concatenate([q, vel, self._prev_action, pos, rot[:, :2].T.ravel(), [opening],
                               cut_point - pos, [0.0]]).astype(np.float32)

    def _state_end(self) -> str | None:
        return "cut" if getattr(self.tracker, "cut", False) else None  # a twin knows; a person says at the end

    def _label_info(self, label: dict, ended_by: str | None) -> dict:
        return {"grasped": bool(label.get("grasped", False)), "cut": bool(label.get("cut", False))}

    def emergency_stop(self) -> None:
        self.arm.stop()
        super().emergency_stop()
