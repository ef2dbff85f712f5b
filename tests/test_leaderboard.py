"""The leaderboard is built from real run summaries (a smoke run through the CLI)."""

import json
import os
import subprocess
import sys

import pytest


def test_leaderboard_tabulates_real_runs(tmp_path):
    env = dict(os.environ, MINARI_DATASETS_PATH=str(tmp_path / "minari"), SOFTFLOW_BENCH_CACHE=str(tmp_path / "c"))
    runs = tmp_path / "runs"
    subprocess.run([sys.executable, "-m", "softflow_bench.run", "--env", "cube_pronation", "--tier", "smoke",
                    "--out", str(runs / "cube_pronation" / "softflow" / "seed0")], env=env, check=True,
                   capture_output=True, timeout=300)
    out = tmp_path / "lb.md"
    subprocess.run([sys.executable, "-m", "softflow_bench.tools.leaderboard", "--runs", str(runs), "--out", str(out)],
                   check=True, capture_output=True, timeout=60)
    text = out.read_text()
    summary = json.loads((runs / "cube_pronation" / "softflow" / "seed0" / "summary.json").read_text())
    final = summary["final"]["success_rate"]
    assert "| cube_pronation | softflow | smoke | 0 |" in text.split("## Every run")[1]
    assert "## Mean over seeds" in text
    assert f"→ {final:.2f}" in text
    assert "python -m softflow_bench.run --algo softflow --env cube_pronation --tier smoke --seed 0" in text
    empty = subprocess.run([sys.executable, "-m", "softflow_bench.tools.leaderboard", "--runs", str(tmp_path / "none"),
                            "--out", str(tmp_path / "x.md")], capture_output=True, text=True, timeout=60)
    assert empty.returncode != 0 and "no finished runs" in empty.stderr and not (tmp_path / "x.md").exists()


def test_aggregate_averages_seeds_and_counts_improvements():
    from softflow_bench.tools.leaderboard import aggregate

    def run(seed, before, final):
        return {"env": "cube_pronation", "algo": "softflow", "tier": "quick", "seed": seed, "online_episodes": 30,
                "before": {"success_rate": before}, "final": {"success_rate": final}}

    (row,) = aggregate([run(0, 0.1, 0.5), run(1, 0.3, 0.3)], ["success_rate"])
    assert row["seeds"] == [0, 1]
    assert row["success_rate_before"] == pytest.approx((0.2, 0.1))
    assert row["success_rate_final"] == pytest.approx((0.4, 0.1))
    assert row["improved"] == (1, 2)  # seed 1 stayed level: not an improvement
