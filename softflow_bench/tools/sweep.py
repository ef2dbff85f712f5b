"""Sweep one config field: run `softflow_bench.run` per value and tabulate the final metrics.

    python -m softflow_bench.tools.sweep --env cube_pronation --algo softflow --field bc_weight \\
        --values 1 10 100 --tier quick --jobs 2 -- --online-episodes 0

Arguments after `--` go to every run unchanged. Runs land in results/sweeps/<name>/<value>/ and
the table in results/sweeps/<name>.md and .json, with the exact command at its top.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "results" / "sweeps"


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
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel (each uses one thread)")
    args = p.parse_args(own)

    name = f"{args.algo}_{args.field}_{args.env}_{args.tier}"
    command = "python -m softflow_bench.tools.sweep " + shlex.join(own + (["--"] + extra if extra else []))

    def one(value: str) -> dict:
        out = RESULTS / name / value
        cmd = [sys.executable, "-m", "softflow_bench.run", "--algo", args.algo, "--env", args.env, "--tier", args.tier,
               "--seed", str(args.seed), "--threads", "1", "--out", str(out),
               "--" + args.field.replace("_", "-"), value, *extra]
        if (out / "checkpoint.pt").exists():
            cmd.append("--resume")
        if not (out / "summary.json").exists():
            print("running:", shlex.join(cmd), flush=True)
            out.mkdir(parents=True, exist_ok=True)
            with open(out.parent / f"{value}.log", "a") as log:  # progress bars and errors
                subprocess.run(cmd, check=True, stdout=log, stderr=log)
        summary = json.loads((out / "summary.json").read_text())
        return {"value": value, **summary["final"], "git_commit": summary["git_commit"]}

    with ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(one, args.values))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"command": command, "rows": rows}, indent=1))
    keys = [k for k in rows[0] if k not in ("value", "git_commit", "online_env_steps", "online_episodes")]
    lines = [f"# Sweep of `{args.field}` ({args.algo}, {args.env}, tier {args.tier}, seed {args.seed})", "",
             f"Regenerate: `{command}`", "", "| " + " | ".join([args.field] + keys) + " |",
             "|" + "---|" * (len(keys) + 1)]
    lines += ["| " + " | ".join([r["value"]] + [f"{r[k]:.3f}" for k in keys]) + " |" for r in rows]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
