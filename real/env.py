"""`RealHandEnv`: cube_pronation's observation and action spaces over a hand, a tracker, a reward
source and a reset, so a policy trained in simulation runs unchanged. `RealTaskEnv` is the loop it
shares with the scissors (`real/scissors_env.py`).

One step: action in [-1, 1] -> joint targets (the sim task's own mapping) -> SafetyFilter ->
hand.command -> wait for the next 20 Hz tick -> read joints and object pose -> observation (the
sim task's own `observation` function). The episode ends when the cube drops (it moved more than
`drop_distance` from where it started in the palm, or the tracker lost it), when the safety filter
refuses a command (the hand holds its last safe pose), after `max_late_run` late cycles in a row,
or at the time limit. Each finished episode goes to the recorder at once.
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np

from softflow_bench import hand
from softflow_bench.envs.cube_pronation import OBS_DIM, CubeTaskConfig, observation
from softflow_bench.real.interfaces import ArmFault, Hand, ObjectTracker, RewardSource, SceneReset, StalePose
from softflow_bench.real.rate import RateKeeper
from softflow_bench.real.recorder import EpisodeRecorder
from softflow_bench.real.safety import SafetyFilter, UnsafeCommand


class RealTaskEnv(gym.Env):
    """The control loop every real task shares: act through the safety filters, keep the 20 Hz rate,
    observe, end the episode on a fault, label it, record it. A task supplies `_act`, `_observe`,
    `_start`, `_state_end` and `_label_info`."""

    metadata = {"render_modes": []}

    def __init__(self, hand_: Hand, rewards: RewardSource, resetter: SceneReset, ranges: np.ndarray,
                 recorder: EpisodeRecorder, safety: SafetyFilter, control_hz: float, episode_steps: int,
                 realtime: bool, max_late_run: int):
        self.hand, self.rewards, self.resetter = hand_, rewards, resetter
        self.ranges, self.recorder, self.safety = ranges, recorder, safety
        self.episode_steps, self.max_late_run = episode_steps, max_late_run
        self.rate = RateKeeper(control_hz, realtime)
        self.episode = recorder.next_index()
        self.watchdog = None  # a real.safety.Watchdog, armed during episodes

    def _hand_command(self, hand_action: np.ndarray, ended_by: str | None) -> tuple[np.ndarray, str | None]:
        """Send the hand its safe command; once the episode is ending (`ended_by`), its last safe pose."""
        if ended_by is not None:
            self.hand.command(self.safety.last_safe)
            return self.safety.last_safe, ended_by
        try:
            command, events = self.safety.check(hand.denormalize(hand_action, self.ranges), self._steps)
        except UnsafeCommand:
            command, events, ended_by = self.safety.last_safe, self.safety.events[-1:], "unsafe_command"
        self._events += events
        self.hand.command(command)
        return command, ended_by

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.resetter.reset(self.episode)
        self.hand.enable_torque()  # also after a watchdog trip or an emergency stop
        if self.watchdog:
            self.watchdog.arm()
        self._steps, self._events, self._late_before = 0, [], self.rate.late_total
        obs = self._obs = self._start()
        self.rate.start()
        self.recorder.begin(obs, time.time())
        return obs, {}

    def step(self, action):
        action = np.asarray(action, dtype=np.float32)
        if action.shape != self.action_space.shape:
            raise ValueError(f"action must have shape {self.action_space.shape}, got {action.shape}")
        if not self.recorder.in_progress:
            raise RuntimeError("the episode has ended; call reset() first")
        command, ended_by = self._act(action)
        if self.watchdog:
            self.watchdog.feed()
        self.rate.wait()
        self._steps += 1
        if ended_by is None:
            self._prev_action = np.clip(action, -1, 1)
        try:
            obs = self._observe()
            ended_by = ended_by or self._state_end()
        except StalePose:
            obs, ended_by = self._obs, ended_by or "object_lost"  # the last observation seen
        except ArmFault as exc:
            obs, ended_by = self._obs, ended_by or "arm_fault"
            self._events.append({"step": self._steps, "event": "arm_fault", "message": str(exc)})
        if self.rate.late_run >= self.max_late_run:
            ended_by = ended_by or "late_cycles"
        info = {"ended_by": ended_by, "late_cycles": self.rate.late_total - self._late_before,
                "safety_events": len(self._events)}
        reward = self.rewards.step_reward(info)
        terminated = ended_by is not None
        truncated = not terminated and self._steps >= self.episode_steps
        if terminated or truncated:
            label = self.rewards.episode_label(info)
            reward += float(label.get("reward", 0.0))
            info.update(success=bool(label.get("success", False)), **self._label_info(label, ended_by),
                        watchdog_tripped=bool(self.watchdog and self.watchdog.tripped))
        self.recorder.step(action, command, obs, reward, time.time())
        if terminated or truncated:
            if self.watchdog:
                self.watchdog.disarm()
            self.recorder.end(terminated, truncated, {
                "label": label, "ended_by": ended_by or "time_limit",
                "late_cycles": info["late_cycles"], "safety_events": self._events})
            self.episode += 1
        self._obs = obs
        return obs, reward, terminated, truncated, info

    def emergency_stop(self) -> None:
        """Torque off at once; the episode in progress is still written (marked interrupted)."""
        self.hand.disable_torque()
        if self.recorder.in_progress:
            self.recorder.end(True, False, {"label": None, "ended_by": "emergency_stop", "safety_events": self._events})


class RealHandEnv(RealTaskEnv):
    """cube_pronation on a real hand, with an object tracker for the cube."""

    def __init__(self, hand_: Hand, tracker: ObjectTracker, rewards: RewardSource, resetter: SceneReset,
                 ranges: np.ndarray, recorder: EpisodeRecorder, safety: SafetyFilter, realtime: bool = True,
                 task: CubeTaskConfig = CubeTaskConfig(), drop_distance: float = 0.06, max_late_run: int = 5):
        super().__init__(hand_, rewards, resetter, ranges, recorder, safety, task.control_hz, task.episode_steps,
                         realtime, max_late_run)
        self.tracker, self.task, self.drop_distance = tracker, task, drop_distance
        self.action_space = gym.spaces.Box(-1.0, 1.0, (hand.NUM_JOINTS,), np.float32)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32)

    def _start(self) -> np.ndarray:
        q = self.hand.read()
        self.safety.reset(q)
        self._q_prev = q
        self._prev_action = np.clip(hand.normalize(q, self.ranges), -1, 1).astype(np.float32)
        obs = self._observe()
        self._start_pos = self._cube_pos.copy()
        return obs

    def _act(self, action: np.ndarray) -> tuple[np.ndarray, str | None]:
        return self._hand_command(action, None)

    def _observe(self) -> np.ndarray:
        q = self.hand.read()
        dt = 1.0 / self.task.control_hz
        vel = (q - self._q_prev) / dt
        self._q_prev = q
        pos, rot = self.tracker.pose()
        self._cube_pos = pos
        return observation(q, vel, self._prev_action, pos, rot)

    def _state_end(self) -> str | None:
        moved = float(np.linalg.norm(self._cube_pos - self._start_pos))
        return "dropped" if moved > self.drop_distance or getattr(self.hand, "dropped", False) else None

    def _label_info(self, label: dict, ended_by: str | None) -> dict:
        return {"turns": float(label.get("turns", 0.0)), "dropped": ended_by in ("dropped", "object_lost")}
