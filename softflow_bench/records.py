"""What a run records about itself: the code and machine it ran with (provenance.json) and its
summary (summary.json), written the same way by a simulated run and by a real fine-tuning."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import platform
import subprocess
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

import softflow_bench
from softflow_bench.config import FORMAT_VERSION, RunConfig, saved_form

#: The packages whose code computes a run: every one but the tools (which read runs) and the real
#: hand's drivers (whose runs no code remakes).
RUN_CODE_PACKAGES = ("softflow_bench", "softflow_bench.experts", "softflow_bench.envs", "softflow_bench.baselines",
                     "softflow_bench.assets")


def run_code_files() -> list[Path]:
    """The files a run's code fingerprint is made of: the modules of RUN_CODE_PACKAGES and the
    tasks' data files (the cube's gaits), in a fixed order."""
    files = []
    for package in RUN_CODE_PACKAGES:
        folder = Path(importlib.util.find_spec(package).submodule_search_locations[0])
        files += sorted(p for p in folder.iterdir() if p.suffix in (".py", ".json", ".xml"))
    return files


@functools.cache
def run_code_fingerprint() -> str:
    """Short hash of the code that computes a run (modules as syntax trees: comments, docstrings and
    layout left out; data files byte for byte). A run resumed under another fingerprint would be made
    by two versions of the code and remade by neither, so run.py refuses that resume."""
    from softflow_bench.demos import code_fingerprint

    parts = [code_fingerprint(p.read_text()) if p.suffix == ".py" else p.read_bytes() for p in run_code_files()]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


def provenance() -> dict:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        commit = ""
    # A copy of a clean checkout without .git (a lent machine, a container) names its commit here.
    commit = commit or os.environ.get("SOFTFLOW_BENCH_GIT_COMMIT", "unknown")
    import mujoco

    return {"git_commit": commit, "code": run_code_fingerprint(), "versions": {
        "softflow_bench": softflow_bench.__version__, "python": platform.python_version(),
        "torch": torch.__version__, "mujoco": mujoco.__version__, "gymnasium": gym.__version__,
        "numpy": np.__version__}, "machine": {
            "cpus": os.cpu_count(), "cuda": torch.cuda.is_available(),
            # the vector instructions torch's CPU kernels use: runs that differ in it are not
            # bit-comparable (their float sums are ordered differently), all else equal
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}}


def write_summary(out: Path, cfg: RunConfig, env_id: str, origin: dict, state: dict, **extra) -> dict:
    """summary.json: the run's config, provenance, budget used, curve and final evaluation."""
    summary = {"format_version": FORMAT_VERSION, "env": cfg.env, "env_id": env_id, "algo": cfg.algo,
               "seed": cfg.seed, "tier": cfg.tier, "config": saved_form(cfg), **origin, **extra,
               "wall_time_s": state["wall_time_s"], "seconds": state.get("seconds", {}),
               "online_env_steps": state["online_env_steps"], "online_episodes": state["online_episodes"],
               "curve": state["curve"], "final": state["curve"][-1] if state["curve"] else None}
    (Path(out) / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
