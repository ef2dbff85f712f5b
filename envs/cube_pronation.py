"""cube_pronation: rotate a cube about the vertical, held palm-down in the ORCA hand.

The SOFT-FLOW paper's second real task, in MuJoCo. The right ORCA hand (orca-sim's model) is
mounted palm-down on a fixed base; a 4 cm cube starts grasped in its fingers. The goal is to turn
the cube about the world's vertical axis, counter-clockwise seen from above (+z), as far as
possible in 15 s without dropping it.

Split as in dm_control's suite: `build_model` makes the physics (MjSpec), the pure functions
below it are the task logic (turn counting, drop test, reward), and `CubePronationEnv` is the
Gymnasium wrapper that ties them together.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym
import mujoco
import numpy as np
from dm_control.utils import rewards as dm_rewards

from softflow_bench import hand
from softflow_bench.envs.base import MujocoTaskEnv

# Where the hand is mounted in orca-sim's model: palm face-down, palm centre
# near (0, 0, 0.25), fingers along +x, thumb on the +y side.
TOWER_POS = (-0.134, 0.039, 0.274)
TOWER_QUAT = (0.5, -0.5, 0.5, -0.5)

#: The grasp every episode starts from (rad, orca-core joint ids; other joints stay at `ref`):
#: thumb against the middle/ring/pinky fingers, index free. Found by random search over grasps
#: that hold a 4 cm cube palm-down for 2 s (softflow_bench/tools/tune_cube_gait.py).
START_GRASP = {
    "thumb_mcp": 0.11, "thumb_abd": -0.26, "thumb_pip": 0.49, "thumb_dip": 0.34,
    "middle_mcp": 0.66, "middle_pip": 1.18, "ring_mcp": 0.99, "ring_pip": 0.71,
    "pinky_mcp": 0.47, "pinky_pip": 1.16,
}
#: The cube's centre when the fingers close on it (world frame, m).
CUBE_START = (0.038, 0.003, 0.232)

# Observation layout: name -> size, in order. Documented in docs/tasks.md; tested.
OBS_LAYOUT: tuple[tuple[str, int], ...] = (
    ("joint_pos", hand.NUM_JOINTS),    # rad, JOINT_IDS order
    ("joint_vel", hand.NUM_JOINTS),    # rad/s
    ("prev_action", hand.NUM_JOINTS),  # the last normalised action, in [-1, 1]
    ("cube_pos", 3),                   # cube centre in the palm frame (m)
    ("cube_rot6d", 6),                 # first two columns of the cube's rotation in the palm frame
)
OBS_DIM = sum(n for _, n in OBS_LAYOUT)


@dataclass(frozen=True)
class CubeTaskConfig:
    """Physics and task parameters of cube_pronation."""

    cube_size: float = 0.04
    """Cube edge (m). 4 cm holds palm-down far more reliably than 5 cm (hand-model notes)."""
    cube_mass: float = 0.05
    """Cube mass (kg)."""
    friction: float = 1.0
    """Sliding friction of the cube's contacts."""
    control_hz: float = 20.0
    """Control rate; physics runs at orca-sim's 2 ms, so 25 substeps per env step."""
    episode_steps: int = 300
    """Steps per episode (15 s at 20 Hz)."""
    obs_noise: float = 0.0
    """Std of Gaussian noise added to joint and cube observations (not to prev_action)."""
    reset_cube_pos_noise: float = 0.003
    """Half-width (m) of the uniform noise on the cube's start position (x and y)."""
    reset_cube_yaw_noise: float = 0.25
    """Half-width (rad) of the uniform noise on the cube's start yaw."""
    reset_joint_noise: float = 0.05
    """Half-width (rad) of the uniform noise on the open pose and on the start grasp."""
    rotation_weight: float = 4.0 / (2.0 * np.pi)
    """Reward per radian of +z rotation: a quarter turn earns 1."""
    action_rate_weight: float = 0.01
    """Penalty on the squared change of the normalised action."""
    energy_weight: float = 0.05
    """Penalty on mechanical power |tau . qdot| (W), times the control period."""
    hold_weight: float = 0.02
    """Per-step bonus for keeping the cube near its start offset from the palm (tolerance)."""
    drop_penalty: float = 5.0
    """Reward lost when the cube drops (the episode then terminates)."""
    drop_height: float = 0.06
    """The cube counts as dropped once its centre is this far (m) below its start height..."""
    no_contact_steps: int = 5
    """...or after this many control steps with no hand contact (0.25 s)."""
    success_turns: float = 0.25
    """Net turns (without a drop) that count as success: a quarter turn."""
    render_size: tuple[int, int] = field(default=(360, 480))
    """(height, width) of rgb_array frames."""


