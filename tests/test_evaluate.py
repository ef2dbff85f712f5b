"""`python -m softflow_bench.tools.evaluate` re-evaluates a real finished run through the CLI."""

import json
import subprocess
import sys

import pytest

from softflow_bench.tools.evaluate import wilson_interval

EVALUATE = [sys.executable, "-m", "softflow_bench.tools.evaluate"]


def test_wilson_interval_matches_known_values():
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(20, 20) == pytest.approx((0.8389, 1.0), abs=1e-4)


def test_reevaluation_of_a_cube_run_is_deterministic_and_bad_input_writes_nothing(tmp_path, smoke_cube_run):
    run, env = smoke_cube_run
    results = tmp_path / "evals"
    tables = []
    for name in ("a", "b"):
        proc = subprocess.run(EVALUATE + [str(run), "--episodes", "3", "--name", name, "--results", str(results)],
                              env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        tables.append(json.loads((results / f"{name}.json").read_text()))
    (row,) = tables[0]["rows"]
    assert row["episodes"] == 3 and row["algo"] == "softflow" and row["policy"] == "final_policy.pt"
    assert row["settings"] == "default"  # the smoke tier's own run: nothing changed from its defaults
    assert {"turns_mean", "drop_rate", "return_mean"} <= set(row)
    lo, hi = row["success_ci95"]
    assert lo <= row["success_rate"] <= hi
    # the same fixed seeds and sampling generator: the same numbers on a second evaluation
    assert tables[1]["rows"][0]["turns_mean"] == row["turns_mean"]
    assert tables[1]["rows"][0]["return_mean"] == row["return_mean"]
    # one record per episode, on the fixed evaluation seeds, that the aggregates are made of
    records = row["episode_records"]
    assert [r["seed"] for r in records] == [1_000_000 + i for i in range(3)]
    assert sum(r["success"] for r in records) / 3 == row["success_rate"]
    text = (results / "a.md").read_text()
    assert "Regenerate: `python -m softflow_bench.tools.evaluate" in text
    commit = json.loads((run / "summary.json").read_text())["git_commit"]
    assert row["git_commit"] == commit and f"Runs started from commit {commit[:10]}." in text

    # --candidates overrides the run's own N (1: the policy's samples alone) and says so in the table
    proc = subprocess.run(EVALUATE + [str(run), "--episodes", "2", "--candidates", "1", "--name", "n1",
                                      "--results", str(results)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    n1 = json.loads((results / "n1.json").read_text())["rows"][0]
    assert n1["candidates"] == 1 != row["candidates"]
    assert n1["settings"] == "default"  # the run's own settings: --candidates is the evaluation's, said below
    assert "except N = 1 chunks sampled per decision" in (results / "n1.md").read_text()
    # --temperature likewise (a run made before its family's temperature was chosen)
    proc = subprocess.run(EVALUATE + [str(run), "--episodes", "2", "--temperature", "0.3", "--name", "t",
                                      "--results", str(results)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((results / "t.json").read_text())["rows"][0]["temperature"] == 0.3
    assert "except the temperature, 0.3" in (results / "t.md").read_text()
    # --pick-pessimism and --validation: another pick rule, on the seeds settings are chosen on
    proc = subprocess.run(EVALUATE + [str(run), "--episodes", "2", "--pick-pessimism", "1", "--validation",
                                      "--name", "lcb", "--results", str(results)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lcb = json.loads((results / "lcb.json").read_text())["rows"][0]
    assert lcb["pick_pessimism"] == 1 and lcb["validation"] and row["pick_pessimism"] == 0
    assert [r["seed"] for r in lcb["episode_records"]] == [2_000_000, 2_000_001]
    text = (results / "lcb.md").read_text()
    assert "Validation seeds 2,000,000 + i" in text and "except pick_pessimism = 1.0" in text

    # two re-evaluations of one run compared episode by episode, on the episodes both played
    proc = subprocess.run([sys.executable, "-m", "softflow_bench.tools.paired", str(results / "a.json"),
                           str(results / "t.json")], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    hot = {r["seed"]: r["success"] for r in json.loads((results / "t.json").read_text())["rows"][0]["episode_records"]}
    change = sum(hot[k] - r["success"] for r in records if (k := r["seed"]) in hot) / len(hot)
    assert f"pooled: {change:+.3f}" in proc.stdout and "over 2 episode pairs" in proc.stdout
    stale = json.loads((results / "t.json").read_text())
    del stale["rows"][0]["episode_records"]
    (results / "old.json").write_text(json.dumps(stale))
    proc = subprocess.run([sys.executable, "-m", "softflow_bench.tools.paired", str(results / "a.json"),
                           str(results / "old.json")], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "kept no per-episode records" in proc.stderr

    # a run with a changed field is labelled with it, and is its own group in the mean table
    other = tmp_path / "runs" / "other"
    subprocess.run([sys.executable, "-m", "softflow_bench.run", "--env", "cube_pronation", "--tier", "smoke",
                    "--explore-temperature", "0.7", "--out", str(other)], env=env, check=True, capture_output=True,
                   timeout=300)
    proc = subprocess.run(EVALUATE + [str(run), str(other), "--episodes", "1", "--name", "two", "--results",
                                      str(results)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [r["settings"] for r in json.loads((results / "two.json").read_text())["rows"]] == [
        "default", "explore_temperature=0.7"]
    means = (results / "two.md").read_text().split("Mean ± std over seeds:")[1]
    assert "| softflow | default | final_policy.pt | 1 |" in means
    assert "| softflow | explore_temperature=0.7 | final_policy.pt | 1 |" in means

    bad_args = ([str(run), str(tmp_path / "missing")], [str(run), "--policy", "nope.pt"], [str(run), "--episodes", "0"],
                [str(run), "--candidates", "0"], [str(run), "--pick-pessimism", "-1"])
    for bad in bad_args:
        proc = subprocess.run(EVALUATE + bad + ["--name", "bad", "--results", str(results)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and proc.stderr.startswith("error:"), proc.stderr
        assert not (results / "bad.md").exists()
