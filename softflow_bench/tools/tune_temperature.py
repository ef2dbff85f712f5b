"""Choose a policy's acting temperature on validation episodes: the one sampling protocol.

    python -m softflow_bench.tools.tune_temperature RUN_DIR [RUN_DIR ...] --name NAME \\
        [--policy bc_policy.pt] [--temperatures 0.05 0.1 0.2 0.3 0.5 0.7 1.0] [--episodes 50]

Every policy family gets the same search: the same grid of temperatures (a flow's or Gaussian's
base-noise scale; a diffusion policy's scale of DDIM's starting noise) and the same number of
episodes per value, on the validation seeds 2,000,000 + i that no evaluation uses. Each run is
acted with its own saved config (candidates, chunk) but the temperature.

Two choices come out of one search. Acting (evaluation): the temperature with the highest mean
success over the given runs (ties: the higher mean return). Exploring (the online stage): the
highest temperature whose mean success is still at least EXPLORE_KEEP of the best, so online
episodes are as varied as the policy allows without failing much more often than it acts (and
never below the acting temperature). Writes results/sweeps/NAME.md and .json, the command at the top;
each row keeps its episodes (`episode_records`), so `softflow_bench.tools.paired` can compare two
searches start by start. Each finished (run, temperature) is appended to NAME.partial.jsonl as it
ends: the same command, interrupted, resumes from there (a row is reused only for the same policy
file, bit for bit, and the same number of episodes).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shlex
import sys
from pathlib import Path

import numpy as np

from softflow_bench.envs import METRIC_NAMES
from softflow_bench.tools.evaluate import agent_of_run, load_run, wilson_interval

RESULTS = Path(__file__).resolve().parents[2] / "results" / "sweeps"
GRID = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
#: The exploring temperature keeps at least this fraction of the best validation success.
EXPLORE_KEEP = 0.9


def policy_digest(run: Path, policy: str) -> str:
    """A short hash of a run's policy file: a resumed search reuses rows of this very policy only."""
    return hashlib.sha256((run / policy).read_bytes()).hexdigest()[:16]


def sweep_run(run: Path, loaded, temperatures, episodes: int, done: dict[float, dict], save) -> list[dict]:
    """One row per temperature for one run's policy (`loaded` = evaluate.load_run's result); rows in
    `done` (by temperature) are reused, each new one is passed to `save` as soon as it is made."""
    import torch

    from softflow_bench.rollout import VALIDATION_SEED_BASE, evaluate_policy

    cfg, env_id, state, commit = loaded
    agent, env = agent_of_run(cfg, env_id, state)
    rows = []
    for t in temperatures:
        if t in done:
            rows.append(done[t])
            print(f"{run} T={t}: success {done[t]['success_rate']:.3f} (kept from the interrupted search)")
            continue
        # a generator seeded per value: a row does not depend on which other values were swept
        gen = torch.Generator().manual_seed(cfg.seed)
        metrics, records = evaluate_policy(env, agent, dataclasses.replace(cfg, temperature=t), gen, episodes,
                                           desc=f"{run.name} T={t}", seed_base=VALIDATION_SEED_BASE)
        successes = round(metrics["success_rate"] * episodes)
        row = {"run": str(run), "env": cfg.env, "algo": cfg.algo, "seed": cfg.seed, "temperature": t,
               "episodes": episodes, "candidates": cfg.candidates, "git_commit": commit, **metrics,
               "success_ci95": wilson_interval(successes, episodes), "episode_records": records}
        save(row)
        rows.append(row)
        print(f"{run} T={t}: success {metrics['success_rate']:.3f}, return {metrics['return_mean']:.2f}", flush=True)
    env.close()
    return rows


def finished_rows(partial: Path) -> dict[tuple, dict]:
    """{(run, policy digest, temperature, episodes): row} of an interrupted search's partial file;
    a line cut short by the interruption is dropped (its value is simply run again)."""
    rows = {}
    if partial.exists():
        for line in partial.read_text().splitlines():
            try:
                row = json.loads(line)
                rows[(row["run"], row["policy_digest"], row["temperature"], row["episodes"])] = row
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return rows


