"""scissors_tape on a real MuJoCo scene: API, layouts, determinism, cut and grasp logic."""

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import softflow_bench  # noqa: F401
from softflow_bench import hand
from softflow_bench.envs.scissors_tape import (
    ACTION_IDS,
    OBS_DIM,
    OBS_LAYOUT,
    ScissorsTapeEnv,
    closing_score,
    cut_event,
    dense_reward,
    is_grasped,
    point_between_blades,
    tape_in_jaws,
)


@pytest.fixture(scope="module")
def env():
    e = ScissorsTapeEnv()
    yield e
    e.close()


def _place_scissors_around_tape(env, opening, offset=(0.04, -0.01)):
    """Put the scissors (kinematically) so the tape's cut point sits `offset` from the pivot."""
    d, m = env.data, env.model
    cut = d.site_xpos[env._cut_site].copy()
    q = d.qpos[env._sq]
    q[:3] = cut - np.array([offset[0], offset[1], 0.0])
    q[3:] = [1, 0, 0, 0]
    d.qvel[m.joint("scissors").dofadr[0]:m.joint("scissors").dofadr[0] + 6] = 0
    d.qpos[env._hinge] = opening
    mujoco.mj_forward(m, d)


def test_check_env_passes():
    check_env(gym.make("softflow_bench/ScissorsTape-v0").unwrapped, skip_render_check=True)


def test_layouts_match_documentation(env):
    assert env.action_space.shape == (23,) and len(ACTION_IDS) == 23
    assert ACTION_IDS[6:] == hand.JOINT_IDS
    m = env.model
    for i, name in enumerate(ACTION_IDS):
        joint = name if name.startswith("arm_") else hand.mjcf_joint_name(name)
        assert m.joint(m.actuator_trnid[env._act[i], 0]).name == joint
    obs, _ = env.reset(seed=0)
    assert OBS_DIM == sum(n for _, n in OBS_LAYOUT) == obs.shape[0] == 83
    np.testing.assert_allclose(obs[:23], env.data.qpos[env._qadr], atol=1e-6)
    assert obs[69:72] == pytest.approx(env.data.xpos[env._scissors], abs=1e-6)
    assert obs[78] == pytest.approx(env.data.qpos[env._hinge], abs=1e-6)


def test_seeded_resets_are_deterministic(env):
    a = env.reset(seed=3)[0]
    steps_a = [env.step(np.zeros(23, np.float32))[0] for _ in range(3)]
    b = env.reset(seed=3)[0]
    steps_b = [env.step(np.zeros(23, np.float32))[0] for _ in range(3)]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.stack(steps_a), np.stack(steps_b))
    assert not np.array_equal(a, env.reset(seed=4)[0])


def test_blade_sector_geometry():
    assert point_between_blades(np.array([0.04, -0.01, 0.0]), opening=0.5)
    assert not point_between_blades(np.array([0.04, 0.01, 0.0]), opening=0.5)   # outside blade A
    assert not point_between_blades(np.array([0.04, -0.03, 0.0]), opening=0.5)  # beyond blade B
    assert not point_between_blades(np.array([0.09, -0.01, 0.0]), opening=0.5)  # past the tips
    assert not point_between_blades(np.array([0.04, -0.01, 0.03]), opening=0.5)  # above the plane
    assert cut_event(True, 0.05, 0.08) and not cut_event(True, 0.1, 0.08) and not cut_event(False, 0.0, 0.08)
    p = np.array([0.04, -0.01, 0.0])
    assert not tape_in_jaws(False, p, 0.1)  # blade B already past it: it never entered open jaws
    assert tape_in_jaws(True, p, 0.1)       # entered while open, blade B now sweeping over it
    assert not tape_in_jaws(True, np.array([0.04, 0.01, 0.0]), 0.1)  # slipped out past blade A


# The blades are posed kinematically and the env's post-physics task update (the code step() runs)
# is called directly: a free-swinging spring hinge would not hold a pose through a physics step.

def test_cut_fires_when_the_blades_close_across_the_tape(env):
    env.reset(seed=0)
    lower_z0 = env.data.xpos[env.model.body("tape_lower").id][2]
    cuts = []
    for opening in [0.5, 0.4, 0.25, 0.12, 0.03]:
        _place_scissors_around_tape(env, opening)
        cuts.append(env._update_cut())
    assert cuts == [False, False, False, False, True]
    assert env.data.eq_active[env._weld] == 0
    _, reward, terminated, _, info = env.step(env._prev_action.copy())
    assert info["cut"] and info["success"] and terminated
    for _ in range(10):
        mujoco.mj_step(env.model, env.data, nstep=25)
    assert env.data.xpos[env.model.body("tape_lower").id][2] < lower_z0 - 0.02  # the lower half fell


def test_no_cut_when_the_blades_close_away_from_the_tape(env):
    env.reset(seed=0)
    for opening in [0.5, 0.3, 0.1, 0.02]:
        _place_scissors_around_tape(env, opening, offset=(0.04, 0.02))  # tape beside blade A, not between
        assert not env._update_cut()
    assert env.data.eq_active[env._weld] == 1
    _, reward, terminated, _, info = env.step(env._prev_action.copy())
    assert not info["cut"] and reward == 0.0 and not terminated


