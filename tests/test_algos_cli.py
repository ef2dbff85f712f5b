"""Every `--algo` through the real CLI, smoke tier: the same learner loop runs them all."""

import json
import subprocess
import sys

import pytest

from softflow_bench.algos import ALGORITHMS

RUN = [sys.executable, "-m", "softflow_bench.run"]


@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_smoke_run_on_cube(shared_env, algo):
    root, env = shared_env
    out = root / f"cube_{algo}"
    proc = subprocess.run(RUN + ["--algo", algo, "--env", "cube_pronation", "--tier", "smoke", "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["algo"] == algo and {"success_rate", "turns_mean", "drop_rate"} <= set(summary["final"])
    if ALGORITHMS[algo].imitation_only:
        assert summary["online_episodes"] == 0 and len(summary["curve"]) == 1
    else:
        assert summary["online_episodes"] == 2 and summary["curve"][0]["online_env_steps"] == 0
    assert summary["config"]["chunk"] == (1 if algo == "sac" else 10)


def test_imitation_only_needs_demonstrations(shared_env):
    root, env = shared_env
    out = root / "bc_on_pendulum"
    proc = subprocess.run(RUN + ["--algo", "bc_flow", "--env", "Pendulum-v1", "--tier", "smoke", "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "imitates demonstrations" in proc.stderr and not out.exists()


@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_smoke_run_on_scissors_from_its_demonstrations(shared_env, algo):
    """Every RL algorithm runs the four stages on scissors_tape from the scissors expert's demos."""
    root, env = shared_env
    out = root / f"scissors_{algo}"
    # 400-step episodes: one online and one evaluation episode keep this to seconds per algorithm
    proc = subprocess.run(RUN + ["--algo", algo, "--env", "scissors_tape", "--tier", "smoke", "--out", str(out),
                                 "--online-episodes", "1", "--eval-episodes", "1"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "offline data: softflow_bench/scissors_tape/" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    online = 0 if ALGORITHMS[algo].imitation_only else 1
    assert summary["online_episodes"] == online and {"grasp_rate", "cut_rate"} <= set(summary["final"])
