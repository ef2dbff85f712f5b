"""DSRL takes its frozen diffusion policy from bc_diffusion's BC cache instead of training it again
(flow_steer its flow from bc_flow's), and the run that does ends exactly where one that trained
stage 1 itself ends."""

import json
import subprocess
import sys

import pytest
import torch
from smoke_policy import cli_env

SMOKE = ["--env", "cube_pronation", "--tier", "smoke", "--seed", "1", "--threads", "1"]


def _run(algo, out, env):
    proc = subprocess.run([sys.executable, "-m", "softflow_bench.run", "--algo", algo, *SMOKE, "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout + proc.stderr


def _weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)["agent"]


@pytest.mark.parametrize("algo, source, frozen", [("dsrl", "bc_diffusion", "diffusion"),
                                                  ("dsrl_na", "bc_diffusion", "diffusion"),
                                                  ("flow_steer", "bc_flow", "flow")])
def test_a_noise_actor_takes_stage_1_from_its_bc_algorithm_and_ends_as_if_it_had_trained_it(tmp_path, algo, source,
                                                                                             frozen):
    from softflow_bench.bc_cache import bc_cache_path, bc_source_cache_path
    from softflow_bench.config import parse_args, resolve

    shared, alone = cli_env(tmp_path / "shared"), cli_env(tmp_path / "alone")
    alone["MINARI_DATASETS_PATH"] = shared["MINARI_DATASETS_PATH"]  # one dataset, two BC caches
    _run(source, tmp_path / source, shared)
    took = _run(algo, tmp_path / "dsrl_took", shared)
    trained = _run(algo, tmp_path / "dsrl_trained", alone)
    assert f"took stage 1 from {source}" in took and "took stage 1" not in trained

    # the frozen policy is the BC algorithm's, weight for weight, in both
    bc = {k: v for k, v in _weights(tmp_path / source / "bc_policy.pt").items() if k.startswith("policy.")}
    for run in ("dsrl_took", "dsrl_trained"):
        final = _weights(tmp_path / run / "final_policy.pt")
        for k, v in bc.items():
            assert torch.equal(final[k.replace("policy.", f"policy.{frozen}.", 1)], v), (run, k)
    # and the whole run after stage 1 is the same: every weight, every evaluation
    took_w, trained_w = _weights(tmp_path / "dsrl_took" / "final_policy.pt"), \
        _weights(tmp_path / "dsrl_trained" / "final_policy.pt")
    assert took_w.keys() == trained_w.keys()
    assert all(torch.equal(took_w[k], trained_w[k]) for k in took_w), [
        k for k in took_w if not torch.equal(took_w[k], trained_w[k])]
    curves = [json.loads((tmp_path / run / "summary.json").read_text())["curve"]
              for run in ("dsrl_took", "dsrl_trained")]
    assert curves[0] == curves[1]

    # the key it looks under is bc_diffusion's own
    dsrl_cfg, bc_cfg = (resolve(*parse_args(["--algo", name, *SMOKE])) for name in (algo, source))
    assert bc_source_cache_path(dsrl_cfg) == bc_cache_path(bc_cfg) != bc_cache_path(dsrl_cfg)
    assert bc_source_cache_path(bc_cfg) is None


def test_a_damaged_source_cache_is_passed_over_with_a_warning_and_bc_trained_here(tmp_path):
    from softflow_bench.bc_cache import bc_source_cache_path
    from softflow_bench.config import parse_args, resolve

    env = cli_env(tmp_path)
    _run("bc_diffusion", tmp_path / "bc_diffusion", env)
    source = bc_source_cache_path(resolve(*parse_args(["--algo", "dsrl", *SMOKE])))
    source = tmp_path / "bc_cache" / source.name
    source.write_bytes(source.read_bytes()[:1000])  # cut short, as by a full disk
    said = _run("dsrl", tmp_path / "dsrl", env)
    assert "cannot take stage 1" in said and "took stage 1" not in said
    assert (tmp_path / "dsrl" / "final_policy.pt").exists()
