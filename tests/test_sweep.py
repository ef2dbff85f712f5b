"""The sweep tool runs the real CLI per (value, seed) and tabulates what the runs wrote."""

import json
import os
import subprocess
import sys


def test_sweep_over_seeds_tabulates_each_run_and_the_mean(tmp_path):
    env = dict(os.environ, MINARI_DATASETS_PATH=str(tmp_path / "minari"), SOFTFLOW_BENCH_CACHE=str(tmp_path / "c"))
    cmd = [sys.executable, "-m", "softflow_bench.tools.sweep", "--env", "cube_pronation", "--algo", "softflow",
           "--field", "temperature", "--values", "0.5", "--seeds", "0", "1", "--tier", "smoke", "--jobs", "2",
           "--results", str(tmp_path / "sweeps"), "--", "--online-episodes", "1"]
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
    name = "softflow_temperature_cube_pronation_smoke"
    rows = json.loads((tmp_path / "sweeps" / f"{name}.json").read_text())["rows"]
    assert [(r["value"], r["seed"]) for r in rows] == [("0.5", 0), ("0.5", 1)]
    for r in rows:
        summary = json.loads((tmp_path / "sweeps" / name / "0.5" / f"seed{r['seed']}" / "summary.json").read_text())
        assert summary["config"]["temperature"] == 0.5 and summary["seed"] == r["seed"]
        assert r["success_rate"] == summary["final"]["success_rate"]
        assert r["offline success_rate"] == summary["curve"][0]["success_rate"]  # the point before online RL
        run = tmp_path / "sweeps" / name / "0.5" / f"seed{r['seed']}"
        kept = (run / summary["final"]["episodes_file"]).read_text().splitlines()
        assert r["episode_records"] == [json.loads(line) for line in kept]  # for tools.paired
    text = (tmp_path / "sweeps" / f"{name}.md").read_text()
    mean = sum(r["drop_rate"] for r in rows) / 2
    assert "seeds 0, 1" in text and "| **0.5** | mean |" in text and f"**{mean:.3f}**" in text
    assert f"Runs started from commit {rows[0]['git_commit'][:10]}." in text  # which code made the numbers
    # a second call finds both runs finished and only rewrites the table
    again = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, timeout=120)
    assert "running:" not in again.stdout
    # a sweep of the same name that would show these runs under another command, or drop some, is refused
    table_before = (tmp_path / "sweeps" / f"{name}.json").read_text()
    other = subprocess.run(cmd[:-1] + ["2"], env=env, capture_output=True, text=True, timeout=120)
    assert other.returncode == 2 and "made with other online_episodes (saved 1, now 2)" in other.stderr
    at = cmd.index("--seeds")
    narrower = subprocess.run(cmd[:at + 2] + cmd[at + 3:], env=env, capture_output=True, text=True, timeout=120)
    assert narrower.returncode == 2 and "would drop from it (0.5/seed1)" in narrower.stderr
    assert (tmp_path / "sweeps" / f"{name}.json").read_text() == table_before

    def paired(*args):
        return subprocess.run([sys.executable, "-m", "softflow_bench.tools.paired", *args], env=env,
                              capture_output=True, text=True, timeout=60)

    table = str(tmp_path / "sweeps" / f"{name}.json")
    same = paired(table, table, "--after-value", "0.5")
    assert same.returncode == 0, same.stderr
    assert "pooled: +0.000 [+0.000, +0.000] over 4 episode pairs" in same.stdout  # 2 seeds x 2 episodes
    absent = paired(table, table, "--after-value", "0.7")
    assert absent.returncode == 2 and "no rows of the swept value '0.7'" in absent.stderr


def test_a_switch_is_swept_as_true_and_false_and_a_frozen_actor_keeps_the_bc_policy(tmp_path):
    """--no-finetune-actor (the select-only ablation): the critic learns, the policy stays the BC one."""
    import torch

    env = dict(os.environ, MINARI_DATASETS_PATH=str(tmp_path / "minari"), SOFTFLOW_BENCH_CACHE=str(tmp_path / "c"))
    cmd = [sys.executable, "-m", "softflow_bench.tools.sweep", "--env", "cube_pronation", "--algo", "diffusion",
           "--field", "finetune_actor", "--values", "false", "--tier", "smoke", "--name", "frozen_actor",
           "--results", str(tmp_path / "sweeps"), "--", "--online-episodes", "1"]
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
    run = tmp_path / "sweeps" / "frozen_actor" / "false" / "seed0"  # --name names the runs' folder and table
    assert (tmp_path / "sweeps" / "frozen_actor.md").is_file()
    assert json.loads((run / "summary.json").read_text())["config"]["finetune_actor"] is False
    bc, final = (torch.load(run / f, weights_only=True)["agent"] for f in ("bc_policy.pt", "final_policy.pt"))
    assert all(torch.equal(bc[k], final[k]) for k in bc if k.startswith("policy."))
    assert not all(torch.equal(bc[k], final[k]) for k in bc if k.startswith("critic."))


def test_a_bad_field_or_switch_value_is_refused_before_anything_runs(tmp_path):
    base = [sys.executable, "-m", "softflow_bench.tools.sweep", "--env", "cube_pronation", "--tier", "smoke",
            "--results", str(tmp_path / "sweeps")]
    for args, said in ((["--field", "no_such_field", "--values", "1"], "not a RunConfig field"),
                       (["--field", "finetune_actor", "--values", "0"], "values are true and false")):
        done = subprocess.run(base + args, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and said in done.stderr
    assert not (tmp_path / "sweeps").exists()


def test_a_value_of_the_wrong_type_or_a_bad_run_is_refused_before_anything_runs(tmp_path):
    """Every run of the sweep is checked up front, as the CLI would check it: one clear error, no files."""
    base = [sys.executable, "-m", "softflow_bench.tools.sweep", "--env", "cube_pronation", "--tier", "smoke",
            "--results", str(tmp_path / "sweeps")]
    cases = ((["--field", "bc_steps", "--values", "10", "ten"], "takes int values, got 'ten'"),
             # the second value is well typed but not a valid run: the first must not start either
             (["--field", "gamma", "--values", "0.9", "1.5"], "gamma=1.5, seed 0: --gamma must be in (0, 1]"),
             (["--field", "bc_steps", "--values", "10", "--", "--critics", "0"], "--critics must be at least 1"),
             (["--field", "bc_steps", "--values", "10", "--algo", "bc_flow", "--env", "nope"], "unknown env"))
    for args, said in cases:
        done = subprocess.run(base + args, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and said in done.stderr, done.stderr
    assert not (tmp_path / "sweeps").exists()
