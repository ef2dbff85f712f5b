"""Every bad value and damaged file gets one clear error (exit 2) and changes nothing; a cache is
only a cache. The value table runs the CLI's entry point in-process (it returns before anything is
written); the damaged files are made from real smoke runs and tried through real subprocesses."""

import json
import shutil
import subprocess
import sys
import time

import pytest
import torch
from damage import damage as damage_file

from softflow_bench.run import main

RUN = [sys.executable, "-m", "softflow_bench.run"]

# field type -> (flags, the message's words); argparse's own refusals (wrong type, empty number) say
# "invalid ... value" on the same exit code
BAD_VALUES = [
    # int
    (["--seed", "-3"], "--seed must be >= 0"),
    (["--demo-seed", "-1"], "--demo-seed must be >= 0"),
    (["--threads", "-2"], "--threads must be >= 0"),
    (["--chunk", "0"], "--chunk must be at least 1"),
    (["--batch", "-5"], "--batch must be at least 1"),
    (["--bc-steps", "-1"], "--bc-steps must be >= 0"),
    (["--eval-episodes", "0"], "--eval-episodes must be at least 1"),
    (["--chunk", "ten"], "invalid int value"),
    (["--seed", ""], "invalid int value"),
    (["--seed", "1.5"], "invalid int value"),
    # float
    (["--bc-weight", "nan"], "--bc-weight must be a finite number"),
    (["--lr", "inf"], "--lr must be a finite number"),
    (["--demo-noise=-inf"], "--demo-noise must be a finite number"),
    (["--temperature", "NaN"], "--temperature must be a finite number"),
    (["--gamma", "0"], "--gamma must be in (0, 1]"),
    (["--lr", "0"], "must be > 0"),
    (["--demo-noise", "-0.1"], "demo_noise and the pessimisms >= 0"),
    (["--pick-pessimism", "-1"], "demo_noise and the pessimisms >= 0"),
    (["--actor-pessimism", "-1"], "demo_noise and the pessimisms >= 0"),
    (["--target-temperature", "-1"], "must be > 0"),
    (["--offline-ratio", "1.5"], "--offline-ratio must be in [0, 1]"),
    (["--tau", "fast"], "invalid float value"),
    (["--lr", ""], "invalid float value"),
    # bool
    (["--resume", "yes"], "unrecognized arguments"),
    # choice
    (["--algo", ""], "choose one of"),
    (["--algo", "softflow2"], "choose one of"),
    (["--env", "nope"], "choose one of"),
    (["--tier", "huge"], "choose one of"),
    (["--device", "tpu"], "--device must be auto, cpu or cuda"),
    (["--diffusion-prediction", "v"], "--diffusion-prediction must be eps or x0"),
    # path
    (["--out", ""], "--out is empty"),
    (["--out", "/proc/softflow_bench_run"], "cannot be created or written"),
    (["--resume"], "no checkpoint"),
]


@pytest.mark.parametrize("args, message", BAD_VALUES, ids=[" ".join(a) for a, _ in BAD_VALUES])
def test_a_bad_value_gives_one_clear_error_and_writes_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    argv = ["--tier", "smoke", "--out", str(out)] + args
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refuses malformed values itself, with exit 2
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "minari").exists() and not (tmp_path / "bc_cache").exists()


@pytest.fixture(scope="module")
def smoke_run(shared_env):
    """A finished smoke run whose files are damaged copy by copy."""
    root, env = shared_env
    out = root / "run"
    subprocess.run(RUN + ["--tier", "smoke", "--threads", "1", "--out", str(out)], env=env, check=True,
                   capture_output=True, timeout=300)
    return out, root, env


def _damaged_copy(run, tmp_path, name, damage):
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    if damage is not None:  # None: an intact copy
        damage_file(copy / name, damage)
    return copy


