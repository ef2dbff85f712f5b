"""The tasks, each declared once (as dm_control's SUITE): its Gymnasium id and entry point, the
numbers it reports besides success, and its scripted expert. Registered under `softflow_bench/`.

Adding a task: its module in envs/ and one `Task` entry below (docs/development.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym


@dataclass(frozen=True)
class ExpertSpec:
    """A task's scripted expert: where it lives and what defines the data it produces."""

    version: str
    """Name recorded in the dataset."""
    module: str
    """The expert's module: a name under softflow_bench.experts, or any importable module's."""
    cls: str
    """The expert class in that module: cls(env, rng), reset(mode=None) -> mode, act() -> action."""
    task_module: str
    """The task's module (a name under softflow_bench.envs, or any importable module's): its physics
    decide what the expert achieves."""
    assets: tuple[str, ...] = ()
    """Tuned data the expert reads from softflow_bench.assets."""


@dataclass(frozen=True)
class Task:
    env_id: str
    """The registered Gymnasium id."""
    entry_point: str
    """module:class of the env."""
    metrics: tuple[tuple[str, str], ...]
    """What it reports besides success and return: (key of the final step's info, name of its mean
    over an evaluation's episodes). The learner records and aggregates these; the tools show them."""
    expert: ExpertSpec | None = None
    """Its scripted expert, which makes its demonstrations (None: online RL only)."""
    kwargs: dict = field(default_factory=dict)
    """Arguments of the env's constructor."""


CUBE_EXPERT = ExpertSpec("cube-gait-v1", "cube", "CubeExpert", "cube_pronation", ("cube_gaits.json",))
SCISSORS_EXPERT = ExpertSpec("scissors-waypoints-v1", "scissors", "ScissorsExpert", "scissors_tape")
SCISSORS_METRICS = (("grasped", "grasp_rate"), ("cut", "cut_rate"))

#: Short names used on the command line -> tasks.
TASKS: dict[str, Task] = {}
#: Short name -> Gymnasium id.
ENV_IDS: dict[str, str] = {}
#: Short name -> (info key, aggregate name) of what the task reports (Task.metrics).
TASK_METRICS: dict[str, tuple[tuple[str, str], ...]] = {}
#: Short name -> the task's scripted expert, for the tasks that have one.
EXPERTS: dict[str, ExpertSpec] = {}


def register(name: str, task: Task) -> None:
    """Declare a task under its short name: registered with Gymnasium, and known to the learner, the
    demonstrations and the tools from here on."""
    TASKS[name] = task
    ENV_IDS[name] = task.env_id
    TASK_METRICS[name] = task.metrics
    if task.expert is not None:
        EXPERTS[name] = task.expert
    if task.env_id not in gym.registry:
        # max_episode_steps None: each env truncates itself at its task config's episode_steps
        gym.register(id=task.env_id, entry_point=task.entry_point, max_episode_steps=None, kwargs=task.kwargs)


register("cube_pronation", Task("softflow_bench/CubePronation-v0",
                                "softflow_bench.envs.cube_pronation:CubePronationEnv",
                                (("turns", "turns_mean"), ("dropped", "drop_rate")), CUBE_EXPERT))
register("scissors_tape", Task("softflow_bench/ScissorsTape-v0", "softflow_bench.envs.scissors_tape:ScissorsTapeEnv",
                               SCISSORS_METRICS, SCISSORS_EXPERT))
# the same task, trained on the staged reward (envs/scissors_tape.py: dense_reward); success is still
# the cut, so its rows compare with scissors_tape's. Same expert, same episodes; only the recorded
# rewards differ.
register("scissors_tape_dense", Task("softflow_bench/ScissorsTapeDense-v0",
                                     "softflow_bench.envs.scissors_tape:ScissorsTapeEnv", SCISSORS_METRICS,
                                     SCISSORS_EXPERT, {"reward_mode": "dense"}))

def all_metrics() -> tuple[tuple[str, str], ...]:
    """Every registered task's (info key, aggregate name), once each, in task order."""
    return tuple(dict.fromkeys(m for ms in TASK_METRICS.values() for m in ms))


#: The same for the built-in tasks: the tables' columns.
ALL_METRICS: tuple[tuple[str, str], ...] = tuple(dict.fromkeys(m for ms in TASK_METRICS.values() for m in ms))
METRIC_NAMES: tuple[str, ...] = tuple(name for _, name in ALL_METRICS)
