"""The grid on a real local Ray instance: smoke runs of two algorithms, finished runs skipped, and a
run killed mid-way that Ray tries again, resuming, to the same result as an uninterrupted one."""

import json
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("ray")

GRID = [sys.executable, "-m", "softflow_bench.tools.grid"]


def test_a_grid_runs_on_local_ray_skips_what_is_done_and_refuses_bad_runs(shared_env, tmp_path):
    _, env = shared_env
    storage = tmp_path / "runs"
    args = GRID + ["--envs", "cube_pronation", "--algos", "softflow", "sac_chunked", "--seeds", "0", "--tier", "smoke",
                   "--storage", str(storage), "--cpus", "2"]
    first = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert "2 runs to do, 0 finished already" in first.stdout and "2 of 2 runs finished" in first.stdout
    for algo in ("softflow", "sac_chunked"):
        summary = json.loads((storage / "cube_pronation" / algo / "smoke" / "seed0" / "summary.json").read_text())
        assert summary["config"]["threads"] == 1 and summary["online_episodes"] == 2
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "0 runs to do, 2 finished already" in again.stdout
    # today's command would make them differently (as after a default changes): listed, kept, skipped
    changed = args + ["--", "--final-eval-episodes", "3"]
    listed = subprocess.run(changed, env=env, capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stdout[-2000:] + listed.stderr[-2000:]
    assert "0 runs to do, 0 finished already, 2 stale" in listed.stdout
    assert "final_eval_episodes (saved 2, now 3)" in listed.stdout
    run_dir = storage / "cube_pronation" / "sac_chunked" / "smoke" / "seed0"
    old_final = json.loads((run_dir / "summary.json").read_text())["final"]
    rerun = subprocess.run(GRID + ["--envs", "cube_pronation", "--algos", "sac_chunked", "--tier", "smoke", "--storage",
                                   str(storage), "--cpus", "1", "--rerun-stale", "--", "--final-eval-episodes", "3"],
                           env=env, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    assert "1 of 1 runs finished" in rerun.stdout
    assert json.loads((run_dir / "summary.json").read_text())["config"]["final_eval_episodes"] == 3
    (earlier,) = [d for d in (run_dir.parent / "earlier").iterdir() if d.is_dir()]
    assert earlier.name.startswith("seed0-")  # nothing lost: the stale run, whole, where tables do not look
    assert json.loads((earlier / "summary.json").read_text())["final"] == old_final
    bad = subprocess.run(GRID + ["--envs", "cube_pronation", "--algos", "nope", "--tier", "smoke", "--storage",
                                 str(tmp_path / "other")], env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "choose one of" in bad.stderr and not (tmp_path / "other").exists()


def test_a_run_killed_mid_way_is_tried_again_and_ends_as_an_uninterrupted_one(shared_env, tmp_path):
    _, env = shared_env
    extra = ["--", "--bc-steps", "600", "--checkpoint-every", "50"]
    base = ["--envs", "cube_pronation", "--algos", "bc_flow", "--seeds", "3", "--tier", "smoke", "--cpus", "1"]
    uninterrupted = tmp_path / "plain"
    # a BC cache of each run's own, so that the killed run trains its BC (and is killed in it)
    subprocess.run(GRID + base + ["--storage", str(uninterrupted)] + extra, check=True, capture_output=True,
                   env={**env, "SOFTFLOW_BENCH_CACHE": str(tmp_path / "cache_plain")}, timeout=900)
    killed = tmp_path / "killed"
    run_dir = killed / "cube_pronation" / "bc_flow" / "smoke" / "seed3"

    def kill_once_checkpointed():
        deadline = time.time() + 600
        while not (run_dir / "checkpoint.pt").exists() and time.time() < deadline:
            time.sleep(0.1)
        subprocess.run(["pkill", "-9", "-f", f"out {run_dir}"], check=False)

    killer = threading.Thread(target=kill_once_checkpointed)
    killer.start()
    proc = subprocess.run(GRID + base + ["--storage", str(killed)] + extra, capture_output=True, text=True,
                          env={**env, "SOFTFLOW_BENCH_CACHE": str(tmp_path / "cache_killed")}, timeout=900)
    killer.join()
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    log = (run_dir.parent / "seed3.log").read_text()
    assert "resumed at stage bc" in log  # the second try continued from the checkpoint
    finals = [json.loads((d / "cube_pronation" / "bc_flow" / "smoke" / "seed3" / "summary.json").read_text())["final"]
              for d in (uninterrupted, killed)]
    assert finals[0] == finals[1]  # the same numbers, and the same episodes file name


def test_only_runs_whose_bc_policy_is_not_cached_yet_wait_for_the_one_that_trains_it():
    from softflow_bench.tools.grid import bc_order

    jobs = [{"seed": 0, "bc_key": "a.pt"}, {"seed": 1, "bc_key": "a.pt"}, {"seed": 2, "bc_key": None},
            {"seed": 3, "bc_key": None}, {"seed": 4, "bc_key": "b.pt"}, {"seed": 5, "bc_key": "a.pt"}]
    first, waiting = bc_order(jobs)
    assert [j["seed"] for j in first] == [0, 2, 3, 4]
    assert {k: [j["seed"] for j in v] for k, v in waiting.items()} == {"a.pt": [1, 5]}


def test_a_run_that_only_reads_a_bc_cache_is_not_waited_for_as_its_producer():
    """DSRL reads bc_diffusion's cache but does not write it: listed first, it must not hold back the
    runs that write that cache; alone, it starts at once (and trains stage 1 itself)."""
    from softflow_bench.tools.grid import bc_order

    jobs = [{"seed": 0, "bc_key": "d.pt", "writes": False}, {"seed": 1, "bc_key": "d.pt", "writes": True},
            {"seed": 2, "bc_key": "d.pt", "writes": True}, {"seed": 3, "bc_key": "e.pt", "writes": False}]
    first, waiting = bc_order(jobs)
    assert [j["seed"] for j in first] == [1, 3]
    assert {k: [j["seed"] for j in v] for k, v in waiting.items()} == {"d.pt": [0, 2]}


def test_a_run_finished_after_the_grid_listed_it_is_taken_as_it_is(tmp_path):
    """Two grids over the same storage (or a run started by hand) may finish a run the other has
    queued: the queued task then reads its result instead of starting it again."""
    from softflow_bench.tools.grid import one_run

    out = tmp_path / "cube_pronation" / "bc_flow" / "seed0"
    out.mkdir(parents=True)
    (out / "summary.json").write_text(json.dumps({"final": {"success_rate": 0.25}}))
    assert one_run("cube_pronation", "bc_flow", 0, "smoke", str(out), []) == {"success_rate": 0.25}
    assert sorted(p.name for p in out.parent.iterdir()) == ["seed0"]  # nothing run, no log begun



def test_an_interrupted_run_started_by_other_code_is_listed_stale_not_resumed(tmp_path, capsys):
    """run.py refuses to resume a run started by other code; the grid lists such a run as stale and
    skips it, and --rerun-stale's set_aside moves it, whole, under its starting commit."""
    from softflow_bench.config import run_place, saved_form
    from softflow_bench.records import provenance
    from softflow_bench.run import validated
    from softflow_bench.tools.grid import main, set_aside

    out = tmp_path / run_place("cube_pronation", "sac_chunked", 0, "smoke")
    out.mkdir(parents=True)
    argv = ["--algo", "sac_chunked", "--env", "cube_pronation", "--tier", "smoke", "--seed", "0", "--threads", "1",
            "--out", str(out)]
    (out / "config.json").write_text(json.dumps(saved_form(validated(argv)[0])))
    import torch

    torch.save({"device": "cpu"}, out / "checkpoint.pt")
    (out / "provenance.json").write_text(json.dumps({**provenance(), "git_commit": "0123456789ab", "code": "another"}))
    grid = ["--envs", "cube_pronation", "--algos", "sac_chunked", "--tier", "smoke", "--storage", str(tmp_path)]
    assert main(grid) == 0
    said = capsys.readouterr().out
    assert "made with other code than today's; skipped" in said and "0 runs to do" in said
    assert (out / "checkpoint.pt").exists()
    moved = set_aside(out)
    assert moved == out.parent / "earlier" / "seed0-0123456789" and (moved / "checkpoint.pt").exists()
