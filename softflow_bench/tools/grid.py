"""Run a grid of runs (tasks x algorithms x seeds) as Ray tasks, on this machine or on a cluster.

    python -m softflow_bench.tools.grid --envs cube_pronation scissors_tape --algos softflow sac \\
        --seeds 0-4 [--tier quick] [--address ADDR] [--storage DIR] [--cpus N] [--retries 2] [-- RUN ARGS]

Each run is `python -m softflow_bench.run` with one thread, in a Ray task that holds one CPU, writing
to its default place under <storage> (default results/runs, where the leaderboard reads):
<env>/<algo>/seed<N> for the quick tier, <env>/<algo>/<tier>/seed<N> for the others, with its log
beside it (seed<N>.log). Without --address a local Ray instance is started for the job (nothing to
set up); with one, the grid runs on that cluster, whose nodes must have this package installed and
--storage on a shared file system. Finished runs are skipped; an interrupted one resumes with the
run's own --resume; a run whose process or worker died is tried again (--retries), resuming. Runs
that would reuse a BC policy not cached yet (the same BC cache key) start once the run training it has
finished.
Every run is checked before the first starts. Arguments after `--` go to every run. Ends with the
failures, each with its log, and exit 1 if there were any.

A finished run that today's defaults (and the given arguments) would no longer make, say after a
family's temperature was chosen, or an interrupted one started by other code than this checkout's
(which run.py will not resume), is listed and skipped; with --rerun-stale it is moved, whole, to
earlier/seed<N>-<its commit> beside it (where the leaderboard does not look; nothing
is deleted) and made again.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from softflow_bench.config import ConfigError, run_place

ROOT = Path(__file__).resolve().parents[2]


class RunFailed(RuntimeError):
    """A run's process ended with an error; Ray tries the task again (it resumes)."""


def seeds(text: list[str]) -> list[int]:
    """'0-4' or '0 2 5' (or both) -> the seeds."""
    out = []
    for part in text:
        lo, dash, hi = part.partition("-")
        if not (lo.isdigit() and (hi.isdigit() or not dash)):
            raise ValueError(f"--seeds takes numbers and ranges like 0-4, got {part!r}")
        if hi and int(hi) < int(lo):
            raise ValueError(f"--seeds: the range {part} is empty")
        out += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return sorted(set(out))


def run_args(env: str, algo: str, seed: int, tier: str, out: Path, extra: list[str]) -> list[str]:
    resume = ["--resume"] if (out / "checkpoint.pt").exists() else []
    return ["--algo", algo, "--env", env, "--tier", tier, "--seed", str(seed), "--threads", "1",
            "--out", str(out), *extra, *resume]


def one_run(env: str, algo: str, seed: int, tier: str, out: str, extra: list[str]) -> dict:
    """The body of a Ray task: the run (resumed if it has a checkpoint), its final evaluation."""
    out_dir = Path(out)
    if (out_dir / "summary.json").exists():  # finished since the grid listed it (another grid, by hand)
        return json.loads((out_dir / "summary.json").read_text())["final"]
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    log = out_dir.parent / f"seed{seed}.log"
    cmd = [sys.executable, "-m", "softflow_bench.run", *run_args(env, algo, seed, tier, out_dir, extra)]
    with open(log, "a") as f:
        code = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                              cwd=ROOT).returncode
    if code != 0:
        raise RunFailed(f"{env}/{algo}/seed{seed} exited with {code}; its log: {log}")
    return json.loads((out_dir / "summary.json").read_text())["final"]


def stale_fields(out: Path, env: str, algo: str, seed: int, tier: str, extra: list[str]) -> list[str]:
    """The fields in which the finished run in `out` differs from the one this grid would start."""
    from softflow_bench.run import differs_from_finished

    return differs_from_finished(out, run_args(env, algo, seed, tier, out, extra))


def bc_order(jobs: list[dict]) -> tuple[list[dict], dict[str, list[dict]]]:
    """The runs to start now, and those waiting for another's BC policy by its cache path (`bc_key`):
    a run whose BC policy is not cached yet waits for the first run that trains and caches it (`writes`),
    so it is trained once. A run that only reads that cache (DSRL reads bc_diffusion's) is never waited
    for, as it does not write it; with no writer in the grid, every such run starts at once and trains
    stage 1 itself. Runs with no BC to share (`bc_key` None: cached already, or no demonstrations)
    start at once."""
    producer = {}
    for job in jobs:
        if job["bc_key"] is not None and job.get("writes", True):
            producer.setdefault(job["bc_key"], id(job))
    first, waiting = [], {}
    for job in jobs:
        if job["bc_key"] in producer and producer[job["bc_key"]] != id(job):
            waiting.setdefault(job["bc_key"], []).append(job)
        else:
            first.append(job)
    return first, waiting


