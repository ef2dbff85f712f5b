"""Scripted expert for scissors_tape: a waypoint script with grasp-phase logic.

One episode, phase by phase (each phase a fixed number of control steps or until its goal is met):

1. reach: solve arm x/y/z/yaw plus one finger's MCP and the thumb's PIP by least squares on
   forward kinematics, so the finger's and the thumb's lowest fingertip points sit 5 cm above
   ring A and ring B; move there.
2. insert: the same solve 2 cm *below* the ring plane (the rings lie over the case's well); lower.
3. grip, lift: squeeze the rings towards each other against the scissors' opening spring. The
   squeeze is a force servo on the blade opening: a fingertip force F along the ring-to-ring axis
   becomes joint targets offset by J^T F / kp (the fingers are position-controlled with gain kp),
   and F is integrated from the error between the opening and a target opening, so the spring
   presses the rings onto the fingertips with a steady force whatever the exact finger placement.
   Lift 12 cm with the blades held open.
4. approach: proportional control of the arm's slides on the tape's cut point expressed in the
   scissors' frame: first a point 11 cm out along the bisector of the open blades, then 3.5 cm in.
5. cut: hold the cut point where it is in the scissors' frame and servo the opening to below zero:
   the fingers squeeze the blades shut across the tape.

Modes (chosen per episode, the multimodality the paper is about): ring A is taken with the
**index** finger or with the **middle** finger (the other one bent out of the way), which changes
the arm pose, the yaw and which finger joints move throughout the episode. Per-episode noise on
the hold opening, the insertion depth and the approach gain, plus Gaussian action noise, gives the
variability. The expert reads privileged simulator state (ring and cut-point poses, blade angle).
It drops the scissors or misses the cut on a fair share of seeds (see `tests/test_scissors_expert.py`
for the band it is held to): room for fine-tuning.
"""

from __future__ import annotations

import mujoco
import numpy as np
from scipy.optimize import least_squares

from softflow_bench.envs.scissors_tape import ACTION_IDS

IDX = {n: i for i, n in enumerate(ACTION_IDS)}
FINGER_KP = 2.0  # orca-sim's finger position gain (N m / rad): force -> joint-target offset
TIP_BODY = {"index": "right_index_ip", "middle": "right_middle_ip", "thumb": "right_thumb_dp"}
FINGER_JOINTS = {"index": ("index_abd", "index_mcp", "index_pip"),
                 "middle": ("middle_abd", "middle_mcp", "middle_pip"),
                 "thumb": ("thumb_mcp", "thumb_abd", "thumb_pip", "thumb_dip")}
#: Per mode: the joints bent out of the way / preshaped before the solve (rad), and the finger that goes into ring A.
PRESHAPE = {
    "index": dict(arm_pitch=0.3, middle_mcp=-0.35, ring_mcp=-0.35, pinky_mcp=-0.35, index_pip=0.3),
    "middle": dict(arm_pitch=0.3, index_mcp=-0.35, ring_mcp=-0.35, pinky_mcp=-0.35, middle_pip=0.3),
}
MODES = tuple(sorted(PRESHAPE))


class HandKinematics:
    """Fingertip forward kinematics and IK on a scratch copy of the env's MjData."""

    def __init__(self, env):
        self.env, self.m = env, env.model
        self.scratch = mujoco.MjData(self.m)
        self._tip_geoms = {}
        for finger, body in TIP_BODY.items():
            bid = self.m.body(body).id
            self._tip_geoms[finger] = np.flatnonzero((self.m.geom_bodyid == bid) & (self.m.geom_contype != 0)
                                                     & (self.m.geom_type == mujoco.mjtGeom.mjGEOM_MESH))

    def tips(self, q: np.ndarray, fingers) -> dict[str, np.ndarray]:
        """Lowest collision-mesh vertex of each fingertip for the joint vector q (ACTION_IDS order)."""
        m, s = self.m, self.scratch
        s.qpos[:] = self.env.data.qpos
        s.qpos[self.env.joint_qpos_adr] = q
        mujoco.mj_kinematics(m, s)
        out = {}
        for finger in fingers:
            lowest = None
            for g in self._tip_geoms[finger]:
                a, n = m.mesh_vertadr[m.geom_dataid[g]], m.mesh_vertnum[m.geom_dataid[g]]
                v = m.mesh_vert[a:a + n] @ s.geom_xmat[g].reshape(3, 3).T + s.geom_xpos[g]
                low = v[np.argmin(v[:, 2])]
                lowest = low if lowest is None or low[2] < lowest[2] else lowest
            out[finger] = lowest
        return out

    def solve(self, finger: str, ring_a, ring_b, dz: float, start: np.ndarray) -> np.ndarray:
        """Joint vector putting `finger` dz above ring A's centre and the thumb dz above ring B's."""
        free = [IDX[n] for n in ("arm_x", "arm_y", "arm_z", "arm_yaw", f"{finger}_mcp", "thumb_pip")]
        ranges = self.env.joint_ranges

        def residual(p):
            q = start.copy()
            q[free] = p
            t = self.tips(q, (finger, "thumb"))
            return np.r_[t["thumb"] - ring_b - [0, 0, dz], t[finger] - ring_a - [0, 0, dz]]

        q = start.copy()
        q[free] = least_squares(residual, start[free], bounds=(ranges[free, 0], ranges[free, 1])).x
        return q

    def squeeze(self, q: np.ndarray, finger: str, axis: np.ndarray, force: float) -> np.ndarray:
        """Targets making `finger` push with `force` along `axis` and the thumb against it (J^T F / kp)."""
        out = q.copy()
        t0 = self.tips(q, (finger, "thumb"))
        for who, f in ((finger, axis * force), ("thumb", -axis * force)):
            for name in FINGER_JOINTS[who]:
                dq = q.copy()
                dq[IDX[name]] += 1e-3
                out[IDX[name]] += (self.tips(dq, (who,))[who] - t0[who]) / 1e-3 @ f / FINGER_KP
        return out


