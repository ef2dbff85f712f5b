"""Probe: can a scripted grasp lift the scissors out of their case? (groundwork for the expert)

    python scripts/probe_scissors_grasp.py [--episodes 10]

Per seed: solve the arm + index + thumb joints (least squares on forward kinematics) so the index
tip sits in ring A and the thumb tip in ring B, 2 cm below the ring plane; lower into the rings;
then push the two tips apart (outward: the rings press the hinge to its limit) or together
(inward: the blades close and the fingers pinch the rings), by offsetting the position targets by
J^T F / kp; lift 12 cm and hold 1 s. Prints how many seeds end with `info["grasped"]`.
Not yet an expert: closing the blades on the tape from the outward grip drops the scissors.
"""

from __future__ import annotations

import argparse

import mujoco
import numpy as np
from scipy.optimize import least_squares

from softflow_bench.envs.scissors_tape import ACTION_IDS, ScissorsTapeEnv

IDX = {n: i for i, n in enumerate(ACTION_IDS)}
FINGERS = {"index": ("index_abd", "index_mcp", "index_pip"), "thumb": ("thumb_mcp", "thumb_abd", "thumb_pip", "thumb_dip")}
TIP_BODIES = {"index": "right_index_ip", "thumb": "right_thumb_dp"}
FINGER_KP = 2.0  # orca-sim's position gain (N m / rad)


class GraspProbe:
    def __init__(self, env: ScissorsTapeEnv):
        self.env, self.m, self.d = env, env.model, env.data
        self.scratch = mujoco.MjData(self.m)

    def tips(self, q: np.ndarray) -> dict[str, np.ndarray]:
        """Lowest collision-mesh vertex of each fingertip for joint vector q (forward kinematics)."""
        m, s = self.m, self.scratch
        s.qpos[:] = self.d.qpos
        s.qpos[self.env._qadr] = q
        mujoco.mj_kinematics(m, s)
        out = {}
        for finger, body in TIP_BODIES.items():
            bid, lowest = m.body(body).id, None
            for g in np.flatnonzero((m.geom_bodyid == bid) & (m.geom_type == mujoco.mjtGeom.mjGEOM_MESH) & (m.geom_contype != 0)):
                a, n = m.mesh_vertadr[m.geom_dataid[g]], m.mesh_vertnum[m.geom_dataid[g]]
                v = m.mesh_vert[a:a + n] @ s.geom_xmat[g].reshape(3, 3).T + s.geom_xpos[g]
                low = v[np.argmin(v[:, 2])]
                lowest = low if lowest is None or low[2] < lowest[2] else lowest
            out[finger] = lowest
        return out

    def solve(self, ra, rb, dz: float, base: np.ndarray) -> np.ndarray:
        free = [IDX[n] for n in ("arm_x", "arm_y", "arm_z", "arm_yaw", "index_mcp", "thumb_pip")]
        def residual(p):
            q = base.copy(); q[free] = p
            t = self.tips(q)
            return np.r_[t["thumb"] - rb - [0, 0, dz], t["index"] - ra - [0, 0, dz]]
        r = least_squares(residual, base[free], bounds=(self.env._ranges[free, 0], self.env._ranges[free, 1]))
        q = base.copy(); q[free] = r.x
        return q

    def push(self, q: np.ndarray, forces: dict[str, np.ndarray]) -> np.ndarray:
        """Position targets that make each fingertip push with the given force (tau = J^T F, dq = tau / kp)."""
        out, t0 = q.copy(), self.tips(q)
        for finger, force in forces.items():
            for n in FINGERS[finger]:
                dq = q.copy(); dq[IDX[n]] += 1e-3
                jac_col = (self.tips(dq)[finger] - t0[finger]) / 1e-3
                out[IDX[n]] += jac_col @ force / FINGER_KP
        return out

    def move(self, q0, q1, steps: int) -> dict:
        for i in range(1, steps + 1):
            q = q0 + (q1 - q0) * i / steps
            _, _, _, _, info = self.env.step(self.env._normalize(q).clip(-1, 1))
        return info

    def lift(self, seed: int, force: float) -> bool:
        self.env.reset(seed=seed)
        ra, rb = self.env.ring_centres()
        base = self.env._ref.copy()
        for n, v in dict(arm_pitch=0.3, middle_mcp=-0.35, ring_mcp=-0.35, pinky_mcp=-0.35, index_pip=0.3).items():
            base[IDX[n]] = v  # middle, ring and pinky bent back out of the way
        above = self.solve(ra, rb, 0.05, base)
        inside = self.solve(ra, rb, -0.02, above)
        self.move(self.env._ref.copy(), above, 20)
        self.move(above, inside, 15)
        apart = (ra - rb) * [1, 1, 0]
        apart /= np.linalg.norm(apart)
        grip = self.push(inside, {"index": apart * force, "thumb": -apart * force})
        self.move(inside, grip, 10)
        up = grip.copy(); up[IDX["arm_z"]] += 0.12
        self.move(grip, up, 20)
        return bool(self.move(up, up, 20)["grasped"])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=10)
    args = p.parse_args(argv)
    probe = GraspProbe(ScissorsTapeEnv())
    for name, force in (("outward (hinge at its limit)", 20.0), ("inward (blades closed, rings pinched)", -10.0)):
        held = sum(probe.lift(seed, force) for seed in range(args.episodes))
        print(f"{name}: grasped after lift + 1 s hold on {held} of {args.episodes} seeds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
