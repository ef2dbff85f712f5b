"""The worked example of docs/development.md: a task added in one module plus one registration.

A slider on a rail (MuJoCo, built with MjSpec) must end within 2 cm of a goal drawn at reset; the
action is the slider's position target. Its expert drives the target to the goal along one of two
routes (straight there, or overshooting first), so its demonstrations have two modes. Registered by

    register("slider_reach", Task("example/SliderReach-v0", "example_task:SliderReachEnv",
                                  (("distance", "distance_mean"),),
                                  ExpertSpec("slider-v1", "example_task", "SliderExpert", "example_task")))

and from then on the CLI, the demonstrations and the learner run it like the built-in tasks.
"""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np

STEPS = 40
RAIL = 0.5  # the slider moves in [-RAIL, RAIL] (m)


def build_model() -> mujoco.MjModel:
    """Physics: a 1 kg slider on a frictionless rail under a position servo."""
    spec = mujoco.MjSpec()
    spec.option.timestep = 0.005
    body = spec.worldbody.add_body(name="slider")
    body.add_joint(name="rail", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[1, 0, 0], range=[-RAIL, RAIL],
                   limited=mujoco.mjtLimited.mjLIMITED_TRUE, damping=5.0)
    body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.02, 0.02, 0.02], mass=1.0)
    actuator = spec.add_actuator(name="servo", target="rail", trntype=mujoco.mjtTrn.mjTRN_JOINT)
    actuator.set_to_position(kp=200.0)
    actuator.ctrlrange = [-RAIL, RAIL]
    return spec.compile()


class SliderReachEnv(gym.Env):
    """Task: observation (position, velocity, goal, time left); success within 2 cm at the end."""

    metadata = {"render_modes": []}
    observation_space = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, render_mode: str | None = None):
        self.render_mode = render_mode
        self.model = build_model()
        self.data = mujoco.MjData(self.model)

    def _obs(self) -> np.ndarray:
        return np.array([self.data.qpos[0], self.data.qvel[0], self.goal, 1 - self.t / STEPS], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        mujoco.mj_resetData(self.model, self.data)
        self.goal, self.t = float(self.np_random.uniform(-0.3, 0.3)), 0
        return self._obs(), self._info()

    def step(self, action):
        self.data.ctrl[0] = RAIL * float(np.clip(action[0], -1, 1))
        mujoco.mj_step(self.model, self.data, nstep=10)
        self.t += 1
        info = self._info()
        return self._obs(), -info["distance"], False, self.t >= STEPS, info

    def _info(self) -> dict:
        """The same keys at reset as at every step (the demonstrations record them all)."""
        distance = abs(float(self.data.qpos[0]) - self.goal)
        return {"distance": distance, "success": bool(self.t >= STEPS and distance < 0.02)}


class SliderExpert:
    """Drives the target to the goal, straight or after an overshoot (the two modes)."""

    MODES = ("straight", "overshoot")

    def __init__(self, env, rng: np.random.Generator):
        self.env, self.rng = env.unwrapped, rng

    def reset(self, mode: str | None = None) -> str:
        self.mode = mode or self.MODES[int(self.rng.integers(2))]
        return self.mode

    def act(self) -> np.ndarray:
        goal = self.env.goal
        early = self.env.t < STEPS // 3
        target = goal + (0.15 * np.sign(goal or 1.0) if self.mode == "overshoot" and early else 0.0)
        return np.clip([target / RAIL + 0.01 * self.rng.standard_normal()], -0.99, 0.99).astype(np.float32)
