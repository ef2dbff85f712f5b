"""SOFT-FLOW's online stage on the ORCA hand (or its MuJoCo twin), from a simulation checkpoint.

    python -m softflow_bench.real.finetune --checkpoint results/runs/cube_pronation/softflow/seed0/final_policy.pt \\
        --task cube_pronation --hand-config real/hand_config.example.yaml [--twin] [--out DIR] [--resume]

The checkpoint's own config is used (same policy, critic, chunk, N, temperature); replay mixes the
task's simulated demonstrations with the new real episodes, as in stage 4. Checkpoints and the
replay buffer are written after every episode and every episode is recorded (real/recorder.py), so
`--resume` continues after an interruption. Ctrl-C is an emergency stop: torque off, the episode in
progress saved, exit code 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
from pathlib import Path

import numpy as np
import torch
import yaml

from softflow_bench import hand
from softflow_bench.config import saved_config

TASKS = ("cube_pronation",)
PAPER_EPISODES = {"cube_pronation": 58}  # method.md: 58 trajectories in 105 minutes


def load_hand_config(path: Path) -> dict:
    """The hand config YAML (see real/hand_config.example.yaml), with defaults filled in."""
    raw = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    known = {"orca_config", "flipped", "tracker_port", "tracker_staleness_s", "safety_margin", "max_step_rad",
             "watchdog_s", "max_late_run"}
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    return {"orca_config": None, "flipped": [], "tracker_port": 5005, "tracker_staleness_s": 0.2,
            "safety_margin": 0.05, "max_step_rad": 0.15, "watchdog_s": 0.5, "max_late_run": 5, **raw}


def build_env(args, hc: dict, recorder, seed: int):
    """The RealHandEnv over the twin or the hardware, its watchdog and what to close afterwards."""
    from softflow_bench.real.env import RealHandEnv
    from softflow_bench.real.safety import SafetyFilter, Watchdog

    if args.twin:
        from softflow_bench.real.twin import TwinScene

        scene = TwinScene(seed=seed)
        parts, ranges, closers = (scene, scene, scene, scene), scene.env._ranges, [scene.disconnect]
    else:
        import orca_core

        from softflow_bench.real.hardware import OrcaCoreHand, TerminalOperator, UdpPoseTracker
        from softflow_bench.real.joint_map import JointMap

        driver = orca_core.OrcaHand(config_path=hc["orca_config"])
        ranges = sim_ranges()
        joint_map = JointMap(ranges, {k: tuple(v) for k, v in driver.config.joint_roms_dict.items()},
                             frozenset(hc["flipped"]))
        hand_ = OrcaCoreHand(driver, joint_map)
        tracker = UdpPoseTracker(hc["tracker_port"], hc["tracker_staleness_s"])
        operator = TerminalOperator()
        parts, closers = (hand_, tracker, operator, operator), [tracker.close, hand_.disable_torque, hand_.disconnect]
    parts[0].connect()
    safety = SafetyFilter(ranges, hc["safety_margin"], hc["max_step_rad"])
    env = RealHandEnv(*parts, ranges=ranges, recorder=recorder, safety=safety, realtime=not args.twin,
                      max_late_run=hc["max_late_run"])
    watchdog = Watchdog(hc["watchdog_s"], parts[0].disable_torque)
    env.watchdog = watchdog
    return env, watchdog, closers


def sim_ranges() -> np.ndarray:
    from softflow_bench.envs.cube_pronation import build_model

    return hand.joint_ranges(build_model())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m softflow_bench.real.finetune", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, type=Path, help="a bc_policy.pt/final_policy.pt of a sim run")
    p.add_argument("--task", required=True, help=f"one of {list(TASKS)}")
    p.add_argument("--hand-config", required=True, type=Path, help="hand config YAML")
    p.add_argument("--twin", action="store_true", help="run on the MuJoCo digital twin instead of the hand")
    p.add_argument("--out", type=Path, default=None, help="default results/real/<task>/<twin|hand>")
    p.add_argument("--episodes", type=int, default=None, help="online episodes (default: the paper's budget)")
    p.add_argument("--eval-episodes", type=int, default=5, help="episodes in the final evaluation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)

    def fail(msg: str) -> int:
        print(f"error: {msg}", file=sys.stderr)
        return 2

    if args.task not in TASKS:
        return fail(f"unknown task {args.task!r}; choose one of {list(TASKS)} (scissors_tape needs the arm, "
                    "which real/ does not drive yet)")
    if not args.checkpoint.is_file():
        return fail(f"no checkpoint at {args.checkpoint}")
    try:
        hc = load_hand_config(args.hand_config)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        return fail(f"hand config: {exc}")
    try:
        ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
        saved = json.loads(ckpt["config"])
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same clear message
        return fail(f"{args.checkpoint} is not a softflow_bench policy checkpoint ({exc})")
    if saved.get("env") != args.task:
        return fail(f"{args.checkpoint} was trained on {saved.get('env')!r}, not {args.task!r}")
    episodes = PAPER_EPISODES[args.task] if args.episodes is None else args.episodes
    if episodes < 1 or args.eval_episodes < 1:
        return fail("--episodes and --eval-episodes must be at least 1")
    out = args.out or Path("results/real") / args.task / ("twin" if args.twin else "hand")
    if (out / "checkpoint.pt").exists() and not args.resume:
        return fail(f"{out} already holds a run; pass --resume to continue it")
    if args.resume and not (out / "checkpoint.pt").exists():
        return fail(f"--resume: no checkpoint in {out}")

    from softflow_bench.learner import Learner
    from softflow_bench.real.recorder import EpisodeRecorder
    from softflow_bench.run import offline_chunks

    cfg = dataclasses.replace(saved_config(saved), seed=args.seed,
                              online_episodes=episodes, eval_episodes=args.eval_episodes,
                              final_eval_episodes=args.eval_episodes, eval_every=episodes,
                              out=str(out), resume=args.resume, video=False)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps({**dataclasses.asdict(cfg), "checkpoint": str(args.checkpoint),
                                                 "twin": args.twin, "hand_config": hc}, indent=1))
    recorder = EpisodeRecorder(out / "episodes")
    env, watchdog, closers = build_env(args, hc, recorder, args.seed)
    learner = Learner(cfg, f"real:{args.task}", offline_chunks(cfg), out, torch.device("cpu"), env=env)
    if args.resume:
        learner.load()
    else:
        learner.agent.load_state_dict(ckpt["agent"])
        learner.state["stage"] = "online"
    print(f"fine-tuning {args.checkpoint} on the {'twin' if args.twin else 'ORCA hand'}: {episodes} episodes "
          f"-> {out} (episodes recorded in {out / 'episodes'})")
    # Ctrl-C is the emergency stop whatever started us: a shell that runs a command in the
    # background hands it SIGINT ignored, and Python then installs no KeyboardInterrupt handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with watchdog:
            state = learner.run()
    except KeyboardInterrupt:
        env.emergency_stop()
        print(f"\nemergency stop: torque off; {recorder.next_index()} episodes saved in {out / 'episodes'}; "
              f"continue with --resume", file=sys.stderr)
        return 130
    finally:
        for close in closers:
            close()
    if watchdog.trips:
        print(f"warning: the watchdog disabled torque {watchdog.trips} times (commands stopped arriving in time)")
    final = state["curve"][-1]
    (out / "summary.json").write_text(json.dumps({"task": args.task, "twin": args.twin, "online_episodes":
                                                  state["online_episodes"], "curve": state["curve"],
                                                  "final": final}, indent=1))
    print("final: " + ", ".join(f"{k} {v:.3f}" for k, v in final.items() if isinstance(v, float)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