def test_no_cut_when_the_open_scissors_just_sit_around_the_tape(env):
    env.reset(seed=0)
    for _ in range(4):
        _place_scissors_around_tape(env, 0.5)
        assert not env._update_cut()


def test_no_cut_when_the_blades_are_closed_before_reaching_the_tape(env):
    env.reset(seed=0)
    _place_scissors_around_tape(env, 0.02, offset=(0.1, -0.01))  # closed, tape beyond the tips
    assert not env._update_cut()
    _place_scissors_around_tape(env, 0.02)  # pushed closed onto the tape: it was never between
    assert not env._update_cut()


def test_grasped_needs_the_scissors_out_of_the_case(env):
    assert not is_grasped(0.01, True, True, 0.022)    # held but still in the case
    assert not is_grasped(0.05, False, False, 0.022)  # up in the air but nobody holds them
    assert is_grasped(0.05, True, False, 0.022)
    env.reset(seed=0)
    info = env.step(env._prev_action.copy())[4]
    assert not info["grasped"]  # lying in the case at the start


def test_dense_reward_mode_shapes_and_sparse_is_zero_without_a_cut():
    dense = ScissorsTapeEnv(reward_mode="dense")
    dense.reset(seed=0)
    r_dense = dense.step(dense._prev_action.copy())[1]
    sparse = ScissorsTapeEnv()
    sparse.reset(seed=0)
    assert sparse.step(sparse._prev_action.copy())[1] == 0.0
    assert -1.0 < r_dense < -3.0 / 4.0  # only the smooth reach term is active at the start
    assert dense_reward((1.0, 1.0, 1.0, 1.0), just_cut=False) == 0.0  # blades shut on the tape: no cost left
    assert dense_reward((1.0, 1.0, 0.5, 0.0), just_cut=True) == 1.0   # the cut pays like sparse
    with pytest.raises(ValueError):
        ScissorsTapeEnv(reward_mode="human")


def test_closing_pays_only_with_the_tape_in_the_jaws_and_rises_as_the_blades_close():
    assert closing_score(False, 0.0, 0.08, 0.5) == 0.0  # shutting the blades in the air earns nothing
    assert closing_score(True, 0.5, 0.08, 0.5) == 0.0   # in the jaws, blades at rest
    scores = [closing_score(True, a, 0.08, 0.5) for a in (0.4, 0.3, 0.2, 0.1)]
    assert np.all(np.diff(scores) > 0) and scores[-1] < 1.0
    assert closing_score(True, 0.08, 0.08, 0.5) == 1.0


def test_scissors_rest_on_the_insert_with_rings_over_the_well(env):
    """The start state the grasp needs: blades on the insert, finger rings free above the well."""
    from softflow_bench.envs.scissors_tape import CASE_POS, INSERT_EDGE, INSERT_H

    for seed in range(3):
        env.reset(seed=seed)
        hold = env.normalize(env.data.ctrl[env._act])
        for _ in range(20):
            _, _, _, _, info = env.step(hold)
        assert INSERT_H < env.data.xpos[env._scissors][2] < INSERT_H + 0.012  # resting on the insert, not tipped
        for ring in env.ring_centres():
            assert ring[1] < CASE_POS[1] + INSERT_EDGE  # over the well
        assert not info["grasped"]


def test_scissors_tape_dense_is_the_same_task_and_expert_with_the_staged_reward():
    from softflow_bench.config import TASK_DEFAULTS
    from softflow_bench.demos import rollout_expert
    from softflow_bench.envs import ENV_IDS

    sparse_env, dense_env = gym.make(ENV_IDS["scissors_tape"]), gym.make(ENV_IDS["scissors_tape_dense"])
    sparse, _, sparse_info = rollout_expert("scissors_tape", sparse_env, 1)
    dense, _, dense_info = rollout_expert("scissors_tape_dense", dense_env, 1)
    assert sparse_info["success"] and dense_info["success"]  # seed 1 cuts (docs/tasks.md's figure)
    np.testing.assert_array_equal(sparse.actions, dense.actions)
    np.testing.assert_array_equal(sparse.observations, dense.observations)
    assert sparse.rewards[-1] == dense.rewards[-1] == 1.0  # the cut pays the same
    assert np.all(dense.rewards[:-1] < 0) and np.all(sparse.rewards[:-1] == 0)
    assert dense.rewards[-2] > dense.rewards[0]  # at the tape, holding the scissors: less cost than at the start
    assert dense.rewards[:-1].max() > -0.25  # the closing stage paid: without it the cost stays at or below -1/4
    assert TASK_DEFAULTS["scissors_tape_dense"] == TASK_DEFAULTS["scissors_tape"]


def test_building_the_scene_says_nothing_about_the_hands_unprefixed_attachment(capfd):
    import warnings

    import mujoco

    from softflow_bench.envs.scissors_tape import build_model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_model()
    out, err = capfd.readouterr()
    assert "empty prefix" not in out + err and not any("empty prefix" in str(w.message) for w in caught)
    assert mujoco.get_mju_user_warning() is None  # MuJoCo's own handler is back for everything else