def _snapshot(directory):
    return {p.relative_to(directory): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name, damage, message", [
    ("config.json", "wrong json", "is not a run's config"),
    ("config.json", "empty", "is not a run's config"),
    ("checkpoint.pt", "truncated", "not a readable checkpoint"),
    ("checkpoint.pt", "empty", "not a readable checkpoint"),
    ("online_buffer.npz", "truncated", "online replay buffer, cannot be read"),
    ("online_buffer.npz", "empty", "online replay buffer, cannot be read"),
])
def test_resuming_from_a_damaged_file_gives_one_clear_error_and_changes_nothing(smoke_run, tmp_path, name, damage,
                                                                              message):
    run, _, env = smoke_run
    copy = _damaged_copy(run, tmp_path, name, damage)
    before = _snapshot(copy)
    proc = subprocess.run(RUN + ["--tier", "smoke", "--threads", "1", "--out", str(copy), "--resume"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert name in proc.stderr
    after = _snapshot(copy)
    assert {k: v for k, v in after.items() if k.name != ".lock"} == {k: v for k, v in before.items()
                                                                    if k.name != ".lock"}


def test_another_runs_checkpoint_is_refused_on_resume(smoke_run, tmp_path, shared_env):
    run, root, env = smoke_run
    other = root / "other"
    if not other.exists():
        subprocess.run(RUN + ["--algo", "sac_chunked", "--tier", "smoke", "--threads", "1", "--out", str(other)],
                       env=env, check=True, capture_output=True, timeout=300)
    copy = _damaged_copy(run, tmp_path, "checkpoint.pt", None)
    shutil.copy(other / "checkpoint.pt", copy / "checkpoint.pt")
    proc = subprocess.run(RUN + ["--tier", "smoke", "--threads", "1", "--out", str(copy), "--resume"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "another agent's" in proc.stderr


@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_a_damaged_bc_cache_is_discarded_with_a_warning_and_rebuilt(smoke_run, tmp_path, damage):
    _, root, env = smoke_run
    cache = tmp_path / "bc_cache"
    shutil.copytree(root / "bc_cache", cache)
    (entry,) = [p for p in cache.glob("*.pt")
                if json.loads(torch.load(p, weights_only=True)["config"])["algo"] == "softflow"]
    _damaged_copy(cache, tmp_path / "c", entry.name, damage)  # only to make the damaged bytes
    entry.write_bytes((tmp_path / "c" / "copy" / entry.name).read_bytes())
    proc = subprocess.run(RUN + ["--tier", "smoke", "--threads", "1", "--out", str(tmp_path / "run")],
                          env={**env, "SOFTFLOW_BENCH_CACHE": str(cache)}, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "warning: discarding the BC cache" in proc.stdout
    assert torch.load(entry, weights_only=True)["agent"]  # rebuilt, readable


def test_a_damaged_dataset_names_its_file_and_how_to_make_it_again(smoke_run, tmp_path):
    _, root, env = smoke_run
    minari = tmp_path / "minari"
    shutil.copytree(root / "minari", minari)
    (data,) = [p for p in minari.rglob("*.hdf5") if "-n4-" in str(p)]
    data.write_bytes(data.read_bytes()[:2000])
    out = tmp_path / "run"
    proc = subprocess.run(RUN + ["--tier", "smoke", "--threads", "1", "--out", str(out)],
                          env={**env, "MINARI_DATASETS_PATH": str(minari)}, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "delete that directory and run again" in proc.stderr and str(minari) in proc.stderr
    assert not (out / "config.json").exists()


def test_a_second_run_on_the_same_directory_is_refused_while_the_first_runs(shared_env, tmp_path):
    """Without --resume a directory holding a checkpoint is refused anyway; with it, only the lock the
    first run holds stops the second from writing into the first's files."""
    _, env = shared_env
    out = tmp_path / "run"
    args = ["--tier", "smoke", "--threads", "1", "--out", str(out), "--bc-steps", "20000"]
    first = subprocess.Popen(RUN + args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (out / "checkpoint.pt").exists():
            assert first.poll() is None and time.time() < deadline
            time.sleep(0.2)
        second = subprocess.run(RUN + args + ["--resume"], env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2 and "another run is using" in second.stderr
        assert first.poll() is None  # the first goes on
    finally:
        first.kill()
        first.wait()


def _tool(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"softflow_bench.tools.{name}", *args], capture_output=True, text=True)


def test_the_grid_refuses_an_empty_seed_range(tmp_path):
    proc = _tool("grid", "--envs", "cube_pronation", "--algos", "bc_flow", "--seeds", "4-0", "--storage",
                 str(tmp_path / "runs"))
    assert proc.returncode == 2 and "--seeds: the range 4-0 is empty" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("content, message", [("not json", "is not an evaluate table (not JSON"),
                                              ('{"table": []}', "is not an evaluate table (no rows)")])
def test_paired_names_a_table_it_cannot_read(tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    proc = _tool("paired", str(bad), str(bad))
    assert proc.returncode == 2 and f"{bad} {message}" in proc.stderr and "Traceback" not in proc.stderr
    assert bad.read_text() == content
