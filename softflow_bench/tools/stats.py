"""What a set of runs can claim: interval estimates over runs (rliable) and paired comparisons.

rliable (Agarwal et al., 2021) does the statistics across runs: the mean and the interquartile
mean (IQM) of a score with stratified-bootstrap 95 % intervals, and the probability that one
algorithm's run beats another's. Because every run is evaluated on the same episode seeds, two
algorithms can also be compared episode by episode: `paired_difference` bootstraps the mean of
the per-episode differences (arch's IID bootstrap over (run seed, episode seed) pairs).
"""

from __future__ import annotations

import warnings

import numpy as np

REPS = 2000  # bootstrap replicates: the intervals' ends move by about 0.01 between seeds at this count


def _bootstrap(score_dict: dict, func, reps: int, seed: int):
    """rliable's stratified-bootstrap point estimates and 95 % intervals of func over score_dict."""
    from rliable import library

    with warnings.catch_warnings():  # rliable hands arch a RandomState, which arch deprecates
        warnings.simplefilter("ignore", FutureWarning)
        # arch's paired bootstrap draws from numpy's global generator too: seed it, so that a table
        # made twice from the same runs is the same table
        np.random.seed(seed)
        return library.get_interval_estimates(score_dict, func, reps=reps, random_state=np.random.RandomState(seed))


def interval_estimates(scores: dict[str, np.ndarray], reps: int = REPS, seed: int = 0) -> dict[str, dict]:
    """scores[name]: one final score per run. Returns per name {"mean": (point, lo, hi), "iqm": (...),
    "runs": n}, the intervals stratified-bootstrap 95 % ones over runs."""
    from rliable import metrics

    def both(x: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_mean(x), metrics.aggregate_iqm(x)])

    out = {}
    for k, v in scores.items():  # each on its own draws: a row does not move when another is added
        x = np.asarray(v, dtype=float).reshape(-1, 1)
        points, intervals = _bootstrap({k: x}, both, reps, seed)
        out[k] = {"mean": (float(points[k][0]), float(intervals[k][0, 0]), float(intervals[k][1, 0])),
                  "iqm": (float(points[k][1]), float(intervals[k][0, 1]), float(intervals[k][1, 1])),
                  "runs": len(x)}
    return out


def probability_of_improvement(x: np.ndarray, y: np.ndarray, reps: int = REPS, seed: int = 0) -> tuple:
    """P(a run of X scores above a run of Y), ties counting half, with its 95 % interval: (point, lo, hi)."""
    from rliable import metrics

    pair = {"x,y": (np.asarray(x, float).reshape(-1, 1), np.asarray(y, float).reshape(-1, 1))}
    points, intervals = _bootstrap(pair, metrics.probability_of_improvement, reps, seed)
    lo, hi = np.ravel(intervals["x,y"])
    return float(np.ravel(points["x,y"])[0]), float(lo), float(hi)


def paired_difference(x: dict[tuple, float], y: dict[tuple, float], reps: int = REPS, seed: int = 0):
    """x, y: {(run seed, episode seed): outcome}. The mean of x - y over the pairs both have, with a
    95 % percentile interval from arch's IID bootstrap over those pairs; None when they share none."""
    from arch.bootstrap import IIDBootstrap

    shared = sorted(set(x) & set(y))
    if not shared:
        return None
    diff = np.array([x[k] - y[k] for k in shared], dtype=float)
    boot = IIDBootstrap(diff, seed=seed)
    lo, hi = boot.conf_int(np.mean, reps=reps, method="percentile")[:, 0]
    return float(diff.mean()), float(lo), float(hi), len(shared)
