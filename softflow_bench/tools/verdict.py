"""The leaderboard's verdict: per task, interval estimates over runs, SOFT-FLOW against each
baseline, a machine-readable table and the plots.

Called by `python -m softflow_bench.tools.leaderboard` on its rows (one per run). Per task and tier,
for each algorithm with at least one run: the mean and IQM of the final success over runs with
stratified-bootstrap 95 % intervals (rliable), the offline point and the change from it, and, for
every algorithm beside `softflow`, the probability that a SOFT-FLOW run improves on one of its
runs and, where both kept their episodes, the paired difference on the shared evaluation episodes.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

from softflow_bench.tools import stats

REFERENCE = "softflow"
CSV_FIELDS = ("env", "algo", "tier", "bc_steps", "runs", "seeds", "success_mean", "mean_lo", "mean_hi", "iqm",
              "iqm_lo", "iqm_hi", "offline_mean", "change", "change_paired", "change_lo", "change_hi",
              "change_episodes", "online_episodes", "online_env_steps", "wall_time_s",
              "poi_softflow", "poi_lo", "poi_hi", "paired_diff", "paired_lo", "paired_hi", "paired_episodes")


def groups(table: list[dict], label) -> dict[tuple, dict[str, list[dict]]]:
    """{(env, tier): {algo label: [rows]}}, each row one run with a final success rate."""
    out: dict[tuple, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in table:
        if (r.get("final") or {}).get("success_rate") is not None:
            out[(r["env"], r["tier"])][label(r)].append(r)
    return out


def episode_outcomes(row: dict, key: str = "final_episodes") -> dict[tuple, float]:
    """{(run seed, episode seed): success} of a leaderboard row's final (or `key`) evaluation."""
    return {(row["seed"], int(k)): float(v) for k, v in (row.get(key) or {}).items()}


def _mean_of(rows: list[dict], key: str):
    vals = [r[key] for r in rows if r.get(key) is not None]
    return float(np.mean(vals)) if vals else None


def summarise(table: list[dict], label) -> list[dict]:
    """One record per (env, algo, tier), CSV_FIELDS, best mean first within each (env, tier)."""
    out = []
    for (env, tier), by_algo in sorted(groups(table, label).items()):
        scores = {a: np.array([r["final"]["success_rate"] for r in rs]) for a, rs in by_algo.items()}
        estimates = stats.interval_estimates(scores)
        reference = REFERENCE if REFERENCE in by_algo else None
        records = []
        for algo, rs in by_algo.items():
            est = estimates[algo]
            online = [r for r in rs if r["online_episodes"] and r.get("before")]  # an imitation row has no change
            offline_mean = float(np.mean([r["before"]["success_rate"] for r in online])) if online else None
            # the online stage's change, paired on the episodes both evaluations played (an offline
            # point of 20 episodes against a final one of 100 would compare different episodes)
            change = stats.paired_difference(
                {k: v for r in online for k, v in episode_outcomes(r).items()},
                {k: v for r in online for k, v in episode_outcomes(r, "before_episodes").items()})
            rec = {"env": env, "algo": algo, "tier": tier, "bc_steps": rs[0].get("bc_steps"), "runs": len(rs),
                   "seeds": " ".join(str(r["seed"]) for r in sorted(rs, key=lambda r: r["seed"])),
                   "success_mean": est["mean"][0], "mean_lo": est["mean"][1], "mean_hi": est["mean"][2],
                   "iqm": est["iqm"][0], "iqm_lo": est["iqm"][1], "iqm_hi": est["iqm"][2],
                   "offline_mean": offline_mean,
                   "change": est["mean"][0] - offline_mean if online else None,
                   **(dict(zip(("change_paired", "change_lo", "change_hi", "change_episodes"), change))
                      if change else {}),
                   "online_episodes": _mean_of(rs, "online_episodes"),
                   "online_env_steps": _mean_of(rs, "online_env_steps"), "wall_time_s": _mean_of(rs, "wall_time_s")}
            if reference and algo != reference:
                rec["poi_softflow"], rec["poi_lo"], rec["poi_hi"] = stats.probability_of_improvement(
                    scores[reference], scores[algo])
                mine = {k: v for r in by_algo[reference] for k, v in episode_outcomes(r).items()}
                theirs = {k: v for r in rs for k, v in episode_outcomes(r).items()}
                paired = stats.paired_difference(mine, theirs)
                if paired:
                    rec["paired_diff"], rec["paired_lo"], rec["paired_hi"], rec["paired_episodes"] = paired
            records.append(rec)
        out += sorted(records, key=lambda r: -r["success_mean"])
    return out


def write_csv(records: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, CSV_FIELDS)
        w.writeheader()
        for r in records:
            w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items() if k in CSV_FIELDS})


def _bounds(key: str) -> tuple[str, str]:
    """The fields of a record holding the interval of `key` (success_mean, iqm or poi_softflow)."""
    return {"success_mean": ("mean_lo", "mean_hi"), "poi_softflow": ("poi_lo", "poi_hi")}.get(
        key, (f"{key}_lo", f"{key}_hi"))


def _interval(rec: dict, key: str) -> str:
    lo, hi = _bounds(key)
    return f"{rec[key]:.2f} [{rec[lo]:.2f}, {rec[hi]:.2f}]"


def _by_task(records: list[dict]) -> dict[tuple, list[dict]]:
    """{(env, tier): its records, in their order}."""
    out = defaultdict(list)
    for r in records:
        out[(r["env"], r["tier"])].append(r)
    return out


