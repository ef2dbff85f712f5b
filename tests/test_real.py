"""real/: joint mapping, safety, watchdog, rate keeping, tracker, orca-core's MockOrcaHand, and the
whole fine-tuning loop on the MuJoCo digital twin through the real CLI."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import orca_core
import pytest
from damage import damage as damage_file
from smoke_policy import cli_env, train_smoke_policy

from softflow_bench import hand
from softflow_bench.envs.cube_pronation import CubeTaskConfig
from softflow_bench.real.env import RealHandEnv
from softflow_bench.real.hardware import OrcaCoreHand, UdpPoseTracker
from softflow_bench.real.interfaces import StalePose
from softflow_bench.real.joint_map import JointMap
from softflow_bench.real.rate import RateKeeper
from softflow_bench.real.recorder import EpisodeRecorder, load_episodes, to_minari
from softflow_bench.real.rig import load_arm_config, load_hand_config, sim_hand_ranges
from softflow_bench.real.safety import SafetyFilter, UnsafeCommand, Watchdog
from softflow_bench.real.twin import TwinScene


@pytest.fixture(scope="module")
def ranges():
    return sim_hand_ranges("cube_pronation")


@pytest.fixture
def mock_driver():
    driver = orca_core.MockOrcaHand(model_version="v1", model_name="orcahand-right")
    yield driver
    driver.disconnect()


def test_joint_map_round_trips_every_joint_and_stays_in_the_hardware_rom(ranges, mock_driver):
    roms = {k: tuple(v) for k, v in mock_driver.config.joint_roms_dict.items()}
    for flipped in (frozenset(), frozenset({"thumb_abd", "wrist"})):
        jm = JointMap(ranges, roms, flipped)
        q = np.random.default_rng(0).uniform(ranges[:, 0], ranges[:, 1], size=(50, hand.NUM_JOINTS))
        for row in q:
            np.testing.assert_allclose(jm.to_radians(jm.to_degrees(row)), row, atol=1e-9)
        low, high = jm.to_degrees(ranges[:, 0]), jm.to_degrees(ranges[:, 1])
        for name in hand.JOINT_IDS:  # ends map to ends (swapped for a flipped joint)
            want = roms[name][::-1] if name in flipped else roms[name]
            assert (low[name], high[name]) == pytest.approx(want)
        wild = jm.to_degrees(ranges[:, 1] + 5.0)
        assert all(min(roms[n]) <= wild[n] <= max(roms[n]) for n in hand.JOINT_IDS)
    with pytest.raises(ValueError, match="unknown joints"):
        JointMap(ranges, roms, frozenset({"elbow"}))


def test_safety_clips_rate_limits_and_refuses_nan(ranges):
    safety = SafetyFilter(ranges, margin=0.1, max_step=0.05)
    mid = ranges.mean(1)
    safety.reset(mid)
    cmd, events = safety.check(ranges[:, 1] + 1.0, step=0)
    assert np.allclose(cmd, mid + 0.05)  # rate limit binds first, towards the clipped target
    assert {e["event"] for e in events} == {"clipped_to_limits", "rate_limited"}
    for step in range(1, 200):
        cmd, _ = safety.check(ranges[:, 1] + 1.0, step)
    span = ranges[:, 1] - ranges[:, 0]
    assert np.allclose(cmd, ranges[:, 1] - 0.1 * span)  # settles at the limit minus the margin
    before = safety.last_safe.copy()
    bad = mid.copy()
    bad[3] = np.nan
    with pytest.raises(UnsafeCommand):
        safety.check(bad, 999)
    assert np.array_equal(safety.last_safe, before) and safety.events[-1]["event"] == "non_finite"


def test_watchdog_disables_torque_only_when_commands_stop_inside_an_episode():
    tripped = []
    with Watchdog(0.1, lambda: tripped.append(time.monotonic())) as dog:
        time.sleep(0.3)  # disarmed (between episodes: the learner updates, no commands)
        assert not tripped
        dog.arm()
        for _ in range(10):
            time.sleep(0.03)
            dog.feed()
        assert not tripped
        time.sleep(0.3)
        assert len(tripped) == 1 and dog.tripped
        dog.arm()  # the next episode re-arms it
        assert not dog.tripped
    assert dog.trips == 1


def test_rate_keeper_counts_late_cycles():
    rate = RateKeeper(50.0)
    rate.start()
    lates = []
    for i in range(8):
        if i in (2, 3, 4):
            time.sleep(0.03)  # longer than the 20 ms period
        lates.append(rate.wait())
    assert lates == [False, False, True, True, True, False, False, False]
    assert rate.late_total == 3 and rate.late_run == 0


def test_udp_tracker_gives_the_latest_pose_and_refuses_stale_or_bad_ones():
    tracker = UdpPoseTracker(port=0, staleness_s=0.15)
    try:
        with pytest.raises(StalePose):
            tracker.pose()
        out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        out.sendto(b"not json", ("127.0.0.1", tracker.port))
        half = np.sqrt(0.5)
        pose = {"pos": [0.01, 0.02, 0.03], "quat": [half, 0, 0, half]}
        out.sendto(json.dumps(pose).encode(), ("127.0.0.1", tracker.port))
        time.sleep(0.08)
        pos, rot = tracker.pose()
        assert np.allclose(pos, [0.01, 0.02, 0.03]) and np.allclose(rot, [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-9)
        assert tracker.bad_packets == 1
        time.sleep(0.2)
        with pytest.raises(StalePose):
            tracker.pose()
    finally:
        tracker.close()


def test_orca_core_hand_commands_and_reads_back_in_radians(ranges, mock_driver):
    jm = JointMap(ranges, {k: tuple(v) for k, v in mock_driver.config.joint_roms_dict.items()})
    orca = OrcaCoreHand(mock_driver, jm)
    orca.connect()
    q = ranges[:, 0] + 0.3 * (ranges[:, 1] - ranges[:, 0])
    orca.command(q)
    np.testing.assert_allclose(orca.read(), q, atol=1e-6)
    orca.disable_torque()


def _twin_env(tmp_path, **kw):
    scene = TwinScene(seed=3)
    ranges = scene.env.joint_ranges
    return scene, RealHandEnv(scene, scene, scene, scene, ranges=ranges, recorder=EpisodeRecorder(tmp_path / "eps"),
                              safety=SafetyFilter(ranges), **kw)


def test_real_env_has_the_sim_task_spaces_and_holds_on_a_nan_action(tmp_path):
    import gymnasium as gym

    sim = gym.make("softflow_bench/CubePronation-v0")
    scene, env = _twin_env(tmp_path, realtime=False)
    assert env.observation_space == sim.observation_space and env.action_space == sim.action_space
    obs, _ = env.reset()
    assert obs.shape == sim.observation_space.shape
    for _ in range(3):  # hold the grasp: command the pose the hand is in
        obs, *_ = env.step(obs[2 * hand.NUM_JOINTS:3 * hand.NUM_JOINTS])
    held = env.safety.last_safe.copy()
    obs, reward, terminated, truncated, info = env.step(np.full(hand.NUM_JOINTS, np.nan, np.float32))
    assert terminated and info["ended_by"] == "unsafe_command"
    assert np.array_equal(env.safety.last_safe, held)
    (arrays, meta), = load_episodes(tmp_path / "eps")
    assert meta["ended_by"] == "unsafe_command" and meta["safety_events"][-1]["event"] == "non_finite"
    assert len(arrays["actions"]) == 4 and len(arrays["observations"]) == 5


def test_a_run_of_late_cycles_stops_the_episode(tmp_path):
    # a 5 kHz control rate: every twin step overruns its 0.2 ms period
    scene, env = _twin_env(tmp_path, realtime=True, task=CubeTaskConfig(control_hz=5000.0), max_late_run=3)
    obs, _ = env.reset()
    for step in range(10):
        obs, _, terminated, _, info = env.step(obs[2 * hand.NUM_JOINTS:3 * hand.NUM_JOINTS])
        if terminated:
            break
    assert info["ended_by"] == "late_cycles" and step == 2 and info["late_cycles"] == 3


@pytest.fixture(scope="module")
def sim_checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim")
    return root, train_smoke_policy(root, "cube_pronation")


REPO = Path(__file__).resolve().parents[1]
FINETUNE = [sys.executable, "-m", "softflow_bench.real.finetune", "--task", "cube_pronation", "--twin"]


def test_finetune_on_the_twin_records_episodes_and_resumes_after_kill_9(sim_checkpoint, tmp_path):
    root, ckpt = sim_checkpoint
    config = tmp_path / "hand.yaml"
    config.write_text("watchdog_s: 2.0\n")
    out = tmp_path / "twin"
    cmd = FINETUNE + ["--checkpoint", str(ckpt), "--hand-config", str(config), "--out", str(out),
                      "--eval-episodes", "1", "--episodes", "4"]
    proc = subprocess.Popen(cmd, env=cli_env(root), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (out / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    recorded = len(load_episodes(out / "episodes"))
    assert not (out / "summary.json").exists() and recorded >= 1
    started = json.loads((out / "provenance.json").read_text())  # written when the fine-tuning starts
    proc = subprocess.run(cmd + ["--resume"], env=cli_env(root), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["online_episodes"] == 4 and summary["code"] == started["code"]
    episodes = load_episodes(out / "episodes")
    assert len(episodes) >= 5  # 4 online + 1 evaluation, each written as it ended, none lost
    assert all(m["label"] is not None and len(a["actions"]) == m["steps"] for a, m in episodes)
    os.environ["MINARI_DATASETS_PATH"] = str(tmp_path / "minari_real")
    dataset = to_minari(out / "episodes", "softflow/real-twin-test-v0", "softflow_bench/CubePronation-v0")
    assert dataset.total_episodes == len(episodes)


def test_finetune_started_by_other_code_is_not_resumed(sim_checkpoint, tmp_path):
    """Resumed under other code, a fine-tuning would be made by two versions: refused, naming the
    commit it started from, before anything in its directory changes."""
    root, ckpt = sim_checkpoint
    config = tmp_path / "hand.yaml"
    config.write_text("{}\n")
    out = tmp_path / "twin"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"an interrupted fine-tuning's checkpoint")
    (out / "provenance.json").write_text(json.dumps({"git_commit": "0123456789abcdef", "code": "another"}))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = subprocess.run(FINETUNE + ["--checkpoint", str(ckpt), "--hand-config", str(config), "--out", str(out),
                                      "--resume"], env=cli_env(root), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "started by other code than this checkout's (commit 0123456789)" in proc.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_ctrl_c_is_an_emergency_stop_that_still_saves_the_episode(sim_checkpoint, tmp_path):
    root, ckpt = sim_checkpoint
    config = tmp_path / "hand.yaml"
    config.write_text("{}\n")
    out = tmp_path / "twin"
    # stderr to a file, not a pipe: an unread pipe could fill with progress bars and block the child
    errfile = tmp_path / "stderr.txt"
    with open(errfile, "w") as stderr:
        args = ["--checkpoint", str(ckpt), "--hand-config", str(config), "--out", str(out), "--episodes", "50"]
        proc = subprocess.Popen(FINETUNE + args, env=cli_env(root), stdout=subprocess.DEVNULL, stderr=stderr,
                                # started with SIGINT ignored, as a shell starts a background job
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        deadline = time.time() + 240
        while not (out / "checkpoint.pt").exists() and time.time() < deadline:  # one episode done and saved
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    err = errfile.read_text()
    assert proc.returncode == 130 and "emergency stop" in err
    episodes = load_episodes(out / "episodes")  # every file complete; a stop mid-episode adds that episode
    assert episodes and all(len(a["actions"]) == m["steps"] for a, m in episodes)
    assert (out / "checkpoint.pt").exists()  # --resume can continue


def test_emergency_stop_turns_torque_off_and_writes_the_episode_in_progress(tmp_path):
    scene, env = _twin_env(tmp_path, realtime=False)
    obs, _ = env.reset()
    for _ in range(2):
        obs, *_ = env.step(obs[2 * hand.NUM_JOINTS:3 * hand.NUM_JOINTS])
    env.emergency_stop()
    assert not scene.torque
    (arrays, meta), = load_episodes(tmp_path / "eps")
    assert meta["ended_by"] == "emergency_stop" and len(arrays["actions"]) == 2
    env.reset()
    assert scene.torque  # the next episode starts with torque on again


@pytest.mark.parametrize("kind, text, message", [
    ("hand", "tracker_port: -1\n", "tracker_port must be a whole number"),
    ("hand", "tracker_port: 70000\n", "tracker_port must be a whole number"),
    ("hand", "tracker_port: 5005.5\n", "tracker_port must be a whole number"),
    ("hand", "max_late_run: 0\n", "max_late_run must be a whole number"),
    ("hand", "watchdog_s: 0\n", "watchdog_s must be a number"),
    ("hand", "watchdog_s: .nan\n", "watchdog_s must be a number"),
    ("hand", "tracker_staleness_s: .inf\n", "tracker_staleness_s must be a number"),
    ("hand", "max_step_rad: -0.1\n", "max_step_rad must be a number"),
    ("hand", "max_step_rad: fast\n", "max_step_rad must be a number"),
    ("hand", "safety_margin: 0.5\n", "safety_margin must be a number"),
    ("hand", "safety_margin: false\n", "safety_margin must be a number"),
    ("hand", "flipped: [thumb_mcp, no_such_joint]\n", "flipped must be a list of joint names"),
    ("hand", "flipped: thumb_mcp\n", "flipped must be a list of joint names"),
    ("hand", "orca_config: /nonexistent/config.yaml\n", "is not a file"),
    ("hand", "colour: red\n", "unknown keys"),
    ("hand", "- a list\n", "expected a mapping"),
    ("arm", "workspace_box: [[0.01, 0.1], [-0.1, 0.1], [-0.1, 0.1]]\n", "home (0) inside"),
    ("arm", "workspace_box: [[-0.5, 0.1], [-0.1, 0.1], [-0.1, 0.1]]\n", "inside the simulated arm's range"),
    ("arm", "max_step_m: -1\n", "max_step_m must be a number in (0"),
    ("arm", "max_step_rad: 0\n", "max_step_rad must be a number in (0"),
    ("arm", "stale_s: .nan\n", "stale_s must be a number"),
    ("arm", "collision_force_n: .inf\n", "collision_force_n must be a number"),
    ("arm", "collision_torque_nm: strong\n", "collision_torque_nm must be a number"),
    ("arm", "dynamics_factor: 2\n", "dynamics_factor must be a number in (0, 1]"),
    ("arm", "dynamics_factor: true\n", "dynamics_factor must be a number"),
    ("arm", "task_yaw: 4\n", "task_yaw must be a number"),
    ("arm", "host: ''\n", "host must be the robot's address"),
    ("arm", "host: 12\n", "host must be the robot's address"),
    ("arm", "home_pose: [0, 0, 0]\n", "home_pose is"),
    ("arm", "home_pose: [0, 0, 0, 0, 0, 0, 0]\n", "home_pose is"),
    ("arm", "home_pose: [0, 0, .nan, 1, 0, 0, 0]\n", "home_pose is"),
    ("arm", "workspace_box: oops\n", "3 [low, high] pairs"),
    ("arm", "orientation_bounds: [[0, .inf], [-1, 1], [-1, 1]]\n", "3 [low, high] pairs"),
    ("arm", "speed: 3\n", "unknown keys"),
    ("arm", "[1, 2]\n", "expected a mapping"),
])
def test_a_bad_rig_config_is_refused_with_the_reason(tmp_path, kind, text, message):
    path = tmp_path / f"{kind}.yaml"
    path.write_text(text)
    load = {"hand": load_hand_config, "arm": load_arm_config}[kind]
    with pytest.raises(ValueError, match=re.escape(message)):
        load(path)
    assert load(REPO / "real" / f"{kind}_config.example.yaml")  # the examples load


@pytest.mark.parametrize("args, message", [
    (["--task", "scissors_tape"], "give --arm-config"),
    (["--task", "cube_pronation", "--episode-steps", "0"], "at least 1"),
    (["--task", "cube_pronation", "--checkpoint", "/nonexistent.pt"], "no checkpoint"),
    (["--task", "cube_pronation", "--episodes", "0"], "at least 1"),
])
def test_finetune_bad_input_is_one_clear_error(sim_checkpoint, tmp_path, args, message):
    root, ckpt = sim_checkpoint
    config = tmp_path / "hand.yaml"
    config.write_text("{}\n")
    base = [sys.executable, "-m", "softflow_bench.real.finetune", "--twin", "--hand-config", str(config),
            "--out", str(tmp_path / "o")]
    if "--checkpoint" not in args:
        base += ["--checkpoint", str(ckpt)]
    proc = subprocess.run(base + args, env=cli_env(root), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and message in proc.stderr and not (tmp_path / "o").exists()


@pytest.mark.parametrize("damage", ["truncated", "empty", "wrong json", "hand_config_broken"])
def test_finetune_refuses_a_damaged_checkpoint_or_config_in_one_line(sim_checkpoint, tmp_path, damage):
    root, ckpt = sim_checkpoint
    config, policy = tmp_path / "hand.yaml", tmp_path / "policy.pt"
    config.write_text("{}\n")
    policy.write_bytes(ckpt.read_bytes())
    if damage == "hand_config_broken":
        config.write_text("watchdog_s: [0.5\n")
    else:
        damage_file(policy, damage)
    proc = subprocess.run(FINETUNE + ["--checkpoint", str(policy), "--hand-config", str(config),
                                      "--out", str(tmp_path / "o")],
                          env=cli_env(root), capture_output=True, text=True, timeout=120)
    said = "hand config:" if damage == "hand_config_broken" else "is not a softflow_bench policy checkpoint"
    assert proc.returncode == 2 and said in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "o").exists()
