"""SOFT-FLOW's online stage on the ORCA hand (and, for the scissors, the Franka arm), or on their
twins, from a simulation checkpoint.

    python -m softflow_bench.real.finetune --checkpoint results/runs/cube_pronation/softflow/seed0/final_policy.pt \\
        --task cube_pronation --hand-config real/hand_config.example.yaml [--twin] [--out DIR] [--resume]
    python -m softflow_bench.real.finetune --checkpoint results/runs/scissors_tape/softflow/seed0/final_policy.pt \\
        --task scissors_tape --hand-config real/hand_config.example.yaml \\
        --arm-config real/arm_config.example.yaml [--twin] [--out DIR] [--resume]

With --twin the cube runs on its MuJoCo scene; the scissors on theirs, with franky-sim (a Franka
simulator serving libfranka's protocol on the loopback address, started here) as the arm.

The checkpoint's own config is used (same policy, critic, chunk, N, temperature); replay mixes the
task's simulated demonstrations with the new real episodes, as in stage 4. Checkpoints and the
replay buffer are written after every episode and every episode is recorded (real/recorder.py), so
`--resume` continues after an interruption (under the code that started it, as run.py's). Ctrl-C
is an emergency stop: torque off, the episode in progress saved, exit code 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
from pathlib import Path

import torch
import yaml

from softflow_bench.config import ConfigError, saved_config, saved_form
from softflow_bench.real.interfaces import ArmFault
from softflow_bench.real.rig import build_env, load_arm_config, load_hand_config

TASKS = ("cube_pronation", "scissors_tape")
#: method.md: the cube's 58 trajectories in 105 minutes; the scissors' cut rate 0 -> 0.7 after 50
PAPER_EPISODES = {"cube_pronation": 58, "scissors_tape": 50}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m softflow_bench.real.finetune", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, type=Path, help="a bc_policy.pt/final_policy.pt of a sim run")
    p.add_argument("--task", required=True, help=f"one of {list(TASKS)}")
    p.add_argument("--hand-config", required=True, type=Path, help="hand config YAML")
    p.add_argument("--arm-config", type=Path, default=None, help="arm config YAML (scissors_tape)")
    p.add_argument("--twin", action="store_true", help="run on the digital twins instead of the hardware")
    p.add_argument("--out", type=Path, default=None, help="default results/real/<task>/<twin|hand>")
    p.add_argument("--episodes", type=int, default=None, help="online episodes (default: the paper's budget)")
    p.add_argument("--eval-episodes", type=int, default=5, help="episodes in the final evaluation")
    p.add_argument("--episode-steps", type=int, default=None, help="steps per episode (default: the task's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)

    def fail(msg: str) -> int:
        print(f"error: {msg}", file=sys.stderr)
        return 2

    if args.task not in TASKS:
        return fail(f"unknown task {args.task!r}; choose one of {list(TASKS)}")
    if not args.checkpoint.is_file():
        return fail(f"no checkpoint at {args.checkpoint}")
    try:
        hc = load_hand_config(args.hand_config)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        return fail(f"hand config: {exc}")
    ac = None
    if args.task == "scissors_tape":
        if args.arm_config is None:
            return fail("scissors_tape drives the arm too: give --arm-config (see real/arm_config.example.yaml)")
        try:
            ac = load_arm_config(args.arm_config)
        except (OSError, ValueError, TypeError, yaml.YAMLError) as exc:
            return fail(f"arm config: {exc}")
    try:
        ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
        saved = json.loads(ckpt["config"])
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same clear message
        return fail(f"{args.checkpoint} is not a softflow_bench policy checkpoint ({exc})")
    if saved.get("env") != args.task:
        return fail(f"{args.checkpoint} was trained on {saved.get('env')!r}, not {args.task!r}")
    try:
        policy_cfg = saved_config(saved)
    except ConfigError as exc:
        return fail(f"{args.checkpoint}: {exc}")
    episodes = PAPER_EPISODES[args.task] if args.episodes is None else args.episodes
    if episodes < 1 or args.eval_episodes < 1 or (args.episode_steps is not None and args.episode_steps < 1):
        return fail("--episodes, --eval-episodes and --episode-steps must be at least 1")
    out = args.out or Path("results/real") / args.task / ("twin" if args.twin else "hand")
    if (out / "checkpoint.pt").exists() and not args.resume:
        return fail(f"{out} already holds a run; pass --resume to continue it")
    if args.resume and not (out / "checkpoint.pt").exists():
        return fail(f"--resume: no checkpoint in {out}")
    if args.resume:
        from softflow_bench.run import refuse_resume_by_other_code

        try:
            refuse_resume_by_other_code(out)
        except ConfigError as exc:
            return fail(str(exc))

    from softflow_bench.learner import Learner
    from softflow_bench.offline import offline_chunks
    from softflow_bench.real.recorder import EpisodeRecorder
    from softflow_bench.records import provenance, write_summary

    cfg = dataclasses.replace(policy_cfg, seed=args.seed,
                              online_episodes=episodes, eval_episodes=args.eval_episodes,
                              final_eval_episodes=args.eval_episodes, eval_every=episodes,
                              out=str(out), resume=args.resume, video=False)
    out.mkdir(parents=True, exist_ok=True)
    # the code that fine-tunes (the checkpoint keeps its own run's); a resumed run keeps its start's
    started_with = out / "provenance.json"
    if not (args.resume and started_with.exists()):
        started_with.write_text(json.dumps(provenance(), indent=1))
    (out / "config.json").write_text(json.dumps({**saved_form(cfg), "checkpoint": str(args.checkpoint),
                                                 "twin": args.twin, "hand_config": hc,
                                                 "episode_steps": args.episode_steps,
                                                 "arm_config": ac and {k: v for k, v in ac.items() if k != "box"}},
                                                indent=1))
    recorder = EpisodeRecorder(out / "episodes")
    try:
        env, watchdog, closers = build_env(args.task, args.twin, hc, ac, recorder, args.seed, out, args.episode_steps)
    except ArmFault as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    learner = Learner(cfg, f"real:{args.task}", offline_chunks(cfg), out, torch.device("cpu"), env=env)
    if args.resume:
        learner.load()
    else:
        learner.agent.load_state_dict(ckpt["agent"])
        learner.state["stage"] = "online"
    rig = "twin" if args.twin else ("ORCA hand" if args.task == "cube_pronation" else "ORCA hand and Franka arm")
    print(f"fine-tuning {args.checkpoint} on the {rig}: {episodes} episodes "
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
    except ArmFault as exc:
        print(f"error: {exc}; {recorder.next_index()} episodes saved in {out / 'episodes'}; once the arm answers "
              f"again (recovered, or the robot restarted) continue with --resume", file=sys.stderr)
        return 1
    finally:
        for close in closers:
            close()
    if watchdog.trips:
        print(f"warning: the watchdog disabled torque {watchdog.trips} times (commands stopped arriving in time)")
    origin = json.loads(started_with.read_text())
    final = write_summary(out, cfg, f"real:{args.task}", origin, state, task=args.task, twin=args.twin,
                          checkpoint=str(args.checkpoint))["final"]
    print("final: " + ", ".join(f"{k} {v:.3f}" for k, v in final.items() if isinstance(v, float)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