def build_model(cfg: CubeTaskConfig = CubeTaskConfig()) -> mujoco.MjModel:
    """The hand palm-down, a cube with coloured face marks, and a camera looking up at it."""
    spec = hand.hand_spec()
    tower = spec.body("right_tower")
    # orca-sim stores the tower's orientation as euler "alt": quat is ignored unless switched.
    tower.alt.type = mujoco.mjtOrientation.mjORIENTATION_QUAT
    tower.quat = list(TOWER_QUAT)
    tower.pos = list(TOWER_POS)

    half = cfg.cube_size / 2
    cube = spec.worldbody.add_body(name="cube", pos=list(CUBE_START))
    cube.add_freejoint(name="cube")
    cube.add_geom(
        name="cube", type=mujoco.mjtGeom.mjGEOM_BOX, size=[half] * 3, mass=cfg.cube_mass,
        friction=[cfg.friction, 0.01, 0.001], condim=4, rgba=[0.85, 0.85, 0.8, 1],
    )
    # One coloured mark per face, visual only (no mass, no contacts), so rotation is visible.
    colours = [(0.9, 0.2, 0.2), (0.2, 0.7, 0.2), (0.2, 0.3, 0.9), (0.9, 0.8, 0.1), (0.8, 0.3, 0.8), (0.1, 0.8, 0.8)]
    for i, (axis, sign) in enumerate([(a, s) for a in range(3) for s in (1, -1)]):
        pos = [0.0, 0.0, 0.0]
        pos[axis] = sign * half
        size = [half * 0.6] * 3
        size[axis] = 0.0005
        cube.add_geom(
            type=mujoco.mjtGeom.mjGEOM_BOX, pos=pos, size=size, rgba=[*colours[i], 1],
            contype=0, conaffinity=0, mass=0, group=2,
        )
    # Measurements the task reads every step, computed in C inside mj_step (cheaper than Python).
    X, G, SC = mujoco.mjtObj.mjOBJ_XBODY, mujoco.mjtObj.mjOBJ_GEOM, mujoco.mjtSensor
    spec.add_sensor(name="cube_pos_palm", type=SC.mjSENS_FRAMEPOS, objtype=X, objname="cube",
                    reftype=X, refname="right_palm")
    spec.add_sensor(name="cube_quat_palm", type=SC.mjSENS_FRAMEQUAT, objtype=X, objname="cube",
                    reftype=X, refname="right_palm")
    spec.add_sensor(name="cube_quat", type=SC.mjSENS_FRAMEQUAT, objtype=X, objname="cube")
    spec.add_sensor(name="cube_z", type=SC.mjSENS_FRAMEPOS, objtype=X, objname="cube")
    # 1 while any geom of the hand (the tower's subtree) touches the cube
    spec.add_sensor(name="hand_contact", type=SC.mjSENS_CONTACT, objtype=G, objname="cube",
                    reftype=X, refname="right_tower", intprm=[1, 0, 1])
    spec.worldbody.add_camera(name="below", pos=[0.16, -0.2, 0.17],
                              mode=mujoco.mjtCamLight.mjCAMLIGHT_TARGETBODY, targetbody="cube")
    return spec.compile()


# --------------------------------------------------------------------------------------------
# Task logic: pure functions of poses, unit-tested on their own.
# --------------------------------------------------------------------------------------------

def yaw_increment(quat_prev: np.ndarray, quat_now: np.ndarray) -> float:
    """Rotation about world +z (rad) between two orientations (w, x, y, z).

    The z-component of the relative rotation's rotation vector. Summed step by step it counts
    turns correctly across the +-pi wrap-around that an Euler yaw would jump at.
    """
    inv = np.empty(4)
    rel = np.empty(4)
    mujoco.mju_negQuat(inv, quat_prev)
    mujoco.mju_mulQuat(rel, quat_now, inv)
    rotvec = np.empty(3)
    mujoco.mju_quat2Vel(rotvec, rel, 1.0)
    return float(rotvec[2])


