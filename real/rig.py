"""A real rig from its config files: the hand's and the arm's YAML (see the `*.example.yaml` files
beside this module), and the RealTaskEnv of a task over the hardware or its twin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from softflow_bench import hand

HAND_DEFAULTS = {"orca_config": None, "flipped": [], "tracker_port": 5005, "tracker_staleness_s": 0.2,
                 "safety_margin": 0.05, "max_step_rad": 0.15, "watchdog_s": 0.5, "max_late_run": 5}
ARM_DEFAULTS = {"host": "172.16.0.2", "home_pose": None, "task_yaw": 0.0,
                "workspace_box": [[-0.05, 0.15], [-0.10, 0.15], [-0.10, 0.05]],
                "orientation_bounds": [[-0.3, 0.3], [-0.3, 0.3], [-0.3, 0.3]],
                "max_step_m": 0.01, "max_step_rad": 0.05, "dynamics_factor": 0.05,
                "collision_torque_nm": 20.0, "collision_force_n": 20.0, "stale_s": 0.1}


def _load(path: Path, defaults: dict) -> dict:
    raw = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    unknown = set(raw) - set(defaults)
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}; known: {sorted(defaults)}")
    return {**defaults, **raw}


def _number(path: Path, cfg: dict, key: str, low: float, high: float = np.inf, integer: bool = False) -> None:
    """Refuse a value that is not a (whole, if `integer`) number in (low, high], NaN and infinity included."""
    v = cfg[key]
    kind = int if integer else (int, float)
    if isinstance(v, bool) or not isinstance(v, kind) or not np.isfinite(v) or not low < v <= high:
        what = "a whole number" if integer else "a number"
        raise ValueError(f"{path}: {key} must be {what} in ({low}, {high}], got {v!r}")


def load_hand_config(path: Path) -> dict:
    """The hand config YAML (real/hand_config.example.yaml), with defaults filled in and checked."""
    cfg = _load(path, HAND_DEFAULTS)
    _number(path, cfg, "tracker_port", -1, 65535, integer=True)  # 0: any free port
    _number(path, cfg, "max_late_run", 0, integer=True)
    for key in ("tracker_staleness_s", "max_step_rad", "watchdog_s"):
        _number(path, cfg, key, 0)
    _number(path, cfg, "safety_margin", -1e-12, 0.49)  # 0 allowed; half the range would leave none
    if not isinstance(cfg["flipped"], list) or not set(cfg["flipped"]) <= set(hand.JOINT_IDS):
        raise ValueError(f"{path}: flipped must be a list of joint names from {list(hand.JOINT_IDS)}, "
                         f"got {cfg['flipped']!r}")
    if cfg["orca_config"] is not None and not Path(str(cfg["orca_config"])).is_file():
        raise ValueError(f"{path}: orca_config {cfg['orca_config']!r} is not a file (null: orca-core's own)")
    return cfg


def load_arm_config(path: Path) -> dict:
    """The arm config YAML (real/arm_config.example.yaml), with defaults filled in and checked."""
    from softflow_bench.envs.scissors_tape import ARM_RANGES

    cfg = _load(path, ARM_DEFAULTS)
    try:
        box = np.asarray(list(cfg["workspace_box"]) + list(cfg["orientation_bounds"]), dtype=float)
    except (TypeError, ValueError):
        box = np.zeros(0)
    if box.shape != (6, 2) or not np.all(np.isfinite(box)) or np.any(box[:, 0] > 0) or np.any(box[:, 1] < 0):
        raise ValueError(f"{path}: workspace_box and orientation_bounds must be 3 [low, high] pairs each, "
                         "finite, with home (0) inside")
    if np.any(box[:, 0] < ARM_RANGES[:, 0]) or np.any(box[:, 1] > ARM_RANGES[:, 1]):
        raise ValueError(f"{path}: the box must lie inside the simulated arm's range {ARM_RANGES.tolist()}")
    for key in ("max_step_m", "max_step_rad", "collision_torque_nm", "collision_force_n", "stale_s"):
        _number(path, cfg, key, 0)
    _number(path, cfg, "dynamics_factor", 0, 1)  # a fraction of the robot's limits
    _number(path, cfg, "task_yaw", -np.pi - 1e-12, np.pi)
    if not isinstance(cfg["host"], str) or not cfg["host"].strip():
        raise ValueError(f"{path}: host must be the robot's address, got {cfg['host']!r}")
    if cfg["home_pose"] is not None:
        try:
            pose = np.asarray(cfg["home_pose"], dtype=float)
        except (TypeError, ValueError):
            pose = np.zeros(0)
        if pose.shape != (7,) or not np.all(np.isfinite(pose)) or np.linalg.norm(pose[3:]) < 1e-6:
            raise ValueError(f"{path}: home_pose is [x, y, z, qw, qx, qy, qz] (finite, a unit quaternion) or null")
    cfg["box"] = box
    return cfg


def home_matrix(pose7) -> np.ndarray:
    """[x, y, z, qw, qx, qy, qz] -> a 4x4 pose."""
    from softflow_bench.real.frames import quat_matrix

    p = np.asarray(pose7, dtype=float)
    out = np.eye(4)
    out[:3, :3] = quat_matrix(p[3:] / np.linalg.norm(p[3:]))
    out[:3, 3] = p[:3]
    return out


def sim_hand_ranges(task: str) -> np.ndarray:
    """The hand's joint ranges (rad, JOINT_IDS order) in the task's simulated model."""
    if task == "scissors_tape":
        from softflow_bench.envs.scissors_tape import build_model
    else:
        from softflow_bench.envs.cube_pronation import build_model
    return hand.joint_ranges(build_model())


def _hardware_parts(task: str, hc: dict, operator, closers: list) -> tuple[tuple, np.ndarray]:
    """The hand through orca-core, the UDP tracker and the operator: (hand, tracker, rewards, resets),
    and the hand's simulated joint ranges. What to close afterwards joins `closers`."""
    import orca_core

    from softflow_bench.real.hardware import OrcaCoreHand, UdpPoseTracker
    from softflow_bench.real.joint_map import JointMap

    ranges = sim_hand_ranges(task)
    driver = orca_core.OrcaHand(config_path=hc["orca_config"])
    joint_map = JointMap(ranges, {k: tuple(v) for k, v in driver.config.joint_roms_dict.items()},
                         frozenset(hc["flipped"]))
    hand_ = OrcaCoreHand(driver, joint_map)
    tracker = UdpPoseTracker(hc["tracker_port"], hc["tracker_staleness_s"])
    closers += [tracker.close, hand_.disable_torque, hand_.disconnect]
    return (hand_, tracker, operator, operator), ranges