def set_aside(out: Path) -> Path:
    """Move a stale run, finished or interrupted, (and its log) to <algo>/earlier/seed<N>-<commit>;
    returns where it went."""
    record = out / "summary.json" if (out / "summary.json").exists() else out / "provenance.json"
    try:
        commit = json.loads(record.read_text()).get("git_commit", "unknown")[:10]
    except (OSError, json.JSONDecodeError, AttributeError):
        commit = "unknown"
    target = out.parent / "earlier" / f"{out.name}-{commit}"
    n = 1
    while target.exists():  # two stale runs of one commit: keep both
        target, n = out.parent / "earlier" / f"{out.name}-{commit}-{n}", n + 1
    target.parent.mkdir(parents=True, exist_ok=True)
    out.rename(target)
    log = out.parent / f"{out.name}.log"
    if log.exists():
        log.rename(target.parent / f"{target.name}.log")
    return target


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", nargs="+", required=True)
    p.add_argument("--algos", nargs="+", required=True)
    p.add_argument("--seeds", nargs="+", default=["0"], help="e.g. 0-4, or 0 1 2")
    p.add_argument("--tier", default="quick")
    p.add_argument("--address", default=None, help="an existing Ray cluster (default: a local instance for the job)")
    p.add_argument("--storage", type=Path, default=ROOT / "results" / "runs", help="where the runs go")
    p.add_argument("--cpus", type=int, default=None, help="CPUs of the local instance (default: all)")
    p.add_argument("--retries", type=int, default=2, help="times a failed run is tried again, resuming")
    p.add_argument("--rerun-stale", action="store_true",
                   help="move finished runs that today's defaults would not make to <algo>/earlier/ and rerun them")
    args = p.parse_args(own)
    try:
        import ray
    except ImportError:
        print("error: the grid runs on Ray, which is not installed; pip install 'softflow-bench[grid]' "
              "(scripts/setup.sh installs it)", file=sys.stderr)
        return 2
    from softflow_bench.bc_cache import bc_cache_path, bc_source_cache_path
    from softflow_bench.run import started_by_other_code, validated

    try:
        grid_seeds = seeds(args.seeds)
    except ValueError as exc:
        p.error(str(exc))
    jobs, done, stale = [], 0, []
    for env in args.envs:
        for algo in args.algos:
            for seed in grid_seeds:
                out = args.storage / run_place(env, algo, seed, args.tier)
                try:  # every run checked before the first starts: a bad one changes nothing
                    if (out / "summary.json").exists():
                        changed = stale_fields(out, env, algo, seed, args.tier, extra)
                        if not changed:
                            done += 1
                            continue
                        stale.append((out, changed))
                        if not args.rerun_stale:
                            continue
                        # checked as a fresh run: `out` is moved aside only once every run has passed
                        run_argv = run_args(env, algo, seed, args.tier, out.parent / f"{out.name}-rerun", extra)
                    elif (out / "checkpoint.pt").exists() and started_by_other_code(out):
                        stale.append((out, ["code"]))  # interrupted; run.py will not resume it here
                        if not args.rerun_stale:
                            continue
                        run_argv = run_args(env, algo, seed, args.tier, out.parent / f"{out.name}-rerun", extra)
                    else:
                        run_argv = run_args(env, algo, seed, args.tier, out, extra)
                    cfg, _ = validated(run_argv)
                except ConfigError as exc:
                    print(f"error: {env}/{algo}/seed{seed}: {exc}", file=sys.stderr)
                    return 2
                source = bc_source_cache_path(cfg)  # another algorithm's cache this run reads, not writes
                bc = source or bc_cache_path(cfg)  # None: no demonstrations, no BC
                jobs.append({"env": env, "algo": algo, "seed": seed, "out": str(out), "writes": source is None,
                             "bc_key": str(bc) if bc is not None and not bc.exists() else None})
    for out, changed in stale:
        if args.rerun_stale:
            print(f"stale: {out} (made with other {', '.join(changed)}) moved to {set_aside(out)}; running it again")
        else:
            print(f"stale: {out} was made with other {', '.join(changed)} than today's; skipped "
                  f"(--rerun-stale moves it to {out.parent / 'earlier'}/ and runs it again)")
    print(f"{len(jobs)} runs to do, {done} finished already" + (f", {len(stale)} stale" if stale else ""))
    if not jobs:
        return 0
    if args.address:
        ray.init(address=args.address, log_to_driver=False)
    else:
        ray.init(num_cpus=args.cpus or os.cpu_count(), include_dashboard=False, log_to_driver=False)
    task = ray.remote(num_cpus=1, max_retries=args.retries, retry_exceptions=[RunFailed])(one_run)

    def submit(job):
        return task.remote(job["env"], job["algo"], job["seed"], args.tier, job["out"], extra)

    first, waiting = bc_order(jobs)
    pending = {submit(job): job for job in first}
    failures = []
    from tqdm import tqdm

    with tqdm(total=len(jobs), desc="grid") as bar:
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(ref)
            try:
                final = ray.get(ref)
                bar.write(f"done {job['env']}/{job['algo']}/seed{job['seed']}: success {final.get('success_rate')}")
            except Exception as exc:  # the task's own error, after its retries, or a lost worker
                failures.append((job, str(getattr(exc, "cause", None) or exc).strip().splitlines()[-1]))
            bar.update(1)
            # its BC cache is there now (or never will be); only a writer has followers
            for follower in waiting.pop(job["bc_key"], []) if job["writes"] else []:
                pending[submit(follower)] = follower
    ray.shutdown()
    for job, why in failures:
        log = Path(job["out"]).parent / f"seed{job['seed']}.log"
        print(f"failed: {job['env']}/{job['algo']}/seed{job['seed']}: {why} (log: {log})")
    print(f"{len(jobs) - len(failures)} of {len(jobs)} runs finished")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
