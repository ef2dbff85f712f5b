import os

import pytest
from smoke_policy import cli_env

# Keep test datasets out of the user's cache, and render headless.
os.environ.setdefault("MUJOCO_GL", "egl")
# One thread per process, as every run has (RunConfig.threads): the suite run beside training runs on
# a small machine then shares the cores instead of spinning against them (two processes with torch's
# default threads on two cores each ran about 5x slower). Set before torch is first imported, so it
# also holds for the subprocesses and their OpenMP pools.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def _isolated_minari(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    monkeypatch.setenv("SOFTFLOW_BENCH_CACHE", str(tmp_path / "bc_cache"))


@pytest.fixture(scope="module")
def shared_env(tmp_path_factory):
    """(root, environment) for CLI subprocesses: one dataset and one BC cache for the whole test
    module, as a user's machine would have."""
    root = tmp_path_factory.mktemp("cli")
    return root, cli_env(root)


@pytest.fixture(scope="session")
def smoke_cube_run(tmp_path_factory):
    """(run directory, CLI environment) of one finished smoke-tier SOFT-FLOW run on the cube, made by
    the real CLI at its default place under <root>/runs, shared by every test that reads a finished
    run (leaderboard, evaluate, diagnostics). Read it or copy it; never change it."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("smoke_cube")
    env = cli_env(root)
    run = root / "runs" / "cube_pronation" / "softflow" / "smoke" / "seed0"
    proc = subprocess.run([sys.executable, "-m", "softflow_bench.run", "--env", "cube_pronation", "--tier", "smoke",
                           "--out", str(run)], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return run, env


def pytest_benchmark_update_machine_info(config, machine_info):
    """Saved benchmark figures (--benchmark-json) say which torch build and thread count made them."""
    import torch

    machine_info["torch"] = {"version": torch.__version__, "threads": torch.get_num_threads(),
                             "mkldnn": torch.backends.mkldnn.is_available(), "cuda": torch.version.cuda}
