"""`python -m softflow_bench.run` through a real subprocess: smoke runs, bad input, kill -9 + resume."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

RUN = [sys.executable, "-m", "softflow_bench.run"]


def _env(tmp_path):
    return dict(os.environ, MINARI_DATASETS_PATH=str(tmp_path / "minari"), PYTHONUNBUFFERED="1",
                SOFTFLOW_BENCH_CACHE=str(tmp_path / "bc_cache"))


def test_smoke_run_of_every_stage_writes_a_complete_summary(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(RUN + ["--algo", "softflow", "--env", "cube_pronation", "--tier", "smoke", "--out", str(out)],
                          env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    for key in ["env", "algo", "seed", "tier", "config", "git_commit", "versions", "wall_time_s",
                "online_env_steps", "online_episodes", "curve", "final"]:
        assert key in summary
    assert summary["online_episodes"] == 2 and summary["online_env_steps"] > 0
    # where the time went, part by part, within the run's wall time
    parts = summary["seconds"]
    assert set(parts) == {"bc", "critic_warmup", "offline", "online_acting", "online_updates", "evaluation"}
    assert all(v > 0 for v in parts.values()) and sum(parts.values()) <= summary["wall_time_s"]
    # the machine says which CPU kernels made it (runs on others are not bit-comparable)
    assert summary["machine"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    # one point before online RL (the BC/offline point) and one per eval_every online episodes
    assert summary["curve"][0]["online_env_steps"] == 0 and len(summary["curve"]) == 3
    for key in ["success_rate", "return_mean", "turns_mean", "drop_rate"]:
        assert key in summary["final"]
    stages = {json.loads(line)["stage"] for line in (out / "metrics.jsonl").read_text().splitlines()}
    assert {"bc", "critic_warmup", "offline", "online"} <= stages
    assert any((out / "tb").iterdir())
    # checkpoints load without executing code
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert "agent" in ckpt and torch.load(out / "bc_policy.pt", weights_only=True)["agent"]
    # the policy at each stage's end: BC, offline RL (the curve's first point), online RL
    policies = [torch.load(out / f, weights_only=True)["agent"]
                for f in ("bc_policy.pt", "offline_policy.pt", "final_policy.pt")]
    for before, after in zip(policies, policies[1:]):
        assert not all(torch.equal(before[k], after[k]) for k in before if k.startswith("policy."))


@pytest.mark.parametrize("args, message", [
    (["--algo", "nope"], "choose one of"),
    (["--env", "no_such_env"], "choose one of"),
    (["--tier", "huge"], "choose one of"),
    (["--chunk", "0"], "--chunk must be at least 1"),
    (["--target-subset", "9"], "cannot exceed"),
    (["--bc-lr-schedule", "linear"], "--bc-lr-schedule must be constant or cosine"),
    (["--flow-space", "tanh"], "--flow-space must be atanh or action"),
    (["--flow-encoder", "-1"], "--flow-encoder must be >= 0"),
    (["--resume"], "no checkpoint"),
])
def test_bad_input_gives_one_clear_error_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "run"
    proc = subprocess.run(RUN + ["--out", str(out), "--tier", "smoke"] + args, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and message in proc.stderr
    assert not out.exists() and not (tmp_path / "minari").exists() and not (tmp_path / "bc_cache").exists()


def test_scissors_smoke_run_goes_through_the_offline_stages_on_the_experts_demos(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(RUN + ["--env", "scissors_tape", "--tier", "smoke", "--out", str(out)],
                          env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "offline data: softflow_bench/scissors_tape/" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert {"grasp_rate", "cut_rate", "success_rate"} <= set(summary["final"])
    stages = [p for p in summary["curve"] if p["online_episodes"] == 0]
    assert stages, "no evaluation at the offline point"


def test_pure_online_rl_on_any_gymnasium_env_says_so(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(RUN + ["--env", "Pendulum-v1", "--tier", "smoke", "--out", str(out)],
                          env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "skipping the offline stages" in proc.stdout
    assert json.loads((out / "summary.json").read_text())["online_episodes"] == 2


def test_kill_9_then_resume_ends_with_the_same_final_metrics(tmp_path):
    common = ["--env", "cube_pronation", "--tier", "smoke", "--threads", "1", "--bc-steps", "600",
              "--checkpoint-every", "50", "--online-episodes", "3"]
    env = _env(tmp_path)
    straight = tmp_path / "straight"
    subprocess.run(RUN + common + ["--out", str(straight)], env=env, check=True, capture_output=True, timeout=600)

    resumed = tmp_path / "resumed"
    proc = subprocess.Popen(RUN + common + ["--out", str(resumed)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (resumed / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)  # mid-stage, no chance to clean up
    proc.wait()
    assert not (resumed / "summary.json").exists()
    before_kill = json.loads(torch.load(resumed / "checkpoint.pt", weights_only=True)["state"])["wall_time_s"]
    changed = subprocess.run(RUN + common + ["--out", str(resumed), "--resume", "--gamma", "0.9"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert changed.returncode == 2 and "different config" in changed.stderr and "gamma" in changed.stderr
    subprocess.run(RUN + common + ["--out", str(resumed), "--resume"], env=env, check=True,
                   capture_output=True, timeout=600)
    a = json.loads((straight / "summary.json").read_text())
    b = json.loads((resumed / "summary.json").read_text())
    assert a["final"] == b["final"] and a["curve"] == b["curve"]
    assert 0 < before_kill < b["wall_time_s"]  # the time before the kill counts too


def test_dsrl_killed_in_its_offline_stage_resumes_to_the_same_weights(tmp_path):
    """The later stages' state (noise actor, critics and their targets, entropy temperature, every
    optimiser and random stream) is in the checkpoint: a kill between two checkpoints of the offline
    stage loses nothing but time."""
    common = ["--algo", "dsrl", "--env", "cube_pronation", "--tier", "smoke", "--threads", "1", "--bc-steps", "60",
              "--offline-steps", "80", "--checkpoint-every", "20", "--online-episodes", "2"]
    env = _env(tmp_path)
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    subprocess.run(RUN + common + ["--out", str(straight)], env=env, check=True, capture_output=True, timeout=600)
    proc = subprocess.Popen(RUN + common + ["--out", str(resumed)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline, stage = time.time() + 300, ("bc", 0)
    while not (stage[0] == "offline" and stage[1] > 0) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
        try:
            state = json.loads(torch.load(resumed / "checkpoint.pt", weights_only=True)["state"])
            stage = (state["stage"], state["stage_step"])
        except (OSError, RuntimeError, EOFError, KeyError):
            continue  # not written yet
    os.kill(proc.pid, signal.SIGKILL)  # after one of the offline stage's checkpoints, before its end
    proc.wait()
    state = json.loads(torch.load(resumed / "checkpoint.pt", weights_only=True)["state"])
    stage = (state["stage"], state["stage_step"])  # a later checkpoint may have landed before the kill
    assert stage[0] == "offline" and 0 < stage[1] < 80 and not (resumed / "summary.json").exists()
    again = subprocess.run(RUN + common + ["--out", str(resumed), "--resume"], env=env, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0 and f"resumed at stage offline step {stage[1]}" in again.stdout, again.stderr[-2000:]
    a, b = (json.loads((d / "summary.json").read_text()) for d in (straight, resumed))
    assert a["final"] == b["final"] and a["curve"] == b["curve"]
    wa, wb = (torch.load(d / "final_policy.pt", weights_only=True)["agent"] for d in (straight, resumed))
    assert wa.keys() == wb.keys() and [k for k in wa if not torch.equal(wa[k], wb[k])] == []


def test_bc_checkpoint_is_cached_by_key_and_reuse_changes_nothing(tmp_path):
    common = ["--env", "cube_pronation", "--tier", "smoke", "--threads", "1"]
    env = _env(tmp_path)
    first = subprocess.run(RUN + common + ["--out", str(tmp_path / "a")], env=env, capture_output=True, text=True,
                           timeout=300, check=True)
    assert "reused the cached BC checkpoint" not in first.stdout
    assert len(list((tmp_path / "bc_cache").glob("*.pt"))) == 1
    second = subprocess.run(RUN + common + ["--out", str(tmp_path / "b")], env=env, capture_output=True, text=True,
                            timeout=300, check=True)
    assert "reused the cached BC checkpoint" in second.stdout
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert a["final"] == b["final"]
    assert "bc" in a["seconds"] and "bc" not in b["seconds"]  # the cache's BC time is not the second run's
    # a different BC config is a different key
    subprocess.run(RUN + common + ["--bc-steps", "31", "--out", str(tmp_path / "c")], env=env, capture_output=True,
                   timeout=300, check=True)
    assert len(list((tmp_path / "bc_cache").glob("*.pt"))) == 2


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(RUN + ["--env", "cube_pronation", "--tier", "smoke", "--out", str(out), "--lr", "1e30",
                                 "--checkpoint-every", "1"],
                          env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3, proc.stderr[-1000:]
    assert "loss is nan" in proc.stderr or "loss is inf" in proc.stderr
    assert "last good checkpoint" in proc.stderr and not (out / "summary.json").exists()
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert all(torch.isfinite(v).all() for v in ckpt["agent"].values())


def test_a_run_saved_in_another_format_is_not_resumed(tmp_path):
    """Its fields may mean something else to this code (FORMAT_VERSION): refused, naming the format."""
    from dataclasses import asdict

    from softflow_bench.config import ConfigError
    from softflow_bench.run import validated

    argv = ["--algo", "diffusion", "--env", "cube_pronation", "--tier", "smoke", "--out", str(tmp_path)]
    (tmp_path / "config.json").write_text(json.dumps(asdict(validated(argv)[0])))  # no format_version
    torch.save({"device": "cpu"}, tmp_path / "checkpoint.pt")
    before = sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.iterdir())
    with pytest.raises(ConfigError, match="config.json: saved in format from before versions"):
        validated(argv + ["--resume"])
    assert sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.iterdir()) == before


def test_a_run_is_resumed_only_on_the_device_type_it_was_trained_on(tmp_path):
    """A generator's saved state fits only a generator of its device, so a checkpoint made on a GPU is
    refused on the CPU with the flag that resumes it; a checkpoint that cannot be read is refused too."""
    from softflow_bench.config import ConfigError, saved_form
    from softflow_bench.run import validated

    argv = ["--algo", "softflow", "--env", "cube_pronation", "--tier", "smoke", "--out", str(tmp_path)]
    (tmp_path / "config.json").write_text(json.dumps(saved_form(validated(argv)[0])))
    torch.save({"device": "cuda"}, tmp_path / "checkpoint.pt")
    with pytest.raises(ConfigError, match="trained on cuda, this one would run on cpu; resume it with --device cuda"):
        validated(argv + ["--resume", "--device", "cpu"])
    torch.save({"device": "cpu"}, tmp_path / "checkpoint.pt")
    assert validated(argv + ["--resume", "--device", "cpu"])[0].resume
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="not a readable checkpoint"):
        validated(argv + ["--resume", "--device", "cpu"])
    torch.save({"agent": {}}, tmp_path / "checkpoint.pt")  # readable, but records no device
    with pytest.raises(ConfigError, match="names no device it was trained on"):
        validated(argv + ["--resume", "--device", "cpu"])


def test_a_run_started_by_other_code_is_not_resumed(tmp_path):
    """Resumed under other code, a run would be made by two versions and remade by neither: refused by
    the code fingerprint its provenance.json keeps, naming the commit it started from, changing
    nothing. A run that kept no fingerprint (made before they were recorded) resumes as before."""
    from softflow_bench.config import ConfigError, saved_form
    from softflow_bench.records import provenance
    from softflow_bench.run import validated

    argv = ["--algo", "softflow", "--env", "cube_pronation", "--tier", "smoke", "--out", str(tmp_path),
            "--resume", "--device", "cpu"]
    (tmp_path / "config.json").write_text(json.dumps(saved_form(validated(argv[:-3])[0])))
    torch.save({"device": "cpu"}, tmp_path / "checkpoint.pt")
    origin = provenance()
    (tmp_path / "provenance.json").write_text(json.dumps(origin))
    assert validated(argv)[0].resume  # started by this checkout's code
    (tmp_path / "provenance.json").write_text(json.dumps({**origin, "git_commit": "0123456789abcdef",
                                                          "code": "another"}))
    before = sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.iterdir())
    with pytest.raises(ConfigError, match="started by other code than this checkout's \\(commit 0123456789\\)"):
        validated(argv)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.iterdir()) == before
    (tmp_path / "provenance.json").write_text(json.dumps({k: v for k, v in origin.items() if k != "code"}))
    assert validated(argv)[0].resume


def test_every_module_of_ours_a_run_imports_is_in_its_code_fingerprint():
    """A module a run computes with but the fingerprint leaves out could change under a resumed run
    unseen. Every module of ours loaded by a run's code (every algorithm and task) but the tools and
    the real hand's drivers must be among the fingerprinted files (policy families are imported by name
    when a run builds its agent, so the probe imports each)."""
    probe = ("import sys, softflow_bench.run, softflow_bench.learner, softflow_bench.envs, softflow_bench.experts;"
             "import importlib, softflow_bench.demos; from softflow_bench.policies import POLICY_FAMILIES;"
             "[importlib.import_module(m) for m in POLICY_FAMILIES.values()];"
             "import gymnasium as gym; [gym.make(i).close() for i in softflow_bench.envs.ENV_IDS.values()];"
             "print('\\n'.join(m.__file__ for n, m in list(sys.modules.items()) if n.startswith('softflow_bench')"
             " and getattr(m, '__file__', None)))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                            timeout=300).stdout.split()
    from pathlib import Path

    from softflow_bench.records import run_code_files

    ours = {Path(f).resolve() for f in loaded} - {p.resolve() for p in run_code_files()}
    left_out = {str(p) for p in ours if p.parent.name not in ("tools", "real")}
    assert len(loaded) > 20 and not left_out, left_out


@pytest.mark.parametrize("module", ["softflow_bench.run", "softflow_bench.tools.grid", "softflow_bench.tools.sweep",
                                    "softflow_bench.tools.evaluate", "softflow_bench.tools.tune_temperature",
                                    "softflow_bench.tools.leaderboard", "softflow_bench.tools.paired",
                                    "softflow_bench.tools.expert_starts", "softflow_bench.tools.imitation_error",
                                    "softflow_bench.tools.remake"])
def test_every_command_prints_its_help(module):
    # each flag's help comes from prose (RunConfig's field docstrings): a literal % once crashed argparse
    proc = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage:" in proc.stdout
