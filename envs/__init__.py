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

#: What each task reports besides success and return: (key of the final step's info, name of its
#: mean over an evaluation's episodes). The learner records and aggregates these; the leaderboard
#: and the tools show them.
TASK_METRICS: dict[str, tuple[tuple[str, str], ...]] = {
    "cube_pronation": (("turns", "turns_mean"), ("dropped", "drop_rate")),
    "scissors_tape": (("grasped", "grasp_rate"), ("cut", "cut_rate")),
}
TASK_METRICS["scissors_tape_dense"] = TASK_METRICS["scissors_tape"]

#: Every task's (info key, aggregate name), once each, in task order.
ALL_METRICS: tuple[tuple[str, str], ...] = tuple(dict.fromkeys(m for ms in TASK_METRICS.values() for m in ms))
METRIC_NAMES: tuple[str, ...] = tuple(name for _, name in ALL_METRICS)
