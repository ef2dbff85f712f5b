"""The Franka arm under the scissors policy: its six arm actions <-> flange pose targets, and the arm
itself through franky (libfranka), on hardware or against franky-sim, which serves the same protocol.

The simulated task's arm is a stand-in: x, y, z slides, then hinges about x, y and z ("yaw",
"pitch", "roll" in `ARM_JOINTS`), all relative to its home. MuJoCo composes a body's joints in
order, each in the frame the previous ones left, so the stand-in's pose relative to home is
translation d and rotation Rx(yaw) Ry(pitch) Rz(roll). `ArmPoseMap` applies that same relative
pose to a calibrated home pose of the real flange (and reads it back), so the simulated task and
the real one share one mapping; its test checks it against MuJoCo's own kinematics.
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from softflow_bench.real.frames import axis_rotation
from softflow_bench.real.interfaces import ArmFault


def stand_in_rotation(angles: np.ndarray) -> np.ndarray:
    """Rotation of the simulated arm relative to home for its (yaw, pitch, roll) joint angles."""
    return axis_rotation(0, angles[0]) @ axis_rotation(1, angles[1]) @ axis_rotation(2, angles[2])


def stand_in_angles(r: np.ndarray) -> np.ndarray:
    """The inverse of `stand_in_rotation` (unique while |pitch| < pi/2; the task's range is +-0.6)."""
    return np.array([np.arctan2(-r[1, 2], r[2, 2]), np.arcsin(np.clip(r[0, 2], -1, 1)), np.arctan2(-r[0, 1], r[0, 0])])


@dataclass(frozen=True)
class ArmPoseMap:
    """Simulated arm joints (x, y, z m; yaw, pitch, roll rad; relative to home) <-> flange poses (4x4,
    robot base frame). `base_from_task` rotates the task's frame (x, y along the table as in the
    simulated scene, z up) into the robot's base frame."""

    home: np.ndarray
    base_from_task: np.ndarray = field(default_factory=lambda: np.eye(3))

    def target(self, q_arm: np.ndarray) -> np.ndarray:
        a = self.base_from_task
        pose = np.eye(4)
        pose[:3, :3] = a @ stand_in_rotation(q_arm[3:]) @ a.T @ self.home[:3, :3]
        pose[:3, 3] = self.home[:3, 3] + a @ np.asarray(q_arm[:3], dtype=np.float64)
        return pose

    def arm_q(self, pose: np.ndarray) -> np.ndarray:
        a = self.base_from_task
        d = a.T @ (pose[:3, 3] - self.home[:3, 3])
        rel = a.T @ pose[:3, :3] @ self.home[:3, :3].T @ a
        return np.concatenate([d, stand_in_angles(rel)])


class FrankyArm:
    """The Franka arm through franky. `host` is the robot's (or franky-sim's) address.

    Pose targets are asynchronous Cartesian motions: a newer one replaces the one in progress, so
    the 20 Hz policy loop never waits on the arm. A state read that does not return within
    `stale_s`, or a state that stops advancing for that long, is an `ArmFault` (libfranka itself
    would wait about a second before giving up on a dead connection), as is any franky error (a
    reflex, a network error): the episode ends and the hand holds. After a read timed out the
    arm counts as lost until `connect()` again.
    """

    def __init__(self, host: str, dynamics_factor: float = 0.05, collision_torques_nm: float = 20.0,
                 collision_forces_n: float = 20.0, realtime: bool = True, stale_s: float = 0.1):
        self.host, self.dynamics_factor, self.realtime, self.stale_s = host, dynamics_factor, realtime, stale_s
        self.collision = ([collision_torques_nm] * 7, [collision_forces_n] * 6)
        self.robot = None
        self._last_time, self._last_seen = None, 0.0
        self._lost: str | None = None
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="franky-state")

    def _call(self, what: str, fn):
        import franky

        try:
            return fn()
        except (franky.Exception, RuntimeError) as exc:  # some libfranka errors arrive as a plain RuntimeError
            raise ArmFault(f"arm at {self.host}: {what} failed: {exc}") from None

    def connect(self) -> None:
        import franky

        config = franky.RealtimeConfig.Enforce if self.realtime else franky.RealtimeConfig.Ignore
        self.robot = self._call("connect", lambda: franky.Robot(self.host, realtime_config=config))
        self.robot.relative_dynamics_factor = self.dynamics_factor
        self._call("set collision thresholds", lambda: self.robot.set_collision_behavior(*self.collision))
        self._last_time, self._lost = None, None

    def _refuse_if_lost(self) -> None:
        if self._lost:
            raise ArmFault(self._lost)

    def _state(self):
        self._refuse_if_lost()
        future = self._reader.submit(self._call, "read state", lambda: self.robot.state)
        try:
            return future.result(timeout=self.stale_s)
        except FutureTimeout:
            self._lost = f"arm at {self.host}: no state within {self.stale_s} s (connection lost?)"
            raise ArmFault(self._lost) from None

    def pose(self) -> np.ndarray:
        """The measured flange pose (4x4). Raises ArmFault if the arm's state has gone stale."""
        state = self._state()
        now, t = time.monotonic(), state.time.to_msec()
        if t != self._last_time:
            self._last_time, self._last_seen = t, now
        elif now - self._last_seen > self.stale_s:
            raise ArmFault(f"arm at {self.host}: no new state for {now - self._last_seen:.2f} s")
        if str(state.current_errors) != "[]":  # franky's Errors is truthy even when empty; it prints as a list
            raise ArmFault(f"arm at {self.host}: {state.current_errors}")
        return np.array(state.O_T_EE.matrix)

    def command(self, pose: np.ndarray, wait: bool = False) -> None:
        """Move the flange towards `pose` (already through the arm's safety filter)."""
        import franky

        self._refuse_if_lost()
        motion = franky.CartesianMotion(franky.Affine(np.asarray(pose, dtype=np.float64)))
        self._call("move", lambda: self.robot.move(motion, asynchronous=not wait))

    def stop(self) -> None:
        """Stop the motion in progress (best effort: the arm may already be gone)."""
        if self._lost or self.robot is None:  # a lost arm's controller has stopped it already
            return
        try:
            self._call("stop", lambda: self.robot.stop())
        except ArmFault:
            pass

    def recover(self) -> None:
        self._refuse_if_lost()
        self._call("recover from errors", lambda: self.robot.recover_from_errors())
        self._last_time = None

    def disconnect(self) -> None:
        self.stop()
        self.robot = None


class FrankySimProcess:
    """franky-sim's headless server in its own process on a loopback address: the arm's twin, which
    the same `FrankyArm` code drives. `address` is where to connect; `stop()` ends the process."""

    def __init__(self, log: Path, timeout_s: float = 60.0):
        self.log = Path(log)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = open(self.log, "w")
        self.proc = subprocess.Popen([sys.executable, "-u", "-c", "from franky_sim import run_server_main as m; m()",
                                      "--simulator", "mujoco"], stdout=self._log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        self.address = None
        while self.address is None:
            text = self.log.read_text()
            if "Connect to the server using '" in text:
                self.address = text.split("Connect to the server using '")[1].split("'")[0]
            elif self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ArmFault(f"franky-sim did not start (its log: {self.log}): {text[-500:]}")
            else:
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_file.close()
