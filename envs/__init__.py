"""The two SOFT-FLOW tasks as Gymnasium envs, registered under the `softflow_bench/` namespace."""

import gymnasium as gym

#: Short names used on the command line -> registered Gymnasium ids.
ENV_IDS = {
    "cube_pronation": "softflow_bench/CubePronation-v0",
    "scissors_tape": "softflow_bench/ScissorsTape-v0",
    # the same task, trained on the staged reward (envs/scissors_tape.py: dense_reward); success is
    # still the cut, so its rows compare with scissors_tape's
    "scissors_tape_dense": "softflow_bench/ScissorsTapeDense-v0",
}

if ENV_IDS["cube_pronation"] not in gym.registry:
    gym.register(
        id=ENV_IDS["cube_pronation"],
        entry_point="softflow_bench.envs.cube_pronation:CubePronationEnv",
        max_episode_steps=None,  # the env truncates itself at CubeTaskConfig.episode_steps
    )

if ENV_IDS["scissors_tape"] not in gym.registry:
    gym.register(
        id=ENV_IDS["scissors_tape"],
        entry_point="softflow_bench.envs.scissors_tape:ScissorsTapeEnv",
        max_episode_steps=None,  # the env truncates itself at ScissorsTaskConfig.episode_steps
    )

if ENV_IDS["scissors_tape_dense"] not in gym.registry:
    gym.register(
        id=ENV_IDS["scissors_tape_dense"],
        entry_point="softflow_bench.envs.scissors_tape:ScissorsTapeEnv",
        max_episode_steps=None,
        kwargs={"reward_mode": "dense"},
    )
