"""Train and evaluate one algorithm on one task.

    python -m softflow_bench.run --algo softflow --env cube_pronation [--seed 0] [--tier quick]
        [--out DIR] [--device auto] [--resume] [--video]

Writes to --out (default results/runs/<env>/<algo>/seed<N>/ for the quick tier, <env>/<algo>/<tier>/seed<N>/
for the others): config.json, checkpoint.pt (+ the online replay buffer), bc_policy.pt, final_policy.pt,
metrics.jsonl, TensorBoard events in tb/, and summary.json. `python -m softflow_bench.run --help` lists every field.
"""

from __future__ import annotations

import fcntl
import json
import sys
from dataclasses import asdict
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from softflow_bench.algos import ALGORITHMS
from softflow_bench.bc_cache import bc_cache_path, bc_source_cache_path
from softflow_bench.config import (
    ConfigError,
    RunConfig,
    device_type,
    parse_args,
    resolve,
    saved_config,
    saved_form,
    unread_fields,
)
from softflow_bench.envs import ENV_IDS
from softflow_bench.offline import demonstrations, mode_classifier, offline_chunks
from softflow_bench.records import provenance, run_code_fingerprint, write_summary


def demos_envs() -> tuple[str, ...]:
    from softflow_bench.demos import EXPERT_ENVS

    return EXPERT_ENVS


def resolve_env(name: str) -> str:
    """Short name or registered Gymnasium id -> id; refuses other spaces than Box."""
    env_id = ENV_IDS.get(name, name)
    if env_id not in gym.registry:
        raise ConfigError(f"unknown env {name!r}; choose one of {sorted(ENV_IDS)} or a registered Gymnasium id")
    env = gym.make(env_id)
    try:
        for space in (env.observation_space, env.action_space):
            if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
                raise ConfigError(f"env {env_id!r} needs flat Box observation and action spaces, has {space}")
        if not np.all(np.isfinite(env.action_space.low)) or not np.all(np.isfinite(env.action_space.high)):
            raise ConfigError(f"env {env_id!r} has an unbounded action space; chunks live in [-1, 1]")
    finally:
        env.close()
    return env_id


def run_device(name: str) -> torch.device:
    """--device: auto (CUDA when there is one), cpu or cuda."""
    name = device_type(name, torch.cuda.is_available())
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: CUDA is not available here; use auto or cpu")
    return torch.device(name)


def checkpoint_device(path: Path) -> str:
    """The device type a checkpoint was trained on (every checkpoint of this format records it)."""
    try:
        device = torch.load(path, map_location="cpu", weights_only=True, mmap=True).get("device")
    except (RuntimeError, OSError, EOFError, AttributeError) as exc:
        raise ConfigError(f"--resume: {path} is not a readable checkpoint ({exc})") from None
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"--resume: {path} names no device it was trained on (device={device!r}): "
                          f"not a checkpoint of this softflow-bench; start the run again in a new --out")
    return device


def changed_on_resume(saved: dict, cfg: RunConfig) -> list[str]:
    """The fields in which a resumed run's config differs from the one it was started with (its
    config.json), each with both values. A field the run was saved without takes its default
    (saved_config), and fields the algo never reads do not count (config.unread_fields)."""
    before = asdict(saved_config(saved))
    ignored = {"resume", "video", "device", "out", *unread_fields(cfg.algo)}  # a moved run resumes
    return [f"{k} (saved {before[k]!r}, now {v!r})" for k, v in sorted(asdict(cfg).items())
            if k not in ignored and before[k] != v]


def differs_from_finished(out: Path, argv: list[str]) -> list[str]:
    """The fields in which the finished run in `out` (its summary.json) differs from the run `argv`
    would make today, each with both values; a tool that reuses finished runs checks this first."""
    cfg, given = parse_args(argv)
    cfg = resolve(cfg, given)
    try:
        return changed_on_resume(json.loads((out / "summary.json").read_text())["config"], cfg)
    except (ConfigError, KeyError, TypeError, ValueError) as exc:  # another format, or no config kept
        return [f"a config this version cannot compare ({type(exc).__name__}: {exc})"]


