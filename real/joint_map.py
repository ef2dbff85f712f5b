"""Simulated joint angles (radians, `hand.JOINT_IDS` order) <-> orca-core joint commands (degrees, by name).

One place for the mapping, built from the two models' own ranges so they cannot drift: the
simulated range of each joint (orca-sim MJCF) maps affinely onto its range of motion on the
hardware (orca-core's `config.yaml` ROMs), end to end. A joint whose positive direction differs
between the two is listed in `flipped` (`flipped` in the hand config, see `real/hand_config.example.yaml`): the map
then sends the sim's lower limit to the hardware's upper one. Commands outside the sim range are
clipped, so nothing this map returns can leave the hardware ROM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from softflow_bench import hand


@dataclass(frozen=True)
class JointMap:
    sim_ranges: np.ndarray           # (17, 2) radians, JOINT_IDS order
    hw_roms: dict[str, tuple[float, float]]  # degrees, by orca-core joint id
    flipped: frozenset[str] = frozenset()

    def __post_init__(self):
        missing = set(hand.JOINT_IDS) - set(self.hw_roms)
        if missing:
            raise ValueError(f"the hand config has no ROM for joints {sorted(missing)}")
        unknown = set(self.flipped) - set(hand.JOINT_IDS)
        if unknown:
            raise ValueError(f"flipped names unknown joints {sorted(unknown)}; joints are {list(hand.JOINT_IDS)}")

    def _fraction(self, q_rad: np.ndarray) -> np.ndarray:
        lo, hi = self.sim_ranges[:, 0], self.sim_ranges[:, 1]
        return np.clip((np.asarray(q_rad, dtype=np.float64) - lo) / (hi - lo), 0.0, 1.0)

    def to_degrees(self, q_rad: np.ndarray) -> dict[str, float]:
        """Sim joint angles (rad, JOINT_IDS order) -> {orca-core joint id: degrees}."""
        out = {}
        for name, f in zip(hand.JOINT_IDS, self._fraction(q_rad)):
            lo, hi = self.hw_roms[name]
            f = 1.0 - f if name in self.flipped else f
            out[name] = float(lo + f * (hi - lo))
        return out

    def to_radians(self, degrees: dict[str, float]) -> np.ndarray:
        """{orca-core joint id: degrees} -> sim joint angles (rad, JOINT_IDS order)."""
        q = np.empty(len(hand.JOINT_IDS))
        for i, name in enumerate(hand.JOINT_IDS):
            lo, hi = self.hw_roms[name]
            f = (float(degrees[name]) - lo) / (hi - lo)
            f = 1.0 - f if name in self.flipped else f
            s_lo, s_hi = self.sim_ranges[i]
            q[i] = s_lo + f * (s_hi - s_lo)
        return q
