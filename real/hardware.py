"""The physical implementations of `real.interfaces`: the ORCA hand through orca-core, an object
tracker streaming JSON poses over UDP, and a person at the terminal for labels and resets."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Callable

import numpy as np

from softflow_bench.real.frames import quat_matrix
from softflow_bench.real.interfaces import StalePose
from softflow_bench.real.joint_map import JointMap


class OrcaCoreHand:
    """The ORCA hand through its own driver. `driver` is an orca_core hand: `OrcaHand` on hardware,
    `MockOrcaHand` (orca-core's in-memory motor bus) to exercise everything but the servos."""

    def __init__(self, driver, joint_map: JointMap):
        self.driver, self.map = driver, joint_map

    def connect(self) -> None:
        ok, message = self.driver.connect(interactive=False)
        if not ok:
            raise ConnectionError(f"orca-core could not connect to the hand: {message}")
        self.driver.enable_torque()

    def read(self) -> np.ndarray:
        return self.map.to_radians(self.driver.get_joint_position().as_dict())

    def command(self, q: np.ndarray) -> None:
        self.driver.set_joint_positions(self.map.to_degrees(q))

    def enable_torque(self) -> None:
        self.driver.enable_torque()

    def disable_torque(self) -> None:
        self.driver.disable_torque()

    def disconnect(self) -> None:
        self.driver.disconnect()


class UdpPoseTracker:
    """Latest poses from JSON datagrams on a UDP port, metres: {"pos": [x, y, z], "quat": [w, x, y, z]}
    (the cube, in the palm frame), or with a "name": "scissors" (task frame, plus "opening", the
    blade angle in rad) or "tape_cut" (task frame, "pos" only). A reading older than `staleness_s`
    is refused with StalePose; malformed datagrams are counted and ignored."""

    def __init__(self, port: int, staleness_s: float = 0.2, host: str = "127.0.0.1"):
        self.staleness_s = staleness_s
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self._latest: dict[str, tuple[float, dict]] = {}
        self.bad_packets = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    @staticmethod
    def _parse(packet: bytes) -> tuple[str, dict]:
        msg = json.loads(packet)
        name = msg.get("name", "object")
        reading = {"pos": np.asarray(msg["pos"], float)}
        if name != "tape_cut":
            reading["quat"] = np.asarray(msg["quat"], float)
        if name == "scissors":
            reading["opening"] = np.asarray(float(msg["opening"]))
        shapes = {"pos": (3,), "quat": (4,), "opening": ()}
        if any(v.shape != shapes[k] or not np.all(np.isfinite(v)) for k, v in reading.items()):
            raise ValueError
        if "quat" in reading:
            reading["quat"] = reading["quat"] / np.linalg.norm(reading["quat"])
        return name, reading

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                packet, _ = self.sock.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            try:
                name, reading = self._parse(packet)
            except (ValueError, KeyError, TypeError, AttributeError, ZeroDivisionError):
                self.bad_packets += 1
                continue
            self._latest[name] = (time.monotonic(), reading)

    def _fresh(self, name: str) -> dict:
        latest = self._latest.get(name)
        if latest is None or time.monotonic() - latest[0] > self.staleness_s:
            raise StalePose(f"no {name} pose on UDP port {self.port} in the last {self.staleness_s} s")
        return latest[1]

    def pose(self) -> tuple[np.ndarray, np.ndarray]:
        reading = self._fresh("object")
        return reading["pos"].copy(), quat_matrix(reading["quat"])

    def scissors(self) -> tuple[np.ndarray, np.ndarray, float]:
        reading = self._fresh("scissors")
        return reading["pos"].copy(), quat_matrix(reading["quat"]), float(reading["opening"])

    def cut_point(self) -> np.ndarray:
        return self._fresh("tape_cut")["pos"].copy()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


class TerminalOperator:
    """A person at the terminal: confirms resets and labels each episode (reward = turns made)."""

    def __init__(self, ask: Callable[[str], str] = input):
        self.ask = ask

    def reset(self, episode: int) -> None:
        self.ask(f"episode {episode}: put the cube in the grasp, then press Enter ")

    def step_reward(self, info: dict) -> float:
        return 0.0  # sparse: the label at the end carries the reward

    def episode_label(self, info: dict) -> dict:
        while True:
            answer = self.ask("turns made (e.g. 0.5; 0 if dropped at once): ").strip()
            try:
                turns = float(answer)
                break
            except ValueError:
                print(f"not a number: {answer!r}")
        success = self.ask("success? [y/n] ").strip().lower().startswith("y")
        return {"success": success, "reward": turns, "turns": turns}


class ScissorsOperator:
    """A person at the terminal for the scissors: resets the scene and labels each episode; the reward
    is 1 if the tape was cut (the simulated task's sparse reward), given at the episode's end."""

    def __init__(self, ask: Callable[[str], str] = input):
        self.ask = ask

    def reset(self, episode: int) -> None:
        self.ask(f"episode {episode}: put the scissors in their case and a fresh strip of tape up, then press Enter ")

    def step_reward(self, info: dict) -> float:
        return 0.0

    def episode_label(self, info: dict) -> dict:
        grasped = self.ask("scissors grasped and lifted? [y/n] ").strip().lower().startswith("y")
        cut = self.ask("tape cut? [y/n] ").strip().lower().startswith("y")
        return {"success": cut, "reward": float(cut), "grasped": grasped, "cut": cut}