def started_code(out: Path) -> dict | None:
    """The run's provenance.json (its commit and code fingerprint), or None where it kept none (a run
    from before code fingerprints were recorded, whose code cannot be compared)."""
    try:
        origin = json.loads((out / "provenance.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return origin if isinstance(origin, dict) and isinstance(origin.get("code"), str) else None


def started_by_other_code(out: Path) -> dict | None:
    """The provenance.json of the run in `out` where code other than this checkout's started it (by
    the code fingerprint it keeps); None where this code did, or where it kept no fingerprint."""
    started_with = started_code(out)
    return started_with if started_with is not None and started_with["code"] != run_code_fingerprint() else None


def refuse_resume_by_other_code(out: Path) -> None:
    """Raise ConfigError where the run in `out` was started by other code than this checkout's:
    resumed here it would be made by two versions and remade by neither."""
    other = started_by_other_code(out)
    if other is not None:
        commit = str(other.get("git_commit"))[:10]
        raise ConfigError(f"--resume: the run in {out} was started by other code than this checkout's (commit "
                          f"{commit}); resumed here it would be made by two versions and remade by neither: "
                          f"resume it from a checkout of that commit, or start it again in a new --out")


def validated(argv=None) -> tuple[RunConfig, str]:
    """The run a command line asks for, checked in full before anything is written: its resolved
    config and Gymnasium id. Raises ConfigError (argparse itself exits on malformed flags)."""
    cfg, given = parse_args(argv)
    cfg = resolve(cfg, given)
    env_id = resolve_env(cfg.env)
    out = Path(cfg.out)
    if (out / "checkpoint.pt").exists() and not cfg.resume:
        raise ConfigError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    if cfg.resume and not (out / "checkpoint.pt").exists():
        raise ConfigError(f"--resume: no checkpoint in {out}")
    if cfg.resume:
        try:
            saved = json.loads((out / "config.json").read_text())
            saved_config(saved)
        except ConfigError as exc:
            raise ConfigError(f"--resume: {out / 'config.json'}: {exc}") from None
        except (OSError, json.JSONDecodeError, TypeError, AttributeError) as exc:
            raise ConfigError(f"--resume: {out / 'config.json'} is not a run's config ({type(exc).__name__}: {exc}); "
                              f"start the run again in a new --out") from None
        changed = changed_on_resume(saved, cfg)
        if changed:
            raise ConfigError(f"--resume with a different config than the run in {out}: {', '.join(changed)}")
        refuse_resume_by_other_code(out)
        made_on, here = checkpoint_device(out / "checkpoint.pt"), run_device(cfg.device).type
        if made_on != here:  # its random generator's state only fits a generator of that device
            raise ConfigError(f"--resume: the run in {out} was trained on {made_on}, this one would run on "
                              f"{here}; resume it with --device {made_on}")
    if ALGORITHMS[cfg.algo].imitation_only and (cfg.env not in demos_envs() or cfg.demo_episodes == 0):
        raise ConfigError(f"--algo {cfg.algo} imitates demonstrations; {cfg.env} has none here "
                          f"(tasks with an expert: {list(demos_envs())})")
    run_device(cfg.device)
    return cfg, env_id


def main(argv=None) -> int:
    try:
        cfg, env_id = validated(argv)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(cfg.out)

    from softflow_bench.learner import Learner, TrainingDiverged, UnreadableCheckpoint
    from softflow_bench.rollout import EVAL_SEED_BASE

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = run_device(cfg.device)
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = open(out / ".lock", "a")
    except OSError as exc:
        print(f"error: --out {out} cannot be created or written ({exc.strerror}); choose another --out",
              file=sys.stderr)
        return 2
    try:  # one run per directory: a second one started on it would write into the first's files
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"error: another run is using {out}; wait for it or choose another --out", file=sys.stderr)
        return 2
    from softflow_bench.demos import DatasetError

    try:  # before anything is written into the run's directory
        dataset = demonstrations(cfg)
        offline = offline_chunks(cfg, dataset=dataset)
        validation = offline_chunks(cfg, split="validation", dataset=dataset)
        modes = mode_classifier(cfg, dataset)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    learner = Learner(cfg, env_id, offline, out, device, bc_cache=bc_cache_path(cfg, device.type),
                      validation=validation, modes=modes, bc_source=bc_source_cache_path(cfg, device.type))
    if cfg.resume:
        try:
            learner.load()
        except UnreadableCheckpoint as exc:
            print(f"error: --resume: {exc}; start the run again in a new --out", file=sys.stderr)
            return 2
    (out / "config.json").write_text(json.dumps({**saved_form(cfg), "env_id": env_id}, indent=1))
    # the code that starts the run (a resumed run keeps the commit it was started with)
    started_with = out / "provenance.json"
    if not (cfg.resume and started_with.exists()):
        started_with.write_text(json.dumps(provenance(), indent=1))
    origin = json.loads(started_with.read_text())
    print(f"{cfg.algo} on {env_id}, tier {cfg.tier}, seed {cfg.seed}, device {device} -> {out}")
    if cfg.resume:
        print(f"resumed at stage {learner.state['stage']} step {learner.state['stage_step']}, "
              f"{learner.state['online_episodes']} online episodes")
    try:
        state = learner.run()
    except TrainingDiverged as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    if cfg.video:
        import imageio

        episode = learner.run_episode(EVAL_SEED_BASE, cfg.temperature, render=True)  # eval episode 0
        imageio.mimwrite(out / "eval.mp4", episode.frames, fps=20)
    summary = write_summary(out, cfg, env_id, origin, state)
    final = summary["final"] or {}
    print("final: " + ", ".join(f"{k} {v:.3f}" for k, v in final.items() if isinstance(v, float)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
