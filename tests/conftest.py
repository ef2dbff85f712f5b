import os

import pytest
from smoke_policy import cli_env

# Keep test datasets out of the user's cache, and render headless.
os.environ.setdefault("MUJOCO_GL", "egl")


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


def pytest_benchmark_update_machine_info(config, machine_info):
    """Saved benchmark figures (--benchmark-json) say which torch build and thread count made them."""
    import torch

    machine_info["torch"] = {"version": torch.__version__, "threads": torch.get_num_threads(),
                             "mkldnn": torch.backends.mkldnn.is_available(), "cuda": torch.version.cuda}