def build_env(task: str, twin: bool, hc: dict, ac: dict | None, recorder, seed: int, out: Path,
              episode_steps: int | None = None):
    """(the task's RealTaskEnv, its watchdog, what to close afterwards, in order). With `twin`, the cube
    is the MuJoCo scene; the scissors are the MuJoCo scene with franky-sim, started here, as the arm."""
    from softflow_bench.real.env import RealHandEnv
    from softflow_bench.real.safety import SafetyFilter, Watchdog

    overrides = {} if episode_steps is None else {"episode_steps": episode_steps}
    closers = []
    try:
        if task == "cube_pronation":
            from softflow_bench.envs.cube_pronation import CubeTaskConfig

            if twin:
                from softflow_bench.real.twin import TwinScene

                scene = TwinScene(seed=seed, **overrides)
                parts, ranges = (scene, scene, scene, scene), scene.env.joint_ranges
                closers.append(scene.disconnect)
            else:
                from softflow_bench.real.hardware import TerminalOperator

                parts, ranges = _hardware_parts(task, hc, TerminalOperator(), closers)
            parts[0].connect()
            env = RealHandEnv(*parts, ranges=ranges, recorder=recorder,
                              safety=SafetyFilter(ranges, hc["safety_margin"], hc["max_step_rad"]),
                              realtime=not twin, task=CubeTaskConfig(**overrides), max_late_run=hc["max_late_run"])
        else:
            env = _scissors_env(twin, hc, ac, recorder, seed, out, overrides, closers)
    except BaseException:
        for close in closers:
            close()
        raise
    watchdog = Watchdog(hc["watchdog_s"], env.hand.disable_torque)
    env.watchdog = watchdog
    return env, watchdog, closers


def _scissors_env(twin, hc, ac, recorder, seed, out, overrides, closers):
    from softflow_bench.envs.scissors_tape import ScissorsTaskConfig
    from softflow_bench.real.arm import ArmPoseMap, FrankyArm, FrankySimProcess
    from softflow_bench.real.frames import axis_rotation
    from softflow_bench.real.safety import SafetyFilter
    from softflow_bench.real.scissors_env import RealScissorsEnv, arm_safety

    host = ac["host"]
    if twin:
        server = FrankySimProcess(Path(out) / "franky_sim.log")
        closers.append(server.stop)
        host = server.address
    arm = FrankyArm(host, ac["dynamics_factor"], ac["collision_torque_nm"], ac["collision_force_n"],
                    realtime=not twin, stale_s=ac["stale_s"])
    arm.connect()
    closers.insert(0, arm.disconnect)  # the arm stops before its server goes
    home = arm.pose() if ac["home_pose"] is None else home_matrix(ac["home_pose"])
    arm_map = ArmPoseMap(home, axis_rotation(2, ac["task_yaw"]))
    if twin:
        from softflow_bench.real.twin import ScissorsTwinScene

        scene = ScissorsTwinScene(arm, arm_map, seed=seed, **overrides)
        parts, ranges = (scene, scene, scene, scene), scene.env.joint_ranges[6:]
        closers.append(scene.disconnect)
    else:
        from softflow_bench.real.hardware import ScissorsOperator

        parts, ranges = _hardware_parts("scissors_tape", hc, ScissorsOperator(), closers)
    parts[0].connect()
    steps = np.array([ac["max_step_m"]] * 3 + [ac["max_step_rad"]] * 3)
    # the twin keeps real time too: franky-sim's arm moves in it
    return RealScissorsEnv(parts[0], arm, arm_map, arm_safety(ac["box"], steps), *parts[1:], ranges=ranges,
                           recorder=recorder, safety=SafetyFilter(ranges, hc["safety_margin"], hc["max_step_rad"]),
                           realtime=True, task=ScissorsTaskConfig(**overrides), max_late_run=hc["max_late_run"])
