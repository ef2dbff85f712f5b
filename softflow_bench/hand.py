"""The ORCA hand: joint layout, action normalisation and the orca-sim model.

One joint order serves the simulated tasks and the real-hand adapter, so the two cannot drift:
the order of orca-sim's right-hand model, named by orca-core's canonical (v1) joint ids.
The hand's MJCF comes from the `orca-sim` package; it is never copied into this repository.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path

import mujoco
import numpy as np

#: Actuated joints in action/observation order, by orca-core's canonical joint id.
JOINT_IDS: tuple[str, ...] = (
    "wrist",
    "thumb_mcp", "thumb_abd", "thumb_pip", "thumb_dip",
    "index_abd", "index_mcp", "index_pip",
    "middle_abd", "middle_mcp", "middle_pip",
    "ring_abd", "ring_mcp", "ring_pip",
    "pinky_abd", "pinky_mcp", "pinky_pip",
)
NUM_JOINTS = len(JOINT_IDS)
PREFIX = "right_"


def mjcf_joint_name(joint_id: str) -> str:
    """orca-sim's MJCF joint name for an orca-core joint id."""
    return f"{PREFIX}{joint_id}"


def orca_sim_hand_path() -> Path:
    """Path to orca-sim's right-hand MJCF (the v1 hand on its tower base)."""
    import orca_sim

    path = Path(orca_sim.__file__).resolve().parent / "models" / "mjcf" / "orcahand_right.mjcf"
    if not path.exists():
        raise FileNotFoundError(f"orca-sim is installed but its hand model is missing: {path}")
    return path


def hand_spec() -> mujoco.MjSpec:
    """A fresh MjSpec of orca-sim's right-hand scene: the hand on its tower, floor and lights."""
    scene = orca_sim_hand_path().parents[2] / "scene_right.xml"
    return mujoco.MjSpec.from_file(str(scene))


def hand_only_spec() -> mujoco.MjSpec:
    """The hand on its tower alone (no floor or lights), for attaching to another body."""
    root = orca_sim_hand_path().parents[2]
    # options.xml carries orca-sim's defaults; its relative meshdir is overridden with an absolute one.
    xml = f"""<mujoco model="orca_right">
      <include file="{root / 'assets' / 'mjcf' / 'options.xml'}"/>
      <compiler meshdir="{root / 'assets'}"/>
      <include file="{root / 'models' / 'mjcf' / 'orcahand_right.mjcf'}"/>
    </mujoco>"""
    return mujoco.MjSpec.from_string(xml)


EMPTY_PREFIX_WARNING = "Attaching a spec with an empty prefix"


@contextmanager
def hand_attached_without_prefix():
    """Around attaching the hand to a scene without a name prefix, and compiling that scene. MuJoCo
    warns then (its own print at the attach, a Python warning at every compile) that such a model may
    not save back to XML; these scenes are built in code and never saved, and the hand keeps its own
    joint names so that every scene and config names them alike. Only that warning is silenced."""
    previous = mujoco.get_mju_user_warning()
    mujoco.set_mju_user_warning(lambda msg: None if EMPTY_PREFIX_WARNING in msg else print(f"WARNING: {msg}"))
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=EMPTY_PREFIX_WARNING)
            yield
    finally:
        mujoco.set_mju_user_warning(previous)


def scene_spec() -> mujoco.MjSpec:
    """orca-sim's empty scene: floor, lights, sky."""
    return mujoco.MjSpec.from_file(str(orca_sim_hand_path().parents[2] / "assets" / "mjcf" / "scene.xml"))


def joint_ranges(model: mujoco.MjModel) -> np.ndarray:
    """(17, 2) joint ranges in radians, in JOINT_IDS order."""
    return np.array([model.joint(mjcf_joint_name(j)).range for j in JOINT_IDS], dtype=np.float64)


def normalize(q: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """Joint angles (rad) to [-1, 1] over each joint's range."""
    lo, hi = ranges[:, 0], ranges[:, 1]
    return 2.0 * (np.asarray(q) - lo) / (hi - lo) - 1.0


def denormalize(a: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """[-1, 1] actions to joint angles (rad); out-of-range input is clipped to the range."""
    lo, hi = ranges[:, 0], ranges[:, 1]
    return lo + (np.clip(a, -1.0, 1.0) + 1.0) * 0.5 * (hi - lo)