def observation(joint_pos: np.ndarray, joint_vel: np.ndarray, prev_action: np.ndarray, cube_pos_palm: np.ndarray,
                cube_rot_palm: np.ndarray) -> np.ndarray:
    """The policy's observation (OBS_LAYOUT) from its parts; shared with the real hand's env."""
    return np.concatenate([joint_pos, joint_vel, prev_action, cube_pos_palm,
                           np.asarray(cube_rot_palm)[:, :2].T.ravel()]).astype(np.float32)


def is_dropped(cube_z: float, start_z: float, steps_without_contact: int, cfg: CubeTaskConfig) -> bool:
    """A drop: the cube fell below its start height by `drop_height`, or lost the hand too long."""
    return cube_z < start_z - cfg.drop_height or steps_without_contact >= cfg.no_contact_steps


HOLD_BOUND = 0.01  # m: the cube's offset from its start in the palm that still earns the full hold bonus


def task_reward(dyaw: float, action: np.ndarray, prev_action: np.ndarray, power: float,
                offset_error: float, dropped: bool, cfg: CubeTaskConfig) -> float:
    """Signed rotation progress, minus action-rate and energy costs, plus a smooth hold bonus."""
    # inside the bounds the tolerance is exactly 1; skipping dm_control's array code there (most
    # steps) is a third of the env's Python cost per step
    hold = 1.0 if offset_error <= HOLD_BOUND else dm_rewards.tolerance(
        offset_error, bounds=(0.0, HOLD_BOUND), margin=0.03, sigmoid="gaussian")
    return float(
        cfg.rotation_weight * dyaw
        - cfg.action_rate_weight * float(np.sum((action - prev_action) ** 2))
        - cfg.energy_weight * power / cfg.control_hz
        + cfg.hold_weight * hold
        - (cfg.drop_penalty if dropped else 0.0)
    )


