"""The verdict the leaderboard draws: rliable intervals, SOFT-FLOW against each baseline, the csv and
the plots, from real smoke runs (two algorithms x two seeds) through the CLIs."""

import csv
import subprocess
import sys

import numpy as np
import pytest

from softflow_bench.tools import stats


def test_intervals_and_improvement_probabilities_say_what_the_runs_show():
    est = stats.interval_estimates({"same": np.full(5, 0.6), "spread": np.array([0.1, 0.3, 0.5, 0.7, 0.9])})
    assert est["same"]["mean"] == pytest.approx((0.6, 0.6, 0.6)) and est["same"]["runs"] == 5
    point, lo, hi = est["spread"]["mean"]
    assert point == pytest.approx(0.5) and lo < 0.4 and hi > 0.6
    # a row's interval does not move when another algorithm joins the table
    assert stats.interval_estimates({"spread": np.array([0.1, 0.3, 0.5, 0.7, 0.9])})["spread"] == est["spread"]
    assert stats.probability_of_improvement(np.array([0.9, 0.8]), np.array([0.1, 0.2]))[0] == 1.0
    assert stats.probability_of_improvement(np.array([0.5, 0.5]), np.array([0.5, 0.5]))[0] == 0.5  # ties: half
    a, b = np.array([0.89, 0.84, 0.72, 0.79, 0.85]), np.array([0.88, 0.89, 0.80, 0.86, 0.88])
    np.random.seed(123)  # whatever state numpy's global generator is in, the same runs give the same table
    first = stats.probability_of_improvement(b, a)
    np.random.seed(456)
    assert stats.probability_of_improvement(b, a) == first
    x = {(0, i): 1.0 for i in range(50)}
    y = {(0, i): float(i < 25) for i in range(50)} | {(1, 0): 0.0}  # (1, 0): no partner, not counted
    diff, lo, hi, n = stats.paired_difference(x, y)
    assert (diff, n) == (0.5, 50) and lo < 0.5 < hi
    assert stats.paired_difference(x, {(2, 0): 1.0}) is None


@pytest.fixture(scope="module")
def runs(shared_env):
    root, env = shared_env
    runs = root / "runs"
    for algo in ("softflow", "sac_chunked"):
        for seed in (0, 1):
            subprocess.run([sys.executable, "-m", "softflow_bench.run", "--algo", algo, "--tier", "smoke",
                            "--seed", str(seed), "--threads", "1",
                            "--out", str(runs / "cube_pronation" / algo / "smoke" / f"seed{seed}")],
                           env=env, check=True, capture_output=True, timeout=300)
    return runs, env


def test_the_leaderboard_writes_intervals_a_csv_and_plots_from_two_algorithms_by_two_seeds(runs, tmp_path):
    runs, env = runs
    broken = runs / "cube_pronation" / "softflow" / "smoke" / "seed7"
    broken.mkdir()
    (broken / "summary.json").write_text('{"env": "cube_pron')  # a run killed while writing its summary
    out = tmp_path / "leaderboard.md"
    made = subprocess.run([sys.executable, "-m", "softflow_bench.tools.leaderboard", "--runs", str(runs),
                           "--out", str(out), "--fresh"], env=env, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    assert f"skipped {broken / 'summary.json'}: not a readable run summary" in made.stdout
    rows = list(csv.DictReader(open(out.with_suffix(".csv"))))
    assert [(r["env"], r["tier"], r["runs"], r["seeds"]) for r in rows] == [("cube_pronation", "smoke", "2", "0 1")] * 2
    assert {r["algo"] for r in rows} == {"softflow", "sac_chunked"}
    means = [float(r["success_mean"]) for r in rows]
    assert means == sorted(means, reverse=True)  # best first
    for r in rows:
        assert float(r["mean_lo"]) <= float(r["success_mean"]) <= float(r["mean_hi"])
        assert float(r["online_episodes"]) == 2 and float(r["wall_time_s"]) > 0
    baseline = next(r for r in rows if r["algo"] == "sac_chunked")
    assert 0 <= float(baseline["poi_softflow"]) <= 1 and baseline["paired_episodes"] == "4"  # 2 runs x 2 episodes
    # the online stage's change, on the episodes the offline point and the final evaluation both played
    for r in rows:
        assert r["change_episodes"] == "4"
        assert float(r["change_lo"]) <= float(r["change_paired"]) <= float(r["change_hi"])
    text = out.read_text()
    assert "## Interval estimates" in text and "### cube_pronation (smoke tier)" in text
    for kind in ("intervals", "improvement", "curves"):
        plot = tmp_path / "plots" / f"cube_pronation_smoke_{kind}.png"
        assert plot.stat().st_size > 1000 and f"(plots/cube_pronation_smoke_{kind}.png)" in text
