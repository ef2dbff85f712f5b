"""The CUDA path (`--device cuda`). Skipped where there is no GPU, as on CI's machines; run on a lent
GPU machine with `pytest tests/test_cuda.py` (docs/performance.md, "On a GPU")."""

import copy
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from softflow_bench.agent import Agent
from softflow_bench.algos import ALGORITHMS
from softflow_bench.config import RunConfig, resolve, saved_config

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
RUN = [sys.executable, "-m", "softflow_bench.run"]


@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_smoke_run_on_cuda(shared_env, algo):
    """Every algorithm's four stages on the GPU; its policy then loads and acts on the CPU."""
    root, env = shared_env
    out = root / f"cube_{algo}"
    proc = subprocess.run(RUN + ["--algo", algo, "--env", "cube_pronation", "--tier", "smoke", "--device", "cuda",
                                 "--out", str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "device cuda" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["machine"]["cuda"] and 0.0 <= summary["final"]["success_rate"] <= 1.0
    policy = torch.load(out / "final_policy.pt", map_location="cpu", weights_only=True)
    state, cfg = policy["agent"], saved_config(json.loads(policy["config"]))
    obs_dim = state["normalizer.mean"].shape[0]
    agent = Agent(obs_dim, 17, cfg)
    agent.load_state_dict(state)
    chunk = agent.act(np.zeros(obs_dim, np.float32), 0.5, cfg.candidates)
    assert chunk.shape == (cfg.chunk * 17,) and np.all(np.abs(chunk) <= 1)


def test_resume_stays_on_the_device_it_was_trained_on(shared_env):
    root, env = shared_env
    out = root / "cube_softflow"  # made by the smoke run above
    if not (out / "checkpoint.pt").exists():
        subprocess.run(RUN + ["--algo", "softflow", "--env", "cube_pronation", "--tier", "smoke", "--device", "cuda",
                              "--out", str(out)], env=env, check=True, capture_output=True, timeout=300)
    config = (out / "config.json").read_text()
    proc = subprocess.run(RUN + ["--algo", "softflow", "--env", "cube_pronation", "--tier", "smoke", "--device", "cpu",
                                 "--out", str(out), "--resume"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "trained on cuda" in proc.stderr and "--device cuda" in proc.stderr
    assert (out / "config.json").read_text() == config
    proc = subprocess.run(RUN + ["--algo", "softflow", "--env", "cube_pronation", "--tier", "smoke", "--device", "cuda",
                                 "--out", str(out), "--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("algo", ["softflow", "diffusion", "sac_chunked"])
def test_cuda_and_cpu_agree_on_the_same_weights(algo):
    """The same weights give the same critic values and, for the flow, the same log-likelihoods."""
    torch.manual_seed(0)
    cpu = Agent(60, 17, resolve(RunConfig(algo=algo), {"algo"}))
    gpu = copy.deepcopy(cpu).cuda()
    s, a = torch.randn(64, 60), torch.rand(64, 170) * 1.8 - 0.9
    with torch.no_grad():
        torch.testing.assert_close(gpu.q(s.cuda(), a.cuda()).cpu(), cpu.q(s, a), atol=1e-4, rtol=1e-4)
        if cpu.policy.has_likelihood:
            torch.testing.assert_close(gpu.policy.log_prob(a.cuda(), s.cuda()).cpu(), cpu.policy.log_prob(a, s),
                                       atol=1e-3, rtol=1e-4)
