"""Rotations for real/'s poses, through MuJoCo's own conversions (quaternions are w, x, y, z)."""

from __future__ import annotations

import mujoco
import numpy as np


def quat_matrix(quat) -> np.ndarray:
    """A unit quaternion (w, x, y, z) -> its 3x3 rotation matrix."""
    out = np.empty(9)
    mujoco.mju_quat2Mat(out, np.asarray(quat, dtype=np.float64))
    return out.reshape(3, 3)


def axis_rotation(axis: int, angle: float) -> np.ndarray:
    """The rotation by `angle` (rad) about coordinate axis `axis` (0: x, 1: y, 2: z)."""
    quat = np.empty(4)
    mujoco.mju_axisAngle2Quat(quat, np.eye(3)[axis], float(angle))
    return quat_matrix(quat)