def choose(rows: list[dict]) -> tuple[float, float, dict[float, dict[str, float]]]:
    """(acting temperature, exploring temperature, per temperature the mean success and return over runs)."""
    by_t: dict[float, dict[str, float]] = {}
    for t in dict.fromkeys(r["temperature"] for r in rows):
        rs = [r for r in rows if r["temperature"] == t]
        by_t[t] = {"success_rate": float(np.mean([r["success_rate"] for r in rs])),
                   "return_mean": float(np.mean([r["return_mean"] for r in rs])), "runs": len(rs)}
    best = max(by_t, key=lambda t: (by_t[t]["success_rate"], by_t[t]["return_mean"]))
    keep = EXPLORE_KEEP * by_t[best]["success_rate"]
    explore = max([t for t in by_t if t >= best and by_t[t]["success_rate"] >= keep], default=best)
    return best, explore, by_t


def to_markdown(rows: list[dict], command: str, policy: str) -> str:
    best, explore, by_t = choose(rows)
    extra = [m for m in METRIC_NAMES if m in rows[0]]
    lines = [f"# Acting temperature on validation episodes ({rows[0]['episodes']} per value, {policy})", "",
             f"Regenerate: `{command}`", "",
             "Validation seeds 2,000,000 + i (disjoint from the evaluation seeds); each run's own config but "
             "the temperature. Acting: the highest mean success over runs (ties: higher return). Exploring: the "
             f"highest temperature at or above it that keeps {EXPLORE_KEEP:.0%} of that success.", "",
             f"**Chosen temperature: {best}** (acting); **{explore}** (exploring)", "",
             "| temperature | runs | mean success | mean return |", "|---|---|---|---|"]
    lines += [f"| {t} | {v['runs']} | {v['success_rate']:.3f} | {v['return_mean']:.2f} |" for t, v in by_t.items()]
    lines += ["", "| run | seed | temperature | success | 95 % CI | return | " + " | ".join(extra) + " |",
              "|---|---|---|---|---|---|" + "---|" * len(extra)]
    for r in rows:
        lo, hi = r["success_ci95"]
        lines.append(f"| {r['run']} | {r['seed']} | {r['temperature']} | {r['success_rate']:.3f} "
                     f"| [{lo:.2f}, {hi:.2f}] | {r['return_mean']:.2f} | "
                     + " | ".join(f"{r[m]:.3f}" for m in extra) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path, help="run directories holding the policy file")
    p.add_argument("--name", required=True, help="the table goes to <results>/<name>.md and .json")
    p.add_argument("--policy", default="bc_policy.pt", help="which saved policy of each run")
    p.add_argument("--temperatures", type=float, nargs="+", default=list(GRID))
    p.add_argument("--episodes", type=int, default=50, help="validation episodes per run and temperature")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    args = p.parse_args(argv)
    if args.episodes < 1:
        print(f"error: --episodes must be at least 1, got {args.episodes}", file=sys.stderr)
        return 2
    if bad := [t for t in args.temperatures if not 0 < t < float("inf")]:
        print(f"error: --temperatures must be positive and finite, got {bad}", file=sys.stderr)
        return 2
    try:
        loaded = [load_run(run, args.policy) for run in args.runs]
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    args.results.mkdir(parents=True, exist_ok=True)
    partial = args.results / f"{args.name}.partial.jsonl"
    kept = finished_rows(partial)
    if partial.exists() and not partial.read_bytes().endswith(b"\n"):
        with partial.open("a") as f:  # end the line a kill cut short, so the next row starts its own
            f.write("\n")
    rows = []
    for run, run_loaded in zip(args.runs, loaded):
        digest = policy_digest(run, args.policy)
        done = {t: row for (r, d, t, n), row in kept.items() if (r, d, n) == (str(run), digest, args.episodes)}

        def save(row, digest=digest):
            row["policy_digest"] = digest
            with partial.open("a") as f:
                f.write(json.dumps(row) + "\n")

        rows += sweep_run(run, run_loaded, args.temperatures, args.episodes, done, save)
    command = "python -m softflow_bench.tools.tune_temperature " + shlex.join(argv)
    (args.results / f"{args.name}.md").write_text(to_markdown(rows, command, args.policy))
    best, explore, by_t = choose(rows)
    (args.results / f"{args.name}.json").write_text(json.dumps(
        {"command": command, "chosen": best, "explore": explore, "by_temperature": {str(k): v for k, v in by_t.items()},
         "rows": rows}, indent=1))
    partial.unlink(missing_ok=True)  # the table holds every row now
    print(f"chosen temperature {best} (acting), {explore} (exploring); wrote {args.results / args.name}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
