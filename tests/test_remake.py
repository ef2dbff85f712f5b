"""`python -m softflow_bench.tools.remake` on a real smoke run against tables made from it: a run
matches its own row, a changed row is told apart, a run still training is compared as far as it got."""

import json
import shutil
import subprocess
import sys

REMAKE = [sys.executable, "-m", "softflow_bench.tools.remake"]


def _table(path, rows):
    from softflow_bench.config import FORMAT_VERSION

    path.write_text(json.dumps({"format_version": FORMAT_VERSION, "rows": rows}))
    return path


def test_a_run_remakes_its_own_row_and_a_changed_row_is_told_apart(smoke_cube_run, tmp_path):
    from softflow_bench.tools.leaderboard import rows

    run, env = smoke_cube_run
    (row,) = rows(run.parents[3], say=lambda *_: None)
    same = subprocess.run(REMAKE + [str(run), "--table", str(_table(tmp_path / "t.json", [row]))], env=env,
                          capture_output=True, text=True, timeout=300)
    assert same.returncode == 0, same.stderr
    n = len(row["final_episodes"])
    assert f"| {n} of {n} | yes |" in same.stdout

    seed = next(iter(row["final_episodes"]))
    flipped = {**row, "final_episodes": {**row["final_episodes"], seed: 1.0 - row["final_episodes"][seed]},
               "final": {**row["final"], "success_rate": row["final"]["success_rate"] + 0.5}}
    other = subprocess.run(REMAKE + [str(run), "--table", str(_table(tmp_path / "f.json", [flipped]))], env=env,
                           capture_output=True, text=True, timeout=300)
    assert other.returncode == 1 and "| no |" in other.stdout
    assert "final episodes" in other.stdout and "final success_rate" in other.stdout
    assert f"| {n - 1} of {n} | no |" in other.stdout

    # a field the algorithm reads is a different run; one it never reads (a flow's denoiser steps) is not
    read = {**row, "config": {**row["config"], "gamma": 0.5}}
    unread = {**row, "config": {**row["config"], "diffusion_steps": row["config"]["diffusion_steps"] + 1}}
    for table, code in ((read, 1), (unread, 0)):
        got = subprocess.run(REMAKE + [str(run), "--table", str(_table(tmp_path / "c.json", [table]))], env=env,
                             capture_output=True, text=True, timeout=300)
        assert got.returncode == code and ("config gamma" in got.stdout) == (code == 1), got.stdout

    training = tmp_path / "training"  # a run still training: its summary not written yet
    shutil.copytree(run, training)
    (training / "summary.json").unlink()
    so_far = subprocess.run(REMAKE + [str(training), "--table", str(tmp_path / "t.json")], env=env,
                            capture_output=True, text=True, timeout=300)
    assert so_far.returncode == 0 and "| so far |" in so_far.stdout
    (training / "metrics.jsonl").unlink()  # started, not evaluated yet
    started = subprocess.run(REMAKE + [str(training), "--table", str(tmp_path / "t.json")], env=env,
                             capture_output=True, text=True, timeout=300)
    assert started.returncode == 0 and f"| 0 of {len(row['curve'])} |" in started.stdout

    missing = subprocess.run(REMAKE + [str(run), "--table", str(_table(tmp_path / "m.json", [{**row, "seed": 7}]))],
                             env=env, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "no row for" in missing.stderr and not missing.stdout
