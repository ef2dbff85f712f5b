"""Tabulate finished runs: the evaluation before online RL against the final one, per seed,
and the same averaged over seeds for each (env, algo, tier).

    python -m softflow_bench.tools.leaderboard [--runs results/runs] [--out results/leaderboard.md]

Reads the summary.json of every run at its default place under results/runs (<env>/<algo>/seed<N>,
or <env>/<algo>/<tier>/seed<N> for a tier other than quick); writes a markdown table (and a .json
beside it) with the exact run command of each row, so every number can be regenerated, then the
verdict (softflow_bench.tools.verdict): interval estimates per task in the same markdown, a .csv
with one row per task x algorithm x tier, and plots under plots/ beside it. A summary that cannot be
read is reported and skipped.

Run directories are not committed, so the committed table is the record: a run found under --runs
replaces its (env, algo, tier, seed) row in the existing .json and the other rows are kept, each
with the commit that trained it (--fresh: only the runs found).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from softflow_bench.algos import ALGORITHMS
from softflow_bench.config import BOOKKEEPING, FORMAT_VERSION, device_type, non_defaults, run_place, saved_config
from softflow_bench.defaults import TIERS
from softflow_bench.envs import METRIC_NAMES
from softflow_bench.tools import verdict

ROOT = Path(__file__).resolve().parents[2]
METRICS = ("success_rate", *METRIC_NAMES, "return_mean")


def started_from(commits) -> str:
    """The line a sweep or re-evaluation table carries to say which code trained its runs."""
    return f"Runs started from commit {', '.join(sorted({(c or 'unknown')[:10] for c in commits}))}."


def offline_point(summary: dict) -> dict | None:
    """A run's evaluation before online RL (after the offline stages), if its curve has one."""
    return next((p for p in summary["curve"] if p["online_episodes"] == 0), None)


def rows(runs: Path, say=print) -> list[dict]:
    """The runs at their default places (config.run_place: <runs>/<env>/<algo>/seed<N> for the quick
    tier, <runs>/<env>/<algo>/<tier>/seed<N> for the others), made with the default config of their
    algo, env and tier. Others (a copy made with --out; a run given e.g. --bc-weight, or made when
    a default was different) are skipped with a note: the row's command must reproduce the run it shows."""
    out = []
    places = sorted({str(run_place("*", "*", "*", tier) / "summary.json") for tier in TIERS})  # one per tier folder
    for path in sorted(p for place in places for p in runs.glob(place)):
        try:
            s = json.loads(path.read_text())
            s["env"], s["algo"], s["seed"], s["tier"], s["curve"]  # noqa: B018 (the fields a row needs)
            cfg = saved_config(s["config"])
        except (ValueError, KeyError, TypeError) as exc:  # ValueError: bad JSON, or a config of another format
            say(f"skipped {path}: not a readable run summary ({type(exc).__name__}: {exc})")
            continue
        place = run_place(s["env"], s["algo"], s["seed"], s["tier"])
        if path.parent.relative_to(runs).parts != place.parts:
            say(f"skipped {path.parent}: not at its default place {place}")
            continue
        changed = non_defaults(cfg)
        if changed:
            say(f"skipped {path.parent}: made with {', '.join(f'{k}={v}' for k, v in changed.items())}, "
                f"not today's defaults for {s['algo']} on {s['env']} ({s['tier']} tier)")
            continue
        before = offline_point(s)
        out.append({
            "env": s["env"], "algo": s["algo"], "seed": s["seed"], "tier": s["tier"],
            "bc_steps": s["config"]["bc_steps"],
            "git_commit": s["git_commit"][:10],
            "ran_on": _ran_on(s),
            # the libraries' versions (python, torch, mujoco, gymnasium, numpy): a row that does not
            # remake under today's is told apart from one that changed with the code
            "versions": s.get("versions"),
            # the fingerprint of the code that computed it (runs from before it was recorded have none):
            # whether today's code is the row's is one comparison (records.run_code_fingerprint)
            **({"code": s["code"]} if s.get("code") else {}),
            "online_episodes": s["online_episodes"], "before": before, "final": s["final"],
            "online_env_steps": s.get("online_env_steps"), "wall_time_s": s.get("wall_time_s"),
            "curve": [{k: p[k] for k in ("online_episodes", "success_rate") if k in p} for p in s["curve"]],
            "final_episodes": final_episodes(path.parent, s),
            # the offline point's episodes: its change is measured on the episodes both evaluations played
            "before_episodes": final_episodes(path.parent, s, before) if before else None,
            **({"diffusion_prediction": cfg.diffusion_prediction}
               if ALGORITHMS[s["algo"]].uses_diffusion else {}),
            # what the run was made with, so a later table can tell whether today's defaults still make it
            "config": {k: v for k, v in s["config"].items() if k not in BOOKKEEPING},
            "command": f"python -m softflow_bench.run --algo {s['algo']} --env {s['env']} --tier {s['tier']} "
                       f"--seed {s['seed']} --threads {s['config'].get('threads', 0)}"
                       + (" --device cuda" if trained_on_gpu(s) else ""),
        })
    return out


