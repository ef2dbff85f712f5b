"""Sweep one config field: run `softflow_bench.run` per value and tabulate the final metrics.

    python -m softflow_bench.tools.sweep --env cube_pronation --algo softflow --field bc_weight \\
        --values 1 10 100 --tier quick --jobs 2 [--seeds 0 1 2] -- --online-episodes 0

A switch (e.g. finetune_actor) takes the values true and false. Arguments after `--` go to every
run unchanged. Runs land in results/sweeps/<name>/<value>/seed<N>/
and the table in results/sweeps/<name>.md and .json, with the exact command at its top: the final
evaluation of every run, its evaluation before online RL where it had an online stage, and the
mean over seeds of each value when there are several. The .json keeps each final evaluation's
episodes, so `softflow_bench.tools.paired` compares a value's runs episode by episode (`--after-value`).

Finished runs are reused, once checked against the run today's command would make: a sweep whose
runs were made under other settings, or that would drop rows from its table, is refused (exit 2)
and names the difference; give it another --name to keep both.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np

from softflow_bench.config import ConfigError, RunConfig
from softflow_bench.envs import TASK_METRICS
from softflow_bench.run import differs_from_finished, validated
from softflow_bench.tools.leaderboard import episode_records, offline_point, started_from

RESULTS = Path(__file__).resolve().parents[2] / "results" / "sweeps"
#: Metrics shown for the evaluation before online RL (the final evaluation shows all of them): success
#: and each task's first own metric.
SHOWN_OFFLINE = ("success_rate", *dict.fromkeys(ms[0][1] for ms in TASK_METRICS.values()))


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", required=True)
    p.add_argument("--algo", default="softflow")
    p.add_argument("--field", required=True, help="RunConfig field to sweep, e.g. bc_weight")
    p.add_argument("--values", nargs="+", required=True)
    p.add_argument("--tier", default="quick")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel (each uses one thread)")
    p.add_argument("--name", default=None, help="the sweep's name (default <algo>_<field>_<env>_<tier>): a "
                                                "sweep that repeats an earlier one under a new recipe keeps both")
    p.add_argument("--results", type=Path, default=RESULTS, help="where the runs and the table go")
    args = p.parse_args(own)
    results = args.results
    defaults = asdict(RunConfig())  # field name -> default value
    if args.field not in defaults:
        p.error(f"--field {args.field!r} is not a RunConfig field; choose one of {sorted(defaults)}")
    flag = "--" + args.field.replace("_", "-")
    if isinstance(defaults[args.field], bool):  # switches: true -> --flag, false -> --no-flag
        if bad := [v for v in args.values if v not in ("true", "false")]:
            p.error(f"--field {args.field} is a switch: its values are true and false, got {bad}")
        field_args = {v: [flag if v == "true" else "--no-" + flag[2:]] for v in args.values}
    else:
        kind = type(defaults[args.field])
        for v in args.values:
            try:
                kind(v)
            except ValueError:
                p.error(f"--field {args.field} takes {kind.__name__} values, got {v!r}")
        field_args = {v: [flag, v] for v in args.values}

    name = args.name or f"{args.algo}_{args.field}_{args.env}_{args.tier}"
    command = "python -m softflow_bench.tools.sweep " + shlex.join(own + (["--"] + extra if extra else []))

    def run_dir(value: str, seed: int) -> Path:
        return results / name / value / f"seed{seed}"

    def run_args(value: str, seed: int) -> list[str]:
        out = run_dir(value, seed)
        resume = ["--resume"] if (out / "checkpoint.pt").exists() else []
        return ["--algo", args.algo, "--env", args.env, "--tier", args.tier, "--seed", str(seed), "--threads", "1",
                "--out", str(out), *field_args[value], *extra, *resume]

    jobs = [(v, seed) for v in args.values for seed in args.seeds]
    other_name = "a sweep of this name was made with other settings; choose another --name to keep both"
    if (table := results / f"{name}.json").exists():  # a narrower sweep would drop the table's other rows
        try:
            kept = {(str(r["value"]), int(r["seed"])) for r in json.loads(table.read_text())["rows"]}
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            p.error(f"{table} is not a sweep table ({type(exc).__name__}: {exc}); move it aside first")
        if dropped := ", ".join(f"{v}/seed{s}" for v, s in sorted(kept - set(jobs))):
            p.error(f"{table} has runs this sweep would drop from it ({dropped}): "
                    f"{other_name}, or sweep those values and seeds too")
    # every run is checked before the first starts, a finished one against the run it would be today:
    # a bad one changes nothing, and no table shows runs made under settings other than its command's
    for value, seed in jobs:
        out = run_dir(value, seed)
        if (out / "summary.json").exists():
            if changed := differs_from_finished(out, run_args(value, seed)):
                p.error(f"{out} was made with other {', '.join(changed)}: {other_name}")
            continue
        try:
            validated(run_args(value, seed))
        except ConfigError as exc:
            p.error(f"{args.field}={value}, seed {seed}: {exc}")

    def one(job: tuple[str, int]) -> dict:
        value, seed = job
        out = run_dir(value, seed)
        cmd = [sys.executable, "-m", "softflow_bench.run", *run_args(value, seed)]
        if not (out / "summary.json").exists():
            print("running:", shlex.join(cmd), flush=True)
            out.mkdir(parents=True, exist_ok=True)
            with open(out.parent / f"seed{seed}.log", "a") as log:  # progress bars and errors
                subprocess.run(cmd, check=True, stdout=log, stderr=log)
        summary = json.loads((out / "summary.json").read_text())
        before = offline_point(summary)
        offline = {}
        if summary["online_episodes"]:  # imitation-only runs have one evaluation, no offline point
            offline = {f"offline {k}": before[k] for k in SHOWN_OFFLINE if k in before}
        row = {"value": value, "seed": seed, **offline, **summary["final"], "git_commit": summary["git_commit"]}
        if (records := episode_records(out, summary["final"])) is not None:
            row["episode_records"] = records
        return row

    with ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(one, jobs))
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{name}.json").write_text(json.dumps({"command": command, "rows": rows}, indent=1))
    keys = [k for k in rows[0] if k not in ("value", "seed", "git_commit", "online_env_steps", "online_episodes")
            and all(isinstance(r.get(k), float) for r in rows)]  # numbers only (not episodes_file)
    table = [[r["value"], str(r["seed"])] + [f"{r[k]:.3f}" for k in keys] for r in rows]
    if len(args.seeds) > 1:
        for v in args.values:
            mine = [r for r in rows if r["value"] == v]
            table.append([f"**{v}**", "mean"] + [f"**{np.mean([r[k] for r in mine]):.3f}**" for k in keys])
    lines = [f"# Sweep of `{args.field}` ({args.algo}, {args.env}, tier {args.tier}, "
             f"seed{'s' if len(args.seeds) > 1 else ''} {', '.join(map(str, args.seeds))})", "",
             f"Regenerate: `{command}`", "", started_from(r["git_commit"] for r in rows), "",
             "| " + " | ".join([args.field, "seed"] + keys) + " |",
             "|" + "---|" * (len(keys) + 2)]
    lines += ["| " + " | ".join(cells) + " |" for cells in table]
    (results / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