class CubePronationEnv(MujocoTaskEnv):
    """Gymnasium env `softflow_bench/CubePronation-v0`. See the module docstring and docs/tasks.md.
    Its controlled joints (joint_ranges, joint_positions) are the 17 hand joints, in hand.JOINT_IDS order."""

    CAMERA = "below"

    def __init__(self, config: CubeTaskConfig | None = None, render_mode: str | None = None, **overrides):
        self.cfg = config or CubeTaskConfig(**overrides)
        super().__init__(render_mode, self.cfg.render_size)
        self.model = build_model(self.cfg)
        self.data = mujoco.MjData(self.model)
        self.substeps = int(round(1.0 / (self.cfg.control_hz * self.model.opt.timestep)))

        m = self.model
        self._qadr = np.array([m.joint(hand.mjcf_joint_name(j)).qposadr[0] for j in hand.JOINT_IDS])
        self._vadr = np.array([m.joint(hand.mjcf_joint_name(j)).dofadr[0] for j in hand.JOINT_IDS])
        self._ranges = hand.joint_ranges(m)
        # hand.denormalize's arithmetic with the range precomputed: step() runs it 20 times a second
        self._lo, self._span = self._ranges[:, 0].copy(), self._ranges[:, 1] - self._ranges[:, 0]
        self._ref = m.qpos0[self._qadr].copy()
        cube_jnt = m.joint("cube")
        self._cube_q = slice(cube_jnt.qposadr[0], cube_jnt.qposadr[0] + 7)
        self._cube_v = slice(cube_jnt.dofadr[0], cube_jnt.dofadr[0] + 6)
        def sensor(name):
            adr, dim = m.sensor(name).adr[0], m.sensor(name).dim[0]
            return slice(adr, adr + dim)

        self._s_pos, self._s_qpalm = sensor("cube_pos_palm"), sensor("cube_quat_palm")
        self._s_quat = sensor("cube_quat")
        self._s_z, self._s_contact = sensor("cube_z").stop - 1, sensor("hand_contact").start
        self._grasp = self._ref.copy()
        for joint_id, q in START_GRASP.items():
            self._grasp[hand.JOINT_IDS.index(joint_id)] = q

        self.action_space = gym.spaces.Box(-1.0, 1.0, (hand.NUM_JOINTS,), np.float32)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32)

    # ---- Gymnasium API ---------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        rng, cfg, m, d = self.np_random, self.cfg, self.model, self.data
        mujoco.mj_resetData(m, d)
        lo, hi = self._ranges[:, 0], self._ranges[:, 1]
        open_pose = np.clip(self._ref + rng.uniform(-1, 1, 17) * cfg.reset_joint_noise, lo, hi)
        grasp = np.clip(self._grasp + rng.uniform(-1, 1, 17) * cfg.reset_joint_noise, lo, hi)
        d.qpos[self._qadr] = open_pose
        cube_q = np.zeros(7)
        cube_q[:3] = np.array(CUBE_START) + [*rng.uniform(-1, 1, 2) * cfg.reset_cube_pos_noise, 0.0]
        yaw = rng.uniform(-1, 1) * cfg.reset_cube_yaw_noise
        cube_q[3:] = [np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)]
        d.qpos[self._cube_q] = cube_q
        # Close the fingers on the cube while it is held in place, then let go and settle.
        ramp_steps, step_block = 450, 5
        for i in range(0, ramp_steps, step_block):
            d.ctrl[:] = open_pose + (grasp - open_pose) * min(1.0, i / 400)
            mujoco.mj_step(m, d, nstep=step_block)
            d.qpos[self._cube_q] = cube_q
            d.qvel[self._cube_v] = 0.0
        d.ctrl[:] = grasp
        mujoco.mj_step(m, d, nstep=50)

        self._start_z = float(d.sensordata[self._s_z])
        self._start_offset = d.sensordata[self._s_pos].copy()
        self._prev_quat = d.sensordata[self._s_quat].copy()
        self._prev_action = hand.normalize(grasp, self._ranges).astype(np.float32)
        self._turns = 0.0
        self._no_contact = 0
        self._steps = 0
        return self._obs(), self._info(dropped=False)

    def step(self, action):
        action = self._checked_action(action)
        m, d, cfg = self.model, self.data, self.cfg
        d.ctrl[:] = self._lo + (action + 1.0) * 0.5 * self._span  # = hand.denormalize (action is clipped)
        mujoco.mj_step(m, d, nstep=self.substeps)
        self._steps += 1

        sensors = d.sensordata
        quat = sensors[self._s_quat].copy()
        dyaw = yaw_increment(self._prev_quat, quat)
        self._prev_quat = quat
        self._turns += dyaw / (2 * np.pi)
        self._no_contact = 0 if sensors[self._s_contact] > 0 else self._no_contact + 1
        dropped = is_dropped(float(sensors[self._s_z]), self._start_z, self._no_contact, cfg)
        power = abs(float(d.actuator_force @ d.qvel[self._vadr]))
        offset_error = float(np.sqrt(((sensors[self._s_pos] - self._start_offset) ** 2).sum()))
        reward = task_reward(dyaw, action, self._prev_action, power, offset_error, dropped, cfg)
        self._prev_action = action
        truncated = self._steps >= cfg.episode_steps and not dropped
        return self._obs(), reward, dropped, truncated, self._info(dropped)

    # ---- what the expert, the tools and the real hand's twin read --------------------------------
    @property
    def turns(self) -> float:
        return self._turns

    @property
    def grasp_pose(self) -> np.ndarray:
        """(17,) the joint targets of this episode's start grasp (rad)."""
        return self._grasp

    @property
    def start_offset(self) -> np.ndarray:
        """The cube's position in the palm frame when the episode started (m)."""
        return self._start_offset

    def cube_in_palm(self) -> tuple[np.ndarray, np.ndarray]:
        """Cube position (m) and rotation matrix in the palm frame (from sensors)."""
        rot = np.empty(9)
        mujoco.mju_quat2Mat(rot, self.data.sensordata[self._s_qpalm])
        return self.data.sensordata[self._s_pos].copy(), rot.reshape(3, 3)

    def _obs(self) -> np.ndarray:
        d = self.data
        rel_pos, rel_rot = self.cube_in_palm()
        obs = observation(d.qpos[self._qadr], d.qvel[self._vadr], self._prev_action, rel_pos, rel_rot)
        if self.cfg.obs_noise > 0:
            noise = self.np_random.normal(0.0, self.cfg.obs_noise, OBS_DIM).astype(np.float32)
            noise[2 * hand.NUM_JOINTS:3 * hand.NUM_JOINTS] = 0.0  # prev_action is known exactly
            obs += noise
        return obs

    def _info(self, dropped: bool) -> dict:
        return {
            "turns": self._turns,
            "dropped": bool(dropped),
            "success": bool(not dropped and self._turns >= self.cfg.success_turns),
        }
