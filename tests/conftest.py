import os

import pytest

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
    return root, dict(os.environ, MINARI_DATASETS_PATH=str(root / "minari"), PYTHONUNBUFFERED="1",
                      SOFTFLOW_BENCH_CACHE=str(root / "bc_cache"))
