"""The leaderboard is built from real run summaries (a smoke run through the CLI)."""

import json
import shutil
import subprocess
import sys

import mujoco
import pytest

from softflow_bench.config import FORMAT_VERSION


def test_leaderboard_tabulates_real_runs(tmp_path, smoke_cube_run):
    runs = tmp_path / "runs"
    shutil.copytree(smoke_cube_run[0], runs / "cube_pronation" / "softflow" / "smoke" / "seed0")
    # a copy elsewhere (as --out makes) is not the run its row's command reproduces: skipped, said so
    shutil.copytree(runs / "cube_pronation" / "softflow", runs / "cube_pronation" / "softflow_copy")
    # nor is a run at its default place made with a field given (here --bc-weight 7 as its saved config)
    variant = runs / "cube_pronation" / "softflow" / "smoke" / "seed1"
    shutil.copytree(runs / "cube_pronation" / "softflow" / "smoke" / "seed0", variant)
    made_with = json.loads((variant / "summary.json").read_text())
    made_with.update(seed=1, config={**made_with["config"], "seed": 1, "bc_weight": 7.0})
    (variant / "summary.json").write_text(json.dumps(made_with))
    # and one saved in another format (before versions) cannot say what its fields meant
    older = runs / "cube_pronation" / "softflow" / "smoke" / "seed2"
    shutil.copytree(runs / "cube_pronation" / "softflow" / "smoke" / "seed0", older)
    unversioned = json.loads((older / "summary.json").read_text())
    del unversioned["config"]["format_version"]
    (older / "summary.json").write_text(json.dumps({**unversioned, "seed": 2}))
    out = tmp_path / "lb.md"
    made = subprocess.run([sys.executable, "-m", "softflow_bench.tools.leaderboard", "--runs", str(runs),
                           "--out", str(out)], check=True, capture_output=True, text=True, timeout=60)
    assert "skipped" in made.stdout and "softflow_copy" in made.stdout
    assert f"skipped {variant}: made with bc_weight=7.0" in made.stdout
    assert f"skipped {older / 'summary.json'}: not a readable run summary (ConfigError: saved in format from " \
           "before versions" in made.stdout
    text = out.read_text()
    summary = json.loads((runs / "cube_pronation" / "softflow" / "smoke" / "seed0" / "summary.json").read_text())
    final = summary["final"]["success_rate"]
    assert "| cube_pronation | softflow | smoke | 30 | 0 |" in text.split("## Every run")[1]
    assert "| cube_pronation | softflow | smoke | 30 | 1 |" not in text
    assert "## Mean over seeds" in text
    assert f"→ {final:.2f}" in text
    assert "python -m softflow_bench.run --algo softflow --env cube_pronation --tier smoke --seed 0" in text
    # the committed table is the record: a found run replaces its row, other rows are kept
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["format_version"] == FORMAT_VERSION
    committed = saved["rows"]
    # the row keeps the libraries and the code the run was made with
    assert committed[0]["versions"] == summary["versions"] and committed[0]["versions"]["mujoco"] == mujoco.__version__
    from softflow_bench.records import run_code_fingerprint

    assert committed[0]["code"] == summary["code"] == run_code_fingerprint()
    stale = {**committed[0], "final": {**committed[0]["final"], "success_rate": 0.123}}
    kept = {**committed[0], "env": "scissors_tape", "algo": "sac", "tier": "quick", "git_commit": "0ldc0mm1t0",
            "bc_steps": 3000}
    del kept["config"]  # a row from before configs were recorded
    out.with_suffix(".json").write_text(json.dumps({"format_version": FORMAT_VERSION, "rows": [stale, kept]}))
    subprocess.run([sys.executable, "-m", "softflow_bench.tools.leaderboard", "--runs", str(runs), "--out", str(out)],
                   check=True, capture_output=True, timeout=60)
    text = out.read_text()
    every_run = text.split("## Every run")[1]
    assert "0.12" not in every_run and f"→ {final:.2f}" in every_run
    assert "| cube_pronation | softflow | smoke | 30 | 0 |" in every_run
    assert "| scissors_tape | sac | quick | 3,000 | 0 |" in every_run and "0ldc0mm1t0" in every_run
    # a row committed without its config cannot show it is today's recipe: listed apart, compared with nothing
    means, earlier = text.split("## Every run")[0].split("## Earlier rows")
    assert "| cube_pronation | softflow | smoke |" in means and "scissors_tape" not in means
    assert "| scissors_tape | sac | quick |" in earlier
    assert "scissors_tape" not in text.split("## Interval estimates")[1]
    assert "today's | " in every_run and "earlier | 0ldc0mm1t0" in every_run
    # nor does one whose defaults have changed since it was made
    changed = {**committed[0], "seed": 5, "config": {**committed[0]["config"], "bc_weight": 7.0}}
    out.with_suffix(".json").write_text(json.dumps({"format_version": FORMAT_VERSION, "rows": [stale, kept, changed]}))
    subprocess.run([sys.executable, "-m", "softflow_bench.tools.leaderboard", "--runs", str(runs), "--out", str(out)],
                   check=True, capture_output=True, timeout=60)
    assert "| cube_pronation | softflow | smoke | 30 | 5 |" in out.read_text().split("## Earlier rows")[1]
    subprocess.run([sys.executable, "-m", "softflow_bench.tools.leaderboard", "--runs", str(runs), "--out", str(out),
                    "--fresh"], check=True, capture_output=True, timeout=60)
    assert "scissors_tape" not in out.read_text()
    # a table of another format is refused, and left as it was
    out.with_suffix(".json").write_text(json.dumps([stale, kept]))
    old = subprocess.run([sys.executable, "-m", "softflow_bench.tools.leaderboard", "--runs", str(runs),
                          "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert old.returncode == 2 and "format None" in old.stderr
    assert json.loads(out.with_suffix(".json").read_text()) == [stale, kept]
    empty = subprocess.run([sys.executable, "-m", "softflow_bench.tools.leaderboard", "--runs", str(tmp_path / "none"),
                            "--out", str(tmp_path / "x.md")], capture_output=True, text=True, timeout=60)
    assert empty.returncode != 0 and "no finished runs" in empty.stderr and not (tmp_path / "x.md").exists()


def test_aggregate_averages_seeds_and_counts_improvements():
    from softflow_bench.tools.leaderboard import aggregate

    def run(seed, before, final):
        return {"env": "cube_pronation", "algo": "softflow", "tier": "quick", "bc_steps": 30000, "seed": seed,
                "online_episodes": 30,
                "before": {"success_rate": before}, "final": {"success_rate": final}}

    (row,) = aggregate([run(0, 0.1, 0.5), run(1, 0.3, 0.3)], ["success_rate"])
    assert row["seeds"] == [0, 1]
    assert row["success_rate_before"] == pytest.approx((0.2, 0.1))
    assert row["success_rate_final"] == pytest.approx((0.4, 0.1))
    assert row["improved"] == (1, 2)  # seed 1 stayed level: not an improvement


def test_diffusion_rows_name_their_denoiser_and_eps_and_x0_seeds_are_not_averaged_together():
    from softflow_bench.tools.leaderboard import aggregate, algo_label

    def run(seed, **extra):
        return {"env": "cube_pronation", "algo": "diffusion", "tier": "quick", "bc_steps": 30000, "seed": seed,
                "online_episodes": 30, "before": {"success_rate": 0.1}, "final": {"success_rate": 0.2}, **extra}

    eps, x0 = run(0, diffusion_prediction="eps"), run(1, diffusion_prediction="x0")
    assert algo_label(eps) == "diffusion (eps)" and algo_label(x0) == "diffusion (x0)"
    assert algo_label({"algo": "softflow"}) == "softflow"
    assert [a["algo"] for a in aggregate([eps, x0], ["success_rate"])] == [
        "diffusion (eps)", "diffusion (x0)"]


def test_a_row_trained_on_a_gpu_says_so_and_its_command_asks_for_one():
    from softflow_bench.tools.leaderboard import _ran_on, trained_on_gpu

    def summary(device, cuda):
        return {"config": {"device": device}, "machine": {"cpus": 16, "cuda": cuda}, "versions": {"torch": "2.11"}}

    assert trained_on_gpu(summary("cuda", True)) and trained_on_gpu(summary("auto", True))
    assert not trained_on_gpu(summary("cpu", True)) and not trained_on_gpu(summary("auto", False))
    assert _ran_on(summary("cuda", True)) == "torch 2.11, 16 CPUs, CUDA GPU"
    assert _ran_on(summary("cpu", True)) == "torch 2.11, 16 CPUs"
    assert _ran_on({**summary("cpu", False), "machine": {"cpus": 2, "cpu_capability": "AVX2"}}) == (
        "torch 2.11, 2 CPUs (AVX2)")


def test_paired_compares_two_algorithms_rows_of_the_leaderboard(tmp_path, smoke_cube_run):
    """tools.paired on the leaderboard's table: an algorithm's final evaluations against another's on
    the episodes both played, from the rows today's defaults make only."""
    runs = tmp_path / "runs"
    shutil.copytree(smoke_cube_run[0], runs / "cube_pronation" / "softflow" / "smoke" / "seed0")
    out = tmp_path / "lb.md"
    subprocess.run([sys.executable, "-m", "softflow_bench.tools.leaderboard", "--runs", str(runs), "--out", str(out)],
                   check=True, capture_output=True, timeout=60)
    table = out.with_suffix(".json")
    row = json.loads(table.read_text())["rows"][0]
    assert row["final_episodes"]
    # a row made under other defaults, with the opposite outcomes, must not count
    changed = {**row, "seed": 5, "config": {**row["config"], "seed": 5, "bc_weight": 7.0},
               "final_episodes": {k: 1.0 - v for k, v in row["final_episodes"].items()}}
    table.write_text(json.dumps({"format_version": FORMAT_VERSION, "rows": [row, changed]}))

    def paired(*args):
        return subprocess.run([sys.executable, "-m", "softflow_bench.tools.paired", str(table), str(table),
                               "--env", "cube_pronation", *args], capture_output=True, text=True, timeout=60)

    same = paired("--before-algo", "softflow", "--after-algo", "softflow", "--tier", "smoke")
    assert same.returncode == 0, same.stderr
    assert "softflow - softflow" in same.stdout
    assert f"pooled: +0.000 [+0.000, +0.000] over {len(row['final_episodes'])} episode pairs" in same.stdout
    missing = paired("--before-algo", "softflow", "--after-algo", "sac", "--tier", "smoke")
    assert missing.returncode == 2 and "no current rows of sac on cube_pronation (smoke tier)" in missing.stderr
    # one side a leaderboard's rows, the other a sweep's runs of the same starts (a recipe against
    # the row it would replace): the run's own final evaluation, as tools.sweep keeps it
    from softflow_bench.tools.leaderboard import episode_records

    run = smoke_cube_run[0]
    records = episode_records(run, json.loads((run / "summary.json").read_text())["final"])
    sweep = tmp_path / "sweep.json"
    sweep.write_text(json.dumps({"rows": [{"value": "x", "seed": 0, "episode_records": records}]}))
    mixed = subprocess.run([sys.executable, "-m", "softflow_bench.tools.paired", str(table), str(sweep), "--env",
                            "cube_pronation", "--before-algo", "softflow", "--after-value", "x", "--tier", "smoke"],
                           capture_output=True, text=True, timeout=60)
    assert mixed.returncode == 0, mixed.stderr
    assert "sweep x - softflow" in mixed.stdout and f"over {len(records)} episode pairs" in mixed.stdout
    no_env = subprocess.run([sys.executable, "-m", "softflow_bench.tools.paired", str(table), str(sweep),
                             "--before-algo", "softflow"], capture_output=True, text=True, timeout=60)
    assert no_env.returncode == 2 and "takes --env" in no_env.stderr
    table.write_text("not json")  # read as the leaderboard reads its committed table
    damaged = paired("--before-algo", "softflow", "--after-algo", "softflow", "--tier", "smoke")
    assert damaged.returncode == 2 and "is not a leaderboard table (not JSON" in damaged.stderr