def markdown(records: list[dict], plots: dict[tuple, list[Path]], relative_to: Path) -> list[str]:
    lines = ["## Interval estimates", "",
             "Final success over runs: mean and interquartile mean (IQM) with stratified-bootstrap 95 % intervals "
             "(rliable); offline → change: the online stage's change in success, on the evaluation episodes the "
             "offline point and the final evaluation both played, with a bootstrap 95 % interval (else the "
             "means' difference); P(softflow > algo): the probability that a SOFT-FLOW run beats a run of the "
             "algo, with its interval; paired: SOFT-FLOW's success minus the algo's on the evaluation episodes "
             "both kept, with a bootstrap 95 % interval. Best mean first.", ""]
    for (env, tier), recs in _by_task(records).items():
        lines += [f"### {env} ({tier} tier)", "",
                  "| algo | runs | mean [95 % CI] | IQM [95 % CI] | offline → change | P(softflow > algo) | paired |",
                  "|---|---|---|---|---|---|---|"]
        for r in recs:
            change = (f"{r['offline_mean']:.2f} → {r['change']:+.2f}" if r.get("offline_mean") is not None else "–")
            if "change_paired" in r:  # the change on the episodes both evaluations played
                change = (f"{r['change_paired']:+.2f} [{r['change_lo']:+.2f}, {r['change_hi']:+.2f}] "
                          f"({r['change_episodes']} ep.)")
            poi = _interval(r, "poi_softflow") if "poi_softflow" in r else "–"
            paired = (f"{r['paired_diff']:+.2f} [{r['paired_lo']:+.2f}, {r['paired_hi']:+.2f}] "
                      f"({r['paired_episodes']} ep.)" if "paired_diff" in r else "–")
            lines.append(f"| {r['algo']} | {r['runs']} | {_interval(r, 'success_mean')} | {_interval(r, 'iqm')} | "
                         f"{change} | {poi} | {paired} |")
        lines.append("")
        for p in plots.get((env, tier), []):
            lines += [f"![{p.stem}]({p.relative_to(relative_to)})", ""]
    return lines


def _bars(ax, recs: list[dict], key: str, colour: str) -> None:
    """One horizontal interval bar per record, its point estimate marked, the first record at the bottom."""
    lo, hi = _bounds(key)
    for i, r in enumerate(recs):
        ax.plot([r[lo], r[hi]], [i, i], color=colour, lw=6, alpha=0.5)
        ax.plot(r[key], i, "k|", ms=12)
    ax.set_xlim(0, 1)


def algo_color(label: str) -> str:
    """A fixed matplotlib colour for an algorithm's label ("dsrl (x0)" is dsrl's), by its place in the registry."""
    from softflow_bench.algos import ALGORITHMS

    names = list(ALGORITHMS)
    name = label.split(" ")[0]
    return f"C{names.index(name) % 10}" if name in names else "grey"


def plot(table: list[dict], records: list[dict], label, out_dir: Path) -> dict[tuple, list[Path]]:
    """Per task and tier: the interval plot of mean and IQM, the probability-of-improvement plot, and
    the learning curves (success against online episodes from the offline point on, mean over runs with
    a 95 % band). Returns the files written per (env, tier)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[tuple, list[Path]] = defaultdict(list)

    def save(fig, env: str, tier: str, kind: str) -> None:
        path = out_dir / f"{env}_{tier}_{kind}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written[(env, tier)].append(path)

    for (env, tier), recs in _by_task(records).items():
        bottom_up = recs[::-1]
        fig, axes = plt.subplots(1, 2, figsize=(9, 0.45 * len(recs) + 1.2), sharey=True)
        for ax, key, title in zip(axes, ("success_mean", "iqm"), ("mean", "IQM")):
            _bars(ax, bottom_up, key, "C0")
            ax.set_title(f"{title} final success"), ax.grid(axis="x", alpha=0.3)
        axes[0].set_yticks(range(len(recs)), [r["algo"] for r in bottom_up])
        fig.suptitle(f"{env} ({tier}): 95 % stratified-bootstrap intervals over runs")
        save(fig, env, tier, "intervals")
        poi = [r for r in recs if "poi_softflow" in r]
        if poi:
            fig, ax = plt.subplots(figsize=(6, 0.45 * len(poi) + 1.2))
            _bars(ax, poi, "poi_softflow", "C1")
            ax.axvline(0.5, color="grey", ls="--")
            ax.set_yticks(range(len(poi)), [f"softflow > {r['algo']}" for r in poi])
            ax.set_title(f"{env} ({tier}): probability of improvement")
            save(fig, env, tier, "improvement")
        curves = groups([r for r in table if r.get("curve") and r["env"] == env and r["tier"] == tier], label)
        online = {a: rs for a, rs in curves.get((env, tier), {}).items() if rs[0]["online_episodes"]}
        if online:
            fig, ax = plt.subplots(figsize=(6, 4))
            for algo, rs in sorted(online.items()):
                xs = sorted({p["online_episodes"] for r in rs for p in r["curve"]})
                pts = [[p["success_rate"] for r in rs for p in r["curve"] if p["online_episodes"] == x] for x in xs]
                est = [stats.interval_estimates({"a": np.array(v)})["a"]["mean"] for v in pts]
                color = algo_color(algo)  # one colour per algorithm in every task's and tier's plot
                ax.plot(xs, [e[0] for e in est], color=color, label=f"{algo} ({len(rs)} run{'s' * (len(rs) > 1)})")
                ax.fill_between(xs, [e[1] for e in est], [e[2] for e in est], color=color, alpha=0.2)
            ax.set_xlabel("online episodes"), ax.set_ylabel("success"), ax.set_ylim(0, 1), ax.legend(fontsize=8)
            ax.set_title(f"{env} ({tier}): learning curves,\nmean and 95 % interval over runs", fontsize=10)
            save(fig, env, tier, "curves")
    return written
