import os

import pytest

# Keep test datasets out of the user's cache, and render headless.
os.environ.setdefault("MUJOCO_GL", "egl")


@pytest.fixture(autouse=True)
def _isolated_minari(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    monkeypatch.setenv("SOFTFLOW_BENCH_CACHE", str(tmp_path / "bc_cache"))
