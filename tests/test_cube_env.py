"""cube_pronation on a real MuJoCo scene: API, layouts, determinism, task logic."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import softflow_bench  # noqa: F401
from softflow_bench import hand
from softflow_bench.envs.cube_pronation import (
    OBS_DIM,
    OBS_LAYOUT,
    CubePronationEnv,
    CubeTaskConfig,
    is_dropped,
    task_reward,
    yaw_increment,
)


@pytest.fixture(scope="module")
def env():
    e = CubePronationEnv()
    yield e
    e.close()


def test_check_env_passes():
    check_env(gym.make("softflow_bench/CubePronation-v0").unwrapped, skip_render_check=True)


def test_seeded_reset_and_steps_are_deterministic(env):
    actions = np.random.default_rng(0).uniform(-0.2, 0.2, (10, 17)).astype(np.float32)

    def rollout(seed):
        obs, _ = env.reset(seed=seed)
        out = [obs]
        for a in actions:
            out.append(env.step(np.clip(out[0][34:51] + a, -1, 1))[0])
        return np.stack(out)

    np.testing.assert_array_equal(rollout(3), rollout(3))
    assert not np.allclose(rollout(3), rollout(4))


def test_action_layout_is_orca_core_joint_order(env):
    m = env.model
    for i, joint_id in enumerate(hand.JOINT_IDS):
        # actuator i drives the joint named by orca-core id i
        assert m.joint(m.actuator_trnid[i, 0]).name == hand.mjcf_joint_name(joint_id)
    a = np.linspace(-1, 1, 17).astype(np.float32)
    env.reset(seed=0)
    env.step(a)
    np.testing.assert_allclose(env.data.ctrl, hand.denormalize(a, hand.joint_ranges(m)), rtol=1e-6)
    env.step(3 * a)  # out of range: step's inlined denormalize must clip as hand.denormalize does
    np.testing.assert_array_equal(env.data.ctrl, hand.denormalize(3 * a, hand.joint_ranges(m)))


def test_observation_layout_matches_documentation(env):
    assert OBS_DIM == sum(n for _, n in OBS_LAYOUT) == env.observation_space.shape[0] == 60
    obs, _ = env.reset(seed=1)
    a = env.action_space.sample() * 0.1
    obs, *_ = env.step(a)
    parts, start = {}, 0
    for name, n in OBS_LAYOUT:
        parts[name] = obs[start:start + n]
        start += n
    np.testing.assert_allclose(parts["joint_pos"], env.joint_positions(), atol=1e-6)
    np.testing.assert_allclose(parts["joint_vel"], env.data.qvel[env._vadr], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(parts["prev_action"], np.clip(a, -1, 1), atol=1e-6)
    pos, rot = env.cube_in_palm()
    np.testing.assert_allclose(parts["cube_pos"], pos, atol=1e-6)
    assert np.linalg.norm(parts["cube_pos"]) < 0.1  # the cube starts in the hand
    np.testing.assert_allclose(parts["cube_rot6d"], rot[:, :2].T.ravel(), atol=1e-6)


def test_turn_counting_survives_wraparound():
    def quat_z(angle):
        return np.array([np.cos(angle / 2), 0, 0, np.sin(angle / 2)])

    angles = np.radians(np.arange(0, 30 * 14, 30))  # 390 degrees in 30-degree steps
    total = sum(yaw_increment(quat_z(a0), quat_z(a1)) for a0, a1 in zip(angles[:-1], angles[1:]))
    assert total / (2 * np.pi) == pytest.approx(390 / 360, abs=1e-9)
    back = sum(yaw_increment(quat_z(a1), quat_z(a0)) for a0, a1 in zip(angles[:-1], angles[1:]))
    assert back / (2 * np.pi) == pytest.approx(-390 / 360, abs=1e-9)


def test_turn_counting_ignores_tilt_about_horizontal_axes():
    tilt = np.array([np.cos(0.2), np.sin(0.2), 0, 0])  # 23 degrees about x
    assert yaw_increment(np.array([1.0, 0, 0, 0]), tilt) == pytest.approx(0.0, abs=1e-12)


def test_hold_bonus_is_dm_controls_gaussian_tolerance_on_both_sides_of_its_bound():
    from dm_control.utils import rewards

    cfg = CubeTaskConfig(rotation_weight=0.0, action_rate_weight=0.0, energy_weight=0.0, hold_weight=1.0)
    a = np.zeros(17, np.float32)
    for offset in (0.0, 0.005, 0.01, np.nextafter(0.01, 1.0), 0.02, 0.04, 0.2):
        expected = rewards.tolerance(offset, bounds=(0.0, 0.01), margin=0.03, sigmoid="gaussian")
        assert task_reward(0.0, a, a, 0.0, offset, False, cfg) == expected
    assert task_reward(0.0, a, a, 0.0, 0.04, False, cfg) == pytest.approx(0.1)  # one margin out


def test_drop_rule():
    cfg = CubeTaskConfig()
    assert not is_dropped(0.23, 0.23, 0, cfg)
    assert is_dropped(0.23 - cfg.drop_height - 1e-3, 0.23, 0, cfg)
    assert is_dropped(0.23, 0.23, cfg.no_contact_steps, cfg)
    assert not is_dropped(0.23, 0.23, cfg.no_contact_steps - 1, cfg)


def test_opening_the_hand_drops_the_cube_and_terminates(env):
    env.reset(seed=0)
    open_hand = hand.normalize(env._ref, env.joint_ranges).astype(np.float32)
    for step in range(40):
        _, reward, terminated, truncated, info = env.step(open_hand)
        if terminated:
            break
    assert terminated and info["dropped"] and not info["success"]
    assert step < 20  # falls within a second
    assert reward < -1.0  # the drop penalty


def test_holding_the_grasp_keeps_the_cube_for_the_whole_episode():
    env = CubePronationEnv(episode_steps=60)
    env.reset(seed=5)
    grasp = hand.normalize(env.grasp_pose, env.joint_ranges).astype(np.float32)
    for _ in range(60):
        _, _, terminated, truncated, info = env.step(grasp)
        assert not terminated
    assert truncated and not info["dropped"]
    assert abs(info["turns"]) < 0.1 and not info["success"]


def test_bad_actions_are_refused(env):
    env.reset(seed=0)
    with pytest.raises(ValueError):
        env.step(np.full(17, np.nan, np.float32))
    with pytest.raises(ValueError):
        env.step(np.zeros(5, np.float32))


def test_rgb_array_render_is_an_image():
    env = CubePronationEnv(render_mode="rgb_array", render_size=(64, 80))
    env.reset(seed=0)
    frame = env.render()
    env.close()
    assert frame.shape == (64, 80, 3) and frame.dtype == np.uint8 and frame.std() > 5