class ScissorsExpert:
    """Waypoint script with grasp-phase logic; one `act()` per control step. See module docstring."""

    def __init__(self, env, rng: np.random.Generator, action_noise: float = 0.01, servo_gain: float = 20.0,
                 max_arm_step: float = 0.006, max_force_rate: float = 2.0, lift_step: float = 0.004):
        self.env = env.unwrapped
        self.rng = rng
        self.kin = HandKinematics(self.env)
        self.action_noise = action_noise
        self.servo_gain = servo_gain
        self.max_arm_step = max_arm_step
        self.max_force_rate = max_force_rate
        self.lift_step = lift_step

    def reset(self, mode: str | None = None) -> str:
        """Choose the mode and this episode's noise; the env must be reset before the first act()."""
        self.mode = mode or str(self.rng.choice(MODES))
        self.hold_opening = float(self.rng.uniform(0.25, 0.35))
        self.depth = float(self.rng.uniform(0.015, 0.025))
        self.approach_gain = float(self.rng.uniform(0.4, 0.6))
        self._phase = None  # planned at the first act(), once the env has been reset
        return self.mode

    # ---- phases ----------------------------------------------------------------------------
    def _make_plan(self):
        env = self.env
        ring_a, ring_b = env.ring_centres()
        start = env.reference_pose.copy()
        for name, v in PRESHAPE[self.mode].items():
            start[IDX[name]] = v
        above = self.kin.solve(self.mode, ring_a, ring_b, 0.05, start)
        inside = self.kin.solve(self.mode, ring_a, ring_b, -self.depth, above)
        self._waypoints = [(env.reference_pose.copy(), above, 20), (above, inside, 15)]
        self._phase, self._t, self._force, self._q = "move", 0, -10.0, inside.copy()
        self._lifted, self._hold_point = 0.0, None

    def _servo(self, target_opening: float) -> np.ndarray:
        """Fingertip squeeze force integrated from the blade-opening error; returns joint targets."""
        env = self.env
        opening = env.blade_opening()
        # rate-limited, so the blades close over a few steps instead of snapping shut past the tape
        change = np.clip(-self.servo_gain * (opening - target_opening), -self.max_force_rate, self.max_force_rate)
        self._force = float(np.clip(self._force + change, -60.0, 5.0))
        ring_a, ring_b = env.ring_centres()
        axis = (ring_a - ring_b) * [1, 1, 0]
        axis /= np.linalg.norm(axis)
        return self.kin.squeeze(self._q, self.mode, axis, self._force)

    def _move_cut_point_to(self, target_local: np.ndarray, gain: float) -> float:
        """Slide the arm so the tape's cut point moves towards `target_local` (scissors frame)."""
        env = self.env
        c = env.cut_point_local()
        rot = env.scissors_pose()[1]
        step = np.clip(rot @ (c - target_local) * gain, -self.max_arm_step, self.max_arm_step)
        self._q[[IDX["arm_x"], IDX["arm_y"], IDX["arm_z"]]] += step
        return float(np.linalg.norm(c - target_local))

    def _targets(self) -> np.ndarray:
        env = self.env
        if self._phase == "move":
            q0, q1, n = self._waypoints[0]
            self._t += 1
            q = q0 + (q1 - q0) * self._t / n
            if self._t >= n:
                self._waypoints.pop(0)
                self._t = 0
                if not self._waypoints:
                    self._phase = "grip"
            return q
        self._t += 1
        if self._phase == "grip" and self._t >= 10:
            self._phase, self._t = "lift", 0
        elif self._phase == "lift":
            if self._lifted < 0.12:
                self._q[IDX["arm_z"]] += self.lift_step
                self._lifted += self.lift_step
            elif self._t >= 40:
                self._phase, self._t = "far", 0
        elif self._phase in ("far", "near"):
            opening = env.blade_opening()
            r = 0.11 if self._phase == "far" else 0.035
            angle = -opening / 2  # the bisector of the open blades
            err = self._move_cut_point_to(np.array([r * np.cos(angle), r * np.sin(angle), 0.0]), self.approach_gain)
            if err < 0.004 or self._t >= (50 if self._phase == "far" else 40):
                self._phase, self._t = ("near", 0) if self._phase == "far" else ("cut", 0)
                if self._phase == "cut":
                    self._hold_point = env.cut_point_local().copy()
        elif self._phase == "cut":
            self._move_cut_point_to(self._hold_point, 0.5)
        return self._servo(-0.1 if self._phase == "cut" else self.hold_opening)

    def act(self) -> np.ndarray:
        if self._phase is None:
            self._make_plan()
        q = np.clip(self._targets(), self.env.joint_ranges[:, 0], self.env.joint_ranges[:, 1])
        a = self.env.normalize(q) + self.rng.normal(0.0, self.action_noise, len(q))
        return np.clip(a, -1.0, 1.0).astype(np.float32)
