"""The leaderboard is built from real run summaries (a smoke run through the CLI)."""

import json
import os
import subprocess
import sys


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
    assert "| cube_pronation | softflow | smoke | 0 |" in text
    assert f"→ {final:.2f}" in text
    assert "python -m softflow_bench.run --algo softflow --env cube_pronation --tier smoke --seed 0" in text
    empty = subprocess.run([sys.executable, "-m", "softflow_bench.tools.leaderboard", "--runs", str(tmp_path / "none"),
                            "--out", str(tmp_path / "x.md")], capture_output=True, text=True, timeout=60)
    assert empty.returncode != 0 and "no finished runs" in empty.stderr and not (tmp_path / "x.md").exists()
