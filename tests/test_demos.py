"""Demonstrations: a real Minari dataset through the real CLI, reproducibility, refusal of bad data."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from softflow_bench import demos


def test_cli_writes_a_dataset_and_reports_the_success_rate(tmp_path):
    env = dict(os.environ, MINARI_DATASETS_PATH=str(tmp_path / "minari"))
    cmd = [sys.executable, "-m", "softflow_bench.demos", "--env", "cube_pronation", "--episodes", "2", "--seed", "7"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert f"wrote {demos.dataset_id('cube_pronation', 2, 7)}" in out.stdout
    assert "expert success rate:" in out.stdout
    # each mode's count and success: together they make the overall rate
    rate = float(re.search(r"expert success rate: ([\d.]+)", out.stdout).group(1))
    parts = re.findall(r"(\w+) x(\d+) \(success ([\d.]+)\)", out.stdout)
    assert parts and sum(int(n) for _, n, _ in parts) == 2
    assert sum(int(n) * float(ok) for _, n, ok in parts) / 2 == pytest.approx(rate, abs=0.01)
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert "loaded cached" in again.stdout  # cached, not regenerated


def test_dataset_is_reproducible_from_its_seed():
    ds = demos.collect("cube_pronation", episodes=2, seed=11, progress=False)
    meta = ds.storage.metadata
    assert meta["softflow_env"] == "cube_pronation" and meta["softflow_seed"] == 11
    first = next(iter(ds.iterate_episodes([0])))
    import gymnasium as gym

    env = gym.make("softflow_bench/CubePronation-v0")
    buffer, _, _ = demos.rollout_expert("cube_pronation", env, 11)
    np.testing.assert_array_equal(first.observations, buffer.observations)
    np.testing.assert_array_equal(first.actions, buffer.actions)
    assert first.actions.shape[1] == 17 and first.observations.shape[1] == 60


def test_mismatched_dataset_is_refused():
    ds = demos.collect("cube_pronation", episodes=1, seed=0, progress=False)
    ds.storage.update_metadata({"softflow_env": "scissors_tape"})
    with pytest.raises(demos.DatasetError, match="recorded on 'scissors_tape'"):
        demos.load_dataset("cube_pronation", 1, 0)


def test_corrupt_dataset_is_refused_with_a_clear_error(tmp_path):
    demos.collect("cube_pronation", episodes=1, seed=1, progress=False)
    data_file = next(p for p in (tmp_path / "minari").rglob("*.hdf5"))
    data_file.write_bytes(b"not an hdf5 file")
    with pytest.raises(demos.DatasetError, match="cannot read dataset"):
        demos.load_dataset("cube_pronation", 1, 1)


def test_bad_arguments_exit_nonzero_and_write_nothing(tmp_path):
    env = dict(os.environ, MINARI_DATASETS_PATH=str(tmp_path / "minari"))
    for bad in (["--env", "no_such_env"], ["--env", "cube_pronation", "--episodes", "0"]):
        out = subprocess.run([sys.executable, "-m", "softflow_bench.demos", *bad], env=env,
                             capture_output=True, text=True)
        assert out.returncode != 0 and "error" in out.stderr.lower()
    assert not (tmp_path / "minari").exists()


def test_the_dataset_key_follows_the_code_and_not_its_comments_docstrings_or_layout():
    from softflow_bench.demos import code_fingerprint

    source = 'def act(x):\n    """Move."""\n    return x + 1  # one step\n'
    assert code_fingerprint(source) == code_fingerprint('def act(x):\n    return (x +\n            1)\n')
    assert code_fingerprint(source) != code_fingerprint('def act(x):\n    return x + 2\n')
    assert code_fingerprint('"""Module."""\nA = 1\n') == code_fingerprint("A = 1\n")


@pytest.mark.parametrize("task", ["cube_pronation", "scissors_tape"])
def test_every_module_of_ours_a_task_is_built_with_is_in_its_datasets_key(task):
    """A dataset is reused by key: a module the task imports but the key leaves out (the shared base
    env, the hand model) could change the demonstrations while their cache stays."""
    import ast
    import importlib
    import inspect

    from softflow_bench.demos import SHARED_TASK_MODULES, _expert_spec, _module

    source = Path(_module(_expert_spec(task).task_module, "softflow_bench.envs").__file__).read_text()
    ours = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("softflow_bench"):
            for alias in node.names:  # `from softflow_bench import hand` names a module, not a symbol
                imported = getattr(importlib.import_module(node.module), alias.name)
                ours.add(imported.__name__ if inspect.ismodule(imported) else node.module)
    assert ours and ours <= set(SHARED_TASK_MODULES), ours - set(SHARED_TASK_MODULES)
