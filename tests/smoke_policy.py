"""A smoke-tier policy trained by the real CLI, for the tests that fine-tune one on a twin."""

import os
import subprocess
import sys
from pathlib import Path


def cli_env(root: Path) -> dict:
    """The environment of a CLI subprocess whose datasets and BC cache live under `root`."""
    return dict(os.environ, MINARI_DATASETS_PATH=str(root / "minari"), PYTHONUNBUFFERED="1",
                SOFTFLOW_BENCH_CACHE=str(root / "bc_cache"))


def train_smoke_policy(root: Path, env: str) -> Path:
    """A smoke-tier SOFT-FLOW run on `env` under `root`; its final policy's path."""
    out = root / "run"
    proc = subprocess.run([sys.executable, "-m", "softflow_bench.run", "--env", env, "--tier", "smoke",
                           "--out", str(out)], env=cli_env(root), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out / "final_policy.pt"
