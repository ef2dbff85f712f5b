"""scissors_tape: take scissors out of their case and cut a strip of tape.

The SOFT-FLOW paper's first real task, in MuJoCo. The right ORCA hand hangs palm-down from a
6-DoF actuated base (x, y, z slides and yaw, pitch, roll hinges: a stand-in for the Franka arm),
23 action dims in all. A pair of scissors lies flat in an open case on the table: blade A and
ring A are one body with a free joint; blade B and ring B turn about the pivot on a hinge with
limits and a light opening spring. The case's moulded insert carries the blades and handles,
and the finger rings sit over a well: fingers lowered into the rings go through them, as they do
in a real case (on a flat floor the ORCA fingertips, about 2 cm thick, could not enter the rings at
all). The scissors lie blades along +y, so the two rings sit side by side along x, the axis the
thumb and index finger oppose along. A strip of tape hangs vertically from a holder: its lower half
is held to the upper one by an active weld. Cutting is modelled: when the blades close past a
threshold with the tape's cut point between them, the weld is switched off and the lower half
falls away.

Split as dm_control's suite does: `build_model` (physics), pure task functions, then the env.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym
import mujoco
import numpy as np
from dm_control.utils import rewards as dm_rewards

from softflow_bench import hand
from softflow_bench.envs.base import MujocoTaskEnv

ARM_JOINTS: tuple[str, ...] = ("arm_x", "arm_y", "arm_z", "arm_yaw", "arm_pitch", "arm_roll")
#: Arm joint ranges (m for slides, rad for hinges), relative to ARM_HOME.
ARM_RANGES = np.array([[-0.15, 0.35], [-0.25, 0.35], [-0.19, 0.15], [-1.2, 1.2], [-0.6, 0.6], [-0.6, 0.6]])
ARM_HOME = (0.05, 0.0, 0.20)  # the arm origin, ~2.4 cm above the palm centre
ACTION_IDS: tuple[str, ...] = ARM_JOINTS + hand.JOINT_IDS

CASE_POS = (0.075, 0.0)      # centre of the case on the table (x, y)
CASE_HALF = (0.095, 0.11)    # inner half-sizes of the case (x, y)
PIVOT_POS = (0.08, 0.0)      # scissors pivot when lying in the case (x, y); blades point +y
INSERT_H = 0.03              # height of the case insert the blades rest on (m)
INSERT_EDGE = -0.025         # y of the insert's edge in the case frame: the rings lie over the well beyond it
TAPE_POS = (0.22, 0.22)      # the tape strip's centre line (x, y)
TAPE_CUT_Z = 0.11            # height of the cut point on the strip
BLADE_LEN = 0.07
RING_R = 0.024               # ring centre-line radius (m); the hole is ~3.8 cm across
RING_TUBE = 0.005            # ring tube radius (m)
RING_X, RING_Y = -0.07, 0.03  # ring centres in the scissors frame: (RING_X, -RING_Y) on A, (RING_X, RING_Y) on B

# collision bits: blades pass through the tape (cutting is modelled, not simulated)
TAPE_BITS = dict(contype=2, conaffinity=1)
BLADE_BITS = dict(contype=4, conaffinity=1)

OBS_LAYOUT: tuple[tuple[str, int], ...] = (
    ("joint_pos", 23),       # arm joints then hand joints (ACTION_IDS order), m / rad
    ("joint_vel", 23),
    ("prev_action", 23),
    ("scissors_pos", 3),     # pivot position in the world (m)
    ("scissors_rot6d", 6),   # first two columns of the scissors' rotation
    ("scissors_open", 1),    # blade opening angle (rad)
    ("tape_rel", 3),         # tape cut point minus the pivot (m)
    ("cut", 1),              # 1 once the tape is cut
)
OBS_DIM = sum(n for _, n in OBS_LAYOUT)


@dataclass(frozen=True)
class ScissorsTaskConfig:
    """Physics and task parameters of scissors_tape."""

    control_hz: float = 20.0
    """Control rate; 25 physics substeps of 2 ms per step."""
    episode_steps: int = 400
    """Steps per episode (20 s at 20 Hz)."""
    reward_mode: str = "sparse"
    """sparse: 1 on the step the tape is cut (the paper's human rewards were sparse); dense: the
    same 1 on the cut plus a staged progress cost in [-1, 0] on every other step (`dense_reward`)."""
    ring_friction: float = 1.2
    """Friction of the scissors' geoms."""
    hinge_spring: float = 1.0
    """Opening spring stiffness of the scissors' hinge (N m/rad), towards `open_angle`: spring-loaded
    scissors. The fingers squeeze the rings against it, so the spring keeps them pressed on the
    fingertips while the blades are held open (with a light spring, 0.02, the rings hung loose on
    the fingers and the scissors slid off them); closing fully takes about 0.5 N m."""
    open_angle: float = 0.5
    """Rest opening of the blades (rad)."""
    close_threshold: float = 0.08
    """The blades count as closed below this opening (rad)."""
    case_wall: float = 0.045
    """Height of the case's walls (m): `grasped` needs the scissors above them and off the case."""
    reset_pos_noise: float = 0.01
    """Half-width (m) of the uniform noise on the scissors' position in the case."""
    reset_yaw_noise: float = 0.15
    """Half-width (rad) of the uniform noise on the scissors' yaw."""
    obs_noise: float = 0.0
    """Std of Gaussian noise on joint and object observations."""
    render_size: tuple[int, int] = field(default=(360, 480))
    """(height, width) of rgb_array frames."""


def _ring(body: mujoco.MjsBody, centre, radius: float, tube: float, rgba, bits) -> None:
    """A ring lying in the body's xy-plane, made of 10 capsules."""
    angles = np.linspace(0, 2 * np.pi, 11)
    for a0, a1 in zip(angles[:-1], angles[1:]):
        p0 = [centre[0] + radius * np.cos(a0), centre[1] + radius * np.sin(a0), centre[2]]
        p1 = [centre[0] + radius * np.cos(a1), centre[1] + radius * np.sin(a1), centre[2]]
        body.add_geom(type=mujoco.mjtGeom.mjGEOM_CAPSULE, fromto=p0 + p1, size=[tube, 0, 0], rgba=rgba, **bits)


def build_model(cfg: ScissorsTaskConfig = ScissorsTaskConfig()) -> mujoco.MjModel:
    spec = hand.scene_spec()
    spec.compiler.degree = False  # orca-sim's scene.xml leaves MJCF's default (degrees)
    G, J = mujoco.mjtGeom, mujoco.mjtJoint

    # ---- the arm stand-in with the hand ----
    arm = spec.worldbody.add_body(name="arm", pos=list(ARM_HOME), gravcomp=1)
    for (name, (lo, hi)), axis in zip(zip(ARM_JOINTS, ARM_RANGES), np.eye(3).tolist() * 2):
        slide = name in ("arm_x", "arm_y", "arm_z")
        arm.add_joint(name=name, type=J.mjJNT_SLIDE if slide else J.mjJNT_HINGE, axis=axis, range=[lo, hi],
                      damping=60.0 if slide else 2.0, armature=0.01)
        spec.add_actuator(name=f"{name}_actuator", target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT,
                          gaintype=mujoco.mjtGain.mjGAIN_FIXED, biastype=mujoco.mjtBias.mjBIAS_AFFINE,
                          gainprm=[1000.0 if slide else 60.0] + [0] * 9,
                          biasprm=[0, -(1000.0 if slide else 60.0), 0] + [0] * 7,
                          ctrlrange=[lo, hi], ctrllimited=True,
                          forcerange=[-150, 150] if slide else [-30, 30], forcelimited=True)
    arm.add_geom(type=G.mjGEOM_SPHERE, size=[0.012, 0, 0], mass=0.2, contype=0, conaffinity=0, rgba=[0.3, 0.3, 0.3, 1])
    mount = arm.add_frame(quat=[0.5, -0.5, 0.5, -0.5], pos=[-0.134, 0.039, 0.0])
    hand_spec = hand.hand_only_spec()
    hand_spec.body("right_tower").gravcomp = 1  # the arm carries the tower; fingers keep their weight
    with hand.hand_attached_without_prefix():
        mount.attach_body(hand_spec.body("right_tower"), "", "")

    # ---- the case: a tray open at the top ----
    cx, cy = CASE_POS
    case = spec.worldbody.add_body(name="case", pos=[cx, cy, 0])
    grey = [0.35, 0.3, 0.25, 1]
    hx, hy, hz, t = *CASE_HALF, cfg.case_wall / 2, 0.0025
    case.add_geom(name="case_bottom", type=G.mjGEOM_BOX, size=[hx, hy, t], pos=[0, 0, t], rgba=grey)
    iy = (hy - INSERT_EDGE) / 2
    case.add_geom(name="case_insert", type=G.mjGEOM_BOX, size=[hx, iy, INSERT_H / 2], pos=[0, hy - iy, INSERT_H / 2],
                  rgba=[0.2, 0.2, 0.25, 1])
    for name, pos, size in [("case_wall_n", [0, hy + t, hz], [hx, t, hz]),
                            ("case_wall_s", [0, -hy - t, hz], [hx, t, hz]),
                            ("case_wall_e", [hx + t, 0, hz], [t, hy + 2 * t, hz]),
                            ("case_wall_w", [-hx - t, 0, hz], [t, hy + 2 * t, hz])]:
        case.add_geom(name=name, type=G.mjGEOM_BOX, size=size, pos=pos, rgba=grey)

    # ---- the scissors: body A (blade + ring, free), body B (blade + ring, hinged at the pivot) ----
    px, py = PIVOT_POS
    fr = [cfg.ring_friction, 0.01, 0.001]
    steel, red, blue = [0.75, 0.75, 0.8, 1], [0.8, 0.15, 0.1, 1], [0.1, 0.3, 0.8, 1]
    # steel blades outweigh the handles, so the scissors rest on the insert instead of tipping into the well
    sa = spec.worldbody.add_body(name="scissors", pos=[px, py, INSERT_H + 0.006])
    sa.add_freejoint(name="scissors")
    sa.add_geom(name="blade_a", type=G.mjGEOM_BOX, size=[BLADE_LEN / 2, 0.005, 0.0012],
                pos=[BLADE_LEN / 2, 0.0, 0.0013], rgba=steel, mass=0.03, friction=fr, **BLADE_BITS)
    ring_a = [RING_X, -RING_Y, 0.0013]
    sa.add_geom(type=G.mjGEOM_CAPSULE, fromto=[0, 0, 0.0013, ring_a[0] + RING_R, ring_a[1], 0.0013],
                size=[0.004, 0, 0], rgba=red, mass=0.01, friction=fr)
    _ring(sa, ring_a, RING_R, RING_TUBE, red, dict(friction=fr, mass=0.0015))
    sb = sa.add_body(name="blade_b")
    # axis -z: a positive angle opens the blades (blade B's tip swings to -y, its ring to +y)
    sb.add_joint(name="scissors_hinge", type=J.mjJNT_HINGE, axis=[0, 0, -1], range=[0.0, 0.7],
                 stiffness=cfg.hinge_spring, springref=cfg.open_angle, damping=0.002, armature=1e-4)
    sb.add_geom(name="blade_b", type=G.mjGEOM_BOX, size=[BLADE_LEN / 2, 0.005, 0.0012],
                pos=[BLADE_LEN / 2, 0.0, -0.0013], rgba=steel, mass=0.03, friction=fr, **BLADE_BITS)
    ring_b = [RING_X, RING_Y, -0.0013]
    sb.add_geom(type=G.mjGEOM_CAPSULE, fromto=[0, 0, -0.0013, ring_b[0] + RING_R, ring_b[1], -0.0013],
                size=[0.004, 0, 0], rgba=blue, mass=0.01, friction=fr)
    _ring(sb, ring_b, RING_R, RING_TUBE, blue, dict(friction=fr, mass=0.0015))
    sb.add_site(name="blade_b_dir", pos=[BLADE_LEN, 0, 0])

    # ---- the tape: a vertical strip, lower half welded to the holder until it is cut ----
    tx, ty = TAPE_POS
    holder = spec.worldbody.add_body(name="tape_holder", pos=[tx, ty, 0])
    wood = [0.55, 0.4, 0.25, 1]
    holder.add_geom(type=G.mjGEOM_BOX, size=[0.04, 0.015, 0.005], pos=[0, 0, 0.005], rgba=wood)
    holder.add_geom(type=G.mjGEOM_BOX, size=[0.005, 0.015, 0.1], pos=[-0.035, 0, 0.1], rgba=wood)
    holder.add_geom(type=G.mjGEOM_BOX, size=[0.03, 0.015, 0.005], pos=[-0.01, 0, 0.195], rgba=wood)
    tape_rgba = [0.95, 0.85, 0.2, 1]
    holder.add_geom(name="tape_top", type=G.mjGEOM_BOX, size=[0.0008, 0.01, (0.19 - TAPE_CUT_Z) / 2],
                    pos=[0, 0, (0.19 + TAPE_CUT_Z) / 2], rgba=tape_rgba, **TAPE_BITS)
    holder.add_site(name="tape_cut", pos=[0, 0, TAPE_CUT_Z])
    lower = spec.worldbody.add_body(name="tape_lower", pos=[tx, ty, (TAPE_CUT_Z + 0.06) / 2])
    lower.add_freejoint(name="tape_lower")
    lower.add_geom(name="tape_lower", type=G.mjGEOM_BOX, size=[0.0008, 0.01, (TAPE_CUT_Z - 0.06) / 2],
                   rgba=tape_rgba, mass=0.002, **TAPE_BITS)
    spec.add_equality(name="tape_weld", type=mujoco.mjtEq.mjEQ_WELD, objtype=mujoco.mjtObj.mjOBJ_BODY,
                      name1="tape_lower", name2="tape_holder",
                      data=[0] * 10 + [1, 0])  # relative pose taken from the model's initial configuration

    spec.worldbody.add_camera(name="overview", pos=[0.45, -0.35, 0.4],
                              mode=mujoco.mjtCamLight.mjCAMLIGHT_TARGETBODY, targetbody="case")
    with hand.hand_attached_without_prefix():
        return spec.compile()


# --------------------------------------------------------------------------------------------
# Task logic: pure functions, unit-tested on their own.
# --------------------------------------------------------------------------------------------

def _in_blade_band(p_local: np.ndarray, blade_len: float, band: float) -> bool:
    r = float(np.hypot(p_local[0], p_local[1]))
    return 0.01 <= r <= blade_len and abs(p_local[2]) <= band


def point_between_blades(p_local: np.ndarray, opening: float, blade_len: float = BLADE_LEN,
                         band: float = 0.012) -> bool:
    """Is a point (in the scissors frame: pivot at 0, blade A along +x, blade B at angle
    -opening about z) inside the sector the open blades enclose, within `band` of their plane?"""
    angle = float(np.arctan2(p_local[1], p_local[0]))  # blade B lies at -opening
    return _in_blade_band(p_local, blade_len, band) and -opening - 0.02 <= angle <= 0.02


def tape_in_jaws(previously: bool, p_local: np.ndarray, opening: float, blade_len: float = BLADE_LEN,
                 band: float = 0.012) -> bool:
    """The tape enters the jaws between open blades, and stays in them while it stays within the
    blades' reach on blade B's side of blade A, even once blade B has swept over it (cutting)."""
    if point_between_blades(p_local, opening, blade_len, band):
        return True
    angle = float(np.arctan2(p_local[1], p_local[0]))
    return previously and _in_blade_band(p_local, blade_len, band) and -np.pi / 2 <= angle <= 0.02


def cut_event(in_jaws: bool, opening: float, close_threshold: float) -> bool:
    """The tape is cut when the blades close below the threshold with the tape in their jaws."""
    return in_jaws and opening < close_threshold


def is_grasped(scissors_z: float, hand_touches: bool, case_touches: bool, wall: float) -> bool:
    """Scissors held: the hand touches them, the case does not, and they are above the walls."""
    return hand_touches and not case_touches and scissors_z > wall + 0.01


def closing_score(in_jaws: bool, opening: float, close_threshold: float, open_angle: float) -> float:
    """The last stage's progress: 0 until the tape is in the jaws, then rising linearly from 0 with
    the blades at their rest opening to 1 at the cut's threshold. Without it the staged reward was
    flat from the tape to the cut: trained policies brought the tape into the jaws and held the
    blades there, half open, until the episode ended."""
    if not in_jaws:
        return 0.0
    return float(np.clip((open_angle - opening) / (open_angle - close_threshold), 0.0, 1.0))


def dense_reward(stage_scores: tuple[float, ...], just_cut: bool) -> float:
    """1 on the cut, else the staged progress cost mean(reach, grasp, to_tape, close) - 1, in [-1, 0].

    A cost, not a bonus, because the episode ends at the cut: a positive reward per step would pay
    the policy more for holding the scissors at the tape for the rest of the episode than for
    cutting (at gamma 0.99, 3 per step is worth about 300; the cut ended that). Under a cost the
    cut is also what stops the bleeding, and each stage reached makes the cost smaller.
    """
    if just_cut:
        return 1.0
    return float(np.mean(stage_scores)) - 1.0


class ScissorsTapeEnv(MujocoTaskEnv):
    """Gymnasium env `softflow_bench/ScissorsTape-v0`. See module docstring and README.
    Its controlled joints (joint_ranges, joint_positions) are the 6 arm joints, then the 17 hand joints."""

    CAMERA = "overview"

    def __init__(self, config: ScissorsTaskConfig | None = None, render_mode: str | None = None, **overrides):
        self.cfg = config or ScissorsTaskConfig(**overrides)
        super().__init__(render_mode, self.cfg.render_size)
        if self.cfg.reward_mode not in ("sparse", "dense"):
            raise ValueError(f"reward_mode must be 'sparse' or 'dense', got {self.cfg.reward_mode!r}")
        self.model = m = build_model(self.cfg)
        self.data = mujoco.MjData(m)
        self.substeps = int(round(1.0 / (self.cfg.control_hz * m.opt.timestep)))
        names = list(ARM_JOINTS) + [hand.mjcf_joint_name(j) for j in hand.JOINT_IDS]
        self._qadr = np.array([m.joint(n).qposadr[0] for n in names])
        self._vadr = np.array([m.joint(n).dofadr[0] for n in names])
        self._act = np.array([m.actuator(f"{n}_actuator").id for n in names])
        self._ranges = np.array([m.joint(n).range for n in names])
        self._ref = m.qpos0[self._qadr].copy()
        self._hinge = m.joint("scissors_hinge").qposadr[0]
        self._sq = slice(m.joint("scissors").qposadr[0], m.joint("scissors").qposadr[0] + 7)
        self._scissors, self._blade_b = m.body("scissors").id, m.body("blade_b").id
        self._cut_site = m.site("tape_cut").id
        self._weld = m.equality("tape_weld").id
        tower = m.body("right_tower").id
        self._hand_bodies = {b for b in range(m.nbody) if self._is_descendant(b, tower)}
        self._scissor_bodies = {self._scissors, self._blade_b}
        self._case_body = m.body("case").id
        self.action_space = gym.spaces.Box(-1.0, 1.0, (len(names),), np.float32)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32)

    def _is_descendant(self, body: int, root: int) -> bool:
        while body > 0:
            if body == root:
                return True
            body = self.model.body_parentid[body]
        return False

    # ---- Gymnasium API ---------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        rng, cfg, m, d = self.np_random, self.cfg, self.model, self.data
        mujoco.mj_resetData(m, d)
        d.eq_active[self._weld] = 1
        q = d.qpos[self._sq]
        q[0] += rng.uniform(-1, 1) * cfg.reset_pos_noise
        q[1] += rng.uniform(-1, 1) * cfg.reset_pos_noise
        yaw = np.pi / 2 + rng.uniform(-1, 1) * cfg.reset_yaw_noise
        q[3:] = [np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)]
        d.qpos[self._hinge] = cfg.open_angle
        d.ctrl[self._act] = self._ref
        mujoco.mj_step(m, d, nstep=100)  # settle the scissors in the case
        self._prev_action = self.normalize(d.ctrl[self._act])
        self._cut = False
        self._in_jaws = False
        self._steps = 0
        return self._obs(), self._info()

    def step(self, action):
        action = self._checked_action(action)
        m, d, cfg = self.model, self.data, self.cfg
        lo, hi = self._ranges[:, 0], self._ranges[:, 1]
        d.ctrl[self._act] = lo + (action + 1) * 0.5 * (hi - lo)
        mujoco.mj_step(m, d, nstep=self.substeps)
        self._steps += 1

        just_cut = self._update_cut()
        info = self._info()
        if cfg.reward_mode == "sparse":
            reward = 1.0 if just_cut else 0.0
        else:
            reward = dense_reward(self._stage_scores(info), just_cut)
        self._prev_action = action
        terminated = self._cut  # the task is done once the tape is cut
        truncated = self._steps >= cfg.episode_steps and not terminated
        return self._obs(), reward, terminated, truncated, info

    # ---- helpers ---------------------------------------------------------------------------
    def _update_cut(self) -> bool:
        """After physics: fire the cut if the blades just closed across the tape. True if they did."""
        opening = self.blade_opening()
        self._in_jaws = tape_in_jaws(self._in_jaws, self.cut_point_local(), opening)
        just_cut = not self._cut and cut_event(self._in_jaws, opening, self.cfg.close_threshold)
        if just_cut:
            self._cut = True
            self.data.eq_active[self._weld] = 0  # the halves separate
        return just_cut

    def normalize(self, q: np.ndarray) -> np.ndarray:
        """Joint targets (rad, m) -> the action that commands them."""
        lo, hi = self._ranges[:, 0], self._ranges[:, 1]
        return (2 * (q - lo) / (hi - lo) - 1).astype(np.float32)

    @property
    def reference_pose(self) -> np.ndarray:
        """(23,) the controlled joints' reference positions (the model's qpos0)."""
        return self._ref

    @property
    def joint_qpos_adr(self) -> np.ndarray:
        """(23,) where the controlled joints' positions sit in qpos."""
        return self._qadr

    def scissors_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """The scissors' free body: world position (m) and rotation matrix."""
        return self.data.xpos[self._scissors].copy(), self.data.xmat[self._scissors].reshape(3, 3).copy()

    def cut_point(self) -> np.ndarray:
        """The tape's cut point in the world (m)."""
        return self.data.site_xpos[self._cut_site].copy()

    def blade_opening(self) -> float:
        """Angle between the blades (rad): 0 closed, `open_angle` at the spring's rest."""
        return float(self.data.qpos[self._hinge])

    def ring_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """World positions of the centres of ring A (on the free body) and ring B (on the hinged blade)."""
        d = self.data
        ring_a = d.xpos[self._scissors] + d.xmat[self._scissors].reshape(3, 3) @ [RING_X, -RING_Y, 0.0]
        ring_b = d.xpos[self._blade_b] + d.xmat[self._blade_b].reshape(3, 3) @ [RING_X, RING_Y, 0.0]
        return ring_a, ring_b

    def cut_point_local(self) -> np.ndarray:
        """The tape's cut point in the scissors' frame (m)."""
        d = self.data
        rot = d.xmat[self._scissors].reshape(3, 3)
        return rot.T @ (d.site_xpos[self._cut_site] - d.xpos[self._scissors])

    def _contacts(self) -> tuple[bool, bool]:
        """(hand touches scissors, case touches scissors)."""
        m, d = self.model, self.data
        hand_touch = case_touch = False
        for i in range(d.ncon):
            b1, b2 = m.geom_bodyid[d.contact.geom1[i]], m.geom_bodyid[d.contact.geom2[i]]
            if b1 in self._scissor_bodies or b2 in self._scissor_bodies:
                other = b2 if b1 in self._scissor_bodies else b1
                hand_touch |= other in self._hand_bodies
                case_touch |= other == self._case_body
        return hand_touch, case_touch

    def _info(self) -> dict:
        hand_touch, case_touch = self._contacts()
        grasped = is_grasped(float(self.data.xpos[self._scissors][2]), hand_touch, case_touch, self.cfg.case_wall)
        return {"grasped": bool(grasped), "cut": bool(self._cut), "success": bool(self._cut)}

    def _stage_scores(self, info: dict) -> tuple[float, ...]:
        d = self.data
        palm = d.xpos[self.model.body("right_palm").id]
        ring_centre = d.xpos[self._scissors] + d.xmat[self._scissors].reshape(3, 3) @ np.array([RING_X, 0.0, 0.0])
        reach = dm_rewards.tolerance(float(np.linalg.norm(palm - ring_centre)), bounds=(0, 0.04), margin=0.2)
        to_tape = dm_rewards.tolerance(float(np.linalg.norm(self.cut_point_local()[:2] - [0.04, -0.01])),
                                       bounds=(0, 0.01), margin=0.2) if info["grasped"] else 0.0
        close = closing_score(self._in_jaws, self.blade_opening(), self.cfg.close_threshold, self.cfg.open_angle)
        return (reach, float(info["grasped"]), to_tape, close)

    def _obs(self) -> np.ndarray:
        d = self.data
        rot = d.xmat[self._scissors].reshape(3, 3)
        parts = [d.qpos[self._qadr], d.qvel[self._vadr], self._prev_action, d.xpos[self._scissors],
                 rot[:, :2].T.ravel(), [self.blade_opening()],
                 d.site_xpos[self._cut_site] - d.xpos[self._scissors], [float(self._cut)]]
        obs = np.concatenate(parts).astype(np.float32)
        if self.cfg.obs_noise > 0:
            noise = self.np_random.normal(0.0, self.cfg.obs_noise, OBS_DIM).astype(np.float32)
            noise[46:69] = 0.0  # prev_action is known exactly
            noise[-1] = 0.0
            obs += noise
        return obs