def episode_records(run: Path, point: dict | None) -> list[dict] | None:
    """The per-episode records of one evaluation of a run's curve (`point`), where it kept them."""
    name = (point or {}).get("episodes_file")
    if not name or not (run / name).is_file():
        return None
    return [json.loads(line) for line in (run / name).read_text().splitlines() if line.strip()]


def final_episodes(run: Path, summary: dict, point: dict | None = None) -> dict[str, float] | None:
    """{evaluation episode seed: success} of the run's final evaluation (or of `point`, another
    evaluation of its curve), where it kept its episodes."""
    records = episode_records(run, point if point is not None else summary.get("final"))
    return None if records is None else episode_successes(records)


def episode_successes(records: list[dict]) -> dict[str, float]:
    """{evaluation episode seed: success} of an evaluation's episode records (as the table keeps them)."""
    return {str(r["seed"]): float(r["success"]) for r in records if r["success"] is not None}


def current(row: dict) -> bool:
    """Whether today's defaults for the row's algo, env and tier still make the run it shows. A row
    committed without its config (before tables kept it) cannot say, and counts as earlier."""
    return "config" in row and not non_defaults(saved_config(row["config"]))


def algo_label(row: dict) -> str:
    """The algo, and for a diffusion policy what its denoiser predicts."""
    if not ALGORITHMS[row["algo"]].uses_diffusion:
        return row["algo"]
    return f"{row['algo']} ({row['diffusion_prediction']})"


def merged(found: list[dict], committed: list[dict]) -> list[dict]:
    """The committed rows, each replaced by a run found for its (env, algo, tier, seed); new runs added."""
    key = lambda r: (r["env"], r["algo"], r["tier"], r["seed"])  # noqa: E731
    table = {key(r): r for r in committed}
    table.update({key(r): r for r in found})
    return [table[k] for k in sorted(table)]


def trained_on_gpu(summary: dict) -> bool:
    """Whether the run's --device meant CUDA on the machine that made it (run.run_device's rule)."""
    return device_type(summary["config"].get("device", "auto"),
                       summary.get("machine", {}).get("cuda", False)) == "cuda"


def _ran_on(summary: dict) -> str:
    """Torch build, CPU count and vector instructions (where recorded) and GPU: runs from
    different machines are not bit-comparable."""
    machine = summary.get("machine", {})
    cpus, isa = machine.get("cpus"), machine.get("cpu_capability")
    return (f"torch {summary['versions']['torch']}" + (f", {cpus} CPUs" if cpus else "")
            + (f" ({isa})" if isa else "") + (", CUDA GPU" if trained_on_gpu(summary) else ""))


