"""Scripted expert for cube_pronation: a keyframe finger gait, closed-loop on the cube pose.

A gait is K joint-target keyframes (offsets from the start grasp) cycled with linear
interpolation. The parameters come from `softflow_bench.tools.tune_cube_gait` (cross-entropy
search in the real env) and live in assets/cube_gaits.json. Two gaits move different fingers:
`thumb_index` and `thumb_fingers`; each episode draws one, which makes the demonstrations
multimodal. Feedback: when the cube drifts from where the grasp holds it, the gait pauses and the
hand returns to the start grasp until the cube settles, then resumes; once the cube has turned
`secure_turns`, the expert stops gaiting and holds (it secures the goal rather than risking a
drop, which leaves the rest of the episode's rotation for fine-tuning to find).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np

from softflow_bench import hand

#: Joints each gait may move, as offsets from the start grasp.
GAIT_JOINTS: dict[str, tuple[str, ...]] = {
    "thumb_index": ("wrist", "thumb_mcp", "thumb_abd", "thumb_pip", "thumb_dip",
                    "index_abd", "index_mcp", "index_pip"),
    "thumb_fingers": ("wrist", "thumb_mcp", "thumb_abd", "thumb_pip", "thumb_dip",
                      "middle_abd", "middle_mcp", "middle_pip", "ring_abd", "ring_mcp", "ring_pip",
                      "pinky_mcp", "pinky_pip"),
}
NUM_KEYFRAMES = 4


@dataclass
class Gait:
    """K keyframes of joint offsets (rad) for `joints`, cycled every `period` seconds."""

    name: str
    offsets: np.ndarray  # (NUM_KEYFRAMES, len(joints))
    period: float

    @property
    def joints(self) -> tuple[str, ...]:
        return GAIT_JOINTS[self.name]

    @classmethod
    def from_vector(cls, name: str, theta: np.ndarray) -> "Gait":
        n = len(GAIT_JOINTS[name])
        return cls(name, np.asarray(theta[: NUM_KEYFRAMES * n]).reshape(NUM_KEYFRAMES, n),
                   0.6 + abs(float(theta[-1])))

    def targets(self, grasp: np.ndarray, t: float, ranges: np.ndarray) -> np.ndarray:
        """Joint targets (rad, JOINT_IDS order) at time t into the gait."""
        phase = (t / self.period) % 1.0 * NUM_KEYFRAMES
        k = int(phase)
        a = phase - k
        offset = (1 - a) * self.offsets[k] + a * self.offsets[(k + 1) % NUM_KEYFRAMES]
        q = grasp.copy()
        q[[hand.JOINT_IDS.index(j) for j in self.joints]] += offset
        return np.clip(q, ranges[:, 0], ranges[:, 1])


def load_gaits() -> dict[str, Gait]:
    """The tuned gaits shipped in assets/cube_gaits.json."""
    text = resources.files("softflow_bench.assets").joinpath("cube_gaits.json").read_text()
    raw = json.loads(text)
    return {name: Gait(name, np.array(g["offsets"]), float(g["period"])) for name, g in raw["gaits"].items()}


class CubeExpert:
    """Plays one gait per episode; pauses the gait while the cube is out of place.

    `action_noise` is the std of Gaussian noise on the normalised action: the demonstrations'
    per-step variability, and part of why the expert does not always succeed.
    """

    def __init__(self, env, rng: np.random.Generator, gaits: dict[str, Gait] | None = None,
                 action_noise: float = 0.01, drift_limit: float = 0.012, secure_turns: float = 0.3):
        self.env = env.unwrapped
        self.rng = rng
        self.gaits = gaits or load_gaits()
        self.action_noise = action_noise
        self.drift_limit = drift_limit
        self.secure_turns = secure_turns

    def reset(self, mode: str | None = None) -> str:
        self.mode = mode or str(self.rng.choice(sorted(self.gaits)))
        self.gait_time = 0.0
        return self.mode

    def act(self) -> np.ndarray:
        env = self.env
        drift = np.linalg.norm(env.cube_in_palm()[0] - env.start_offset)
        if drift > self.drift_limit or env.turns >= self.secure_turns:
            # Hold the start grasp: let it re-centre a drifting cube, or keep a secured gain.
            q = env.grasp_pose
        else:
            q = self.gaits[self.mode].targets(env.grasp_pose, self.gait_time, env.joint_ranges)
            self.gait_time += 1.0 / env.cfg.control_hz
        a = hand.normalize(q, env.joint_ranges) + self.rng.normal(0.0, self.action_noise, hand.NUM_JOINTS)
        return np.clip(a, -1.0, 1.0).astype(np.float32)