def aggregate(table: list[dict], metrics: list[str]) -> list[dict]:
    """Per (env, algo, tier, BC budget): seed count, mean and std over seeds of each metric before and after
    online RL, and on how many seeds the final success rate beat the offline one."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in table:
        groups[(r["env"], algo_label(r), r["tier"], r["bc_steps"])].append(r)
    out = []
    for (env, algo, tier, bc), runs in sorted(groups.items()):
        row = {"env": env, "algo": algo, "tier": tier, "bc_steps": bc, "seeds": sorted(r["seed"] for r in runs)}
        for m in metrics:
            for when in ("before", "final"):
                vals = [r[when][m] for r in runs if r[when] and m in r[when]]
                row[f"{m}_{when}"] = (float(np.mean(vals)), float(np.std(vals))) if vals else None
        online = [r for r in runs if r["online_episodes"] > 0 and r["before"]]
        row["improved"] = (sum(improved(r) for r in online), len(online))
        out.append(row)
    return out


def improved(row: dict) -> bool:
    """Whether the final evaluation beat the offline point: on the episodes both played where the
    row kept them (the offline point may have played fewer), else on the two rates."""
    before, after = row.get("before_episodes"), row.get("final_episodes")
    if before and after and (shared := set(before) & set(after)):
        return sum(after[k] for k in shared) > sum(before[k] for k in shared)
    return row["final"]["success_rate"] > row["before"]["success_rate"]


def _mean_std(v) -> str:
    return "–" if v is None else f"{v[0]:.2f} ± {v[1]:.2f}"


def _means_table(rows: list[dict], metrics: list[str]) -> list[str]:
    shown = [m for m in ("success_rate", *METRIC_NAMES) if m in metrics]
    head = ["env", "algo", "tier", "BC updates", "seeds"] + [f"{m} offline → final (mean ± std)" for m in shown] + [
        "success improved (seeds; on shared episodes)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for a in aggregate(rows, metrics):
        cells = [a["env"], a["algo"], a["tier"], f"{a['bc_steps']:,}", ",".join(map(str, a["seeds"]))]
        online = a["improved"][1] > 0
        for m in shown:
            after = _mean_std(a[f"{m}_final"])
            cells.append(f"{_mean_std(a[f'{m}_before'])} → {after}" if online else after)
        cells.append(f"{a['improved'][0]} of {a['improved'][1]}" if online else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render(table: list[dict], is_now: list[bool]) -> str:
    """The tables; is_now[i]: whether table[i] is a row of today's defaults (`current`)."""
    metrics = [m for m in METRICS if any(m in (r["final"] or {}) for r in table)]
    now = [r for r, n in zip(table, is_now) if n]
    earlier = [r for r, n in zip(table, is_now) if not n]
    agg_lines = ["## Mean over seeds", "", "Rows that today's defaults make (the verdict below compares only these).",
                 "An offline point may play fewer episodes than the final evaluation (the quick tier: 20 against",
                 "100): the two means then cover different episodes, and the change that counts is the one",
                 "measured on the episodes both played (the last column, and the verdict's offline → change).",
                 ""] + (_means_table(now, metrics) if now else ["(none yet)"])
    if earlier:
        agg_lines += ["", "## Earlier rows", "",
                      "Made under defaults that have changed since (or committed before tables kept their",
                      "config): kept for reference, compared with nothing.", ""] + _means_table(earlier, metrics)
    head = (["env", "algo", "tier", "BC updates", "seed"] + [f"{m} (offline → final)" for m in metrics]
            + ["defaults", "commit", "ran on"])
    lines = ["# Leaderboard (development runs)", "",
             "Each row: the evaluation before online RL (after the offline stages) → the final one,",
             "over the tier's fixed evaluation seeds; imitation-only rows (`bc_*`, no online stage) have",
             "one evaluation. Regenerate a row with its command below (at its commit: the tier's",
             "budgets have changed; \"BC updates\" gives each row's stage 1), then",
             "`python -m softflow_bench.tools.leaderboard`, which replaces that row and keeps the others.",
             "A diffusion policy's algo names what its denoiser predicts: eps (the noise) or x0 (the chunk).",
             ""] + agg_lines + [
             "", "## Every run", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r, r_now in zip(table, is_now):
        cells = [r["env"], algo_label(r), r["tier"], f"{r['bc_steps']:,}", str(r["seed"])]
        for m in metrics:
            b = (r["before"] or {}).get(m)
            f = (r["final"] or {}).get(m)
            if r["online_episodes"] == 0 and f is not None:
                cells.append(f"{f:.2f}")
            else:
                cells.append(f"{b:.2f} → {f:.2f}" if b is not None and f is not None else "–")
        lines.append("| " + " | ".join(cells + ["today's" if r_now else "earlier", r["git_commit"], r["ran_on"]])
                     + " |")
    lines += ["", "Commands:", ""] + [f"- `{r['command']}`" for r in table]
    return "\n".join(lines) + "\n"


def committed_rows(path: Path) -> list[dict]:
    """The rows of a committed table (its .json), which must be of this code's format version."""
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not a leaderboard table (not JSON: {exc})") from None
    version = saved.get("format_version") if isinstance(saved, dict) else None
    if version != FORMAT_VERSION:
        raise ValueError(f"{path} is in format {version}, this code reads format {FORMAT_VERSION}")
    return saved["rows"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", default=str(ROOT / "results" / "runs"))
    p.add_argument("--out", default=str(ROOT / "results" / "leaderboard.md"))
    p.add_argument("--fresh", action="store_true", help="only the runs found, not the committed rows")
    args = p.parse_args(argv)
    found = rows(Path(args.runs))
    if not found:
        p.error(f"no finished runs (summary.json) under {args.runs}")
    out = Path(args.out)
    committed = out.with_suffix(".json")
    try:
        table = found if args.fresh or not committed.exists() else merged(found, committed_rows(committed))
    except (ValueError, KeyError) as exc:  # JSONDecodeError is a ValueError
        p.error(f"the committed table {committed} cannot be read: {exc}")
    is_now = [current(r) for r in table]
    now = [r for r, n in zip(table, is_now) if n]  # the verdict compares runs of today's recipe only
    records = verdict.summarise(now, algo_label)
    verdict.write_csv(records, out.with_suffix(".csv"))
    plots = verdict.plot(now, records, algo_label, out.parent / "plots")
    out.write_text(render(table, is_now) + "\n" + "\n".join(verdict.markdown(records, plots, out.parent)) + "\n")
    out.with_suffix(".json").write_text(json.dumps({"format_version": FORMAT_VERSION, "rows": table}, indent=1))
    print(out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
