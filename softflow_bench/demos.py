"""Generate scripted, multimodal demonstrations as a Minari dataset.

    python -m softflow_bench.demos --env cube_pronation --episodes 100 --seed 0 [--video PATH]

Episode i is reset with seed `seed + i` and the expert's randomness is seeded from the same
number, so a dataset is reproducible from (env, episodes, seed). Datasets are cached under
`data/minari/` (or $MINARI_DATASETS_PATH): asking again for the same one loads it instead.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import os
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
from tqdm import trange

import softflow_bench  # noqa: F401  (registers the envs)
from softflow_bench.envs import ENV_IDS, EXPERTS, ExpertSpec

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "minari"


#: Tasks that have a scripted expert (each task declares its own: softflow_bench.envs.TASKS); a live
#: view, so that a task registered later is one of them.
EXPERT_ENVS = EXPERTS.keys()


def _module(name: str, package: str):
    """The module `name` under `package` (a built-in task's expert or task module), else `name` itself."""
    try:
        return importlib.import_module(f"{package}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{package}.{name}":  # the module exists but an import inside it failed
            raise
        return importlib.import_module(name)


class DatasetError(RuntimeError):
    """A dataset that is missing, corrupt, or does not match the env it is used with."""


def _minari():
    os.environ.setdefault("MINARI_DATASETS_PATH", str(DEFAULT_DATA_DIR))
    import minari

    return minari


def _expert_spec(env_name: str) -> ExpertSpec:
    if env_name not in EXPERTS:
        raise ValueError(f"no expert for env {env_name!r}; experts exist for {list(EXPERT_ENVS)}")
    return EXPERTS[env_name]


def code_fingerprint(source: str) -> bytes:
    """A module's code without its comments, docstrings and layout (its syntax tree): editing those
    leaves what the module computes, and so its datasets' key, unchanged."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body \
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree).encode()


#: The modules every task's physics and spaces are built with (the hand model, the controlled joints'
#: ranges): part of every dataset's key beside the task's and the expert's own.
SHARED_TASK_MODULES = ("softflow_bench.hand", "softflow_bench.envs.base")


def expert_fingerprint(env_name: str) -> str:
    """Short hash of what defines the expert's data (its code, tuned data, the task's own module and
    the modules every task is built with, the code read as syntax trees), part of the cache key."""
    import hashlib
    from importlib import resources

    spec = _expert_spec(env_name)
    modules = [_module(spec.module, "softflow_bench.experts"), _module(spec.task_module, "softflow_bench.envs"),
               *map(importlib.import_module, SHARED_TASK_MODULES)]
    parts = [code_fingerprint(Path(m.__file__).read_text()) for m in modules]
    parts += [resources.files("softflow_bench.assets").joinpath(name).read_bytes() for name in spec.assets]
    return hashlib.sha256(b"".join(parts)).hexdigest()[:8]


def dataset_id(env_name: str, episodes: int, seed: int) -> str:
    return f"softflow_bench/{env_name}/expert{expert_fingerprint(env_name)}-n{episodes}-s{seed}-v0"


def make_expert(env_name: str, env, rng: np.random.Generator):
    spec = _expert_spec(env_name)
    return getattr(_module(spec.module, "softflow_bench.experts"), spec.cls)(env, rng)


def rollout_expert(env_name: str, env, seed: int, frames: list | None = None):
    """One expert episode from reset(seed). Returns a Minari EpisodeBuffer and the expert's mode."""
    from minari.data_collector import EpisodeBuffer

    expert = make_expert(env_name, env, np.random.default_rng(seed))
    mode = expert.reset()
    obs, info = env.reset(seed=seed)
    observations, actions, rewards, terms, truncs = [obs], [], [], [], []
    infos = {k: [v] for k, v in info.items()}
    while True:
        action = expert.act()
        obs, reward, terminated, truncated, info = env.step(action)
        outcome = (obs, action, reward, terminated, truncated)
        for lst, v in zip((observations, actions, rewards, terms, truncs), outcome):
            lst.append(v)
        for k, v in info.items():
            infos[k].append(v)
        if frames is not None:
            frames.append(env.render())
        if terminated or truncated:
            break
    buffer = EpisodeBuffer(
        seed=seed, observations=np.stack(observations), actions=np.stack(actions),
        rewards=np.array(rewards), terminations=np.array(terms), truncations=np.array(truncs),
        infos={k: np.array(v) for k, v in infos.items()},
    )
    return buffer, mode, info


def collect(env_name: str, episodes: int, seed: int, video: str | None = None, progress: bool = True):
    """Roll out the expert and write the Minari dataset. Returns it."""
    minari = _minari()
    env = gym.make(ENV_IDS[env_name], render_mode="rgb_array" if video else None)
    buffers, successes, turns, modes, frames = [], [], [], [], []
    for i in trange(episodes, desc=f"demos {env_name}", disable=not progress):
        buffer, mode, info = rollout_expert(env_name, env, seed + i, frames if (video and i == 0) else None)
        buffers.append(buffer)
        modes.append(mode)
        successes.append(bool(info["success"]))
        turns.append(float(info.get("turns", 0.0)))
    rate = float(np.mean(successes))
    dataset = minari.create_dataset_from_buffers(
        dataset_id=dataset_id(env_name, episodes, seed),
        buffer=buffers,
        env=env,
        eval_env=ENV_IDS[env_name],
        algorithm_name=f"scripted expert {EXPERTS[env_name].version}",
        author="softflow-bench",
        author_email="softflow-bench@users.noreply.github.com",
        code_permalink="softflow_bench/demos.py",
        description=f"Scripted multimodal expert on {ENV_IDS[env_name]}; episode i uses seed {seed}+i.",
    )
    # Minari keeps free-form metadata on the dataset's storage.
    dataset.storage.update_metadata({
        "softflow_env": env_name, "softflow_env_id": ENV_IDS[env_name],
        "softflow_expert": f"{EXPERTS[env_name].version}-{expert_fingerprint(env_name)}",
        "softflow_seed": seed, "softflow_episodes": episodes, "softflow_success_rate": rate,
        "softflow_turns_mean": float(np.mean(turns)), "softflow_modes": ",".join(modes),
    })
    if video:
        import imageio

        imageio.mimwrite(video, frames, fps=20)
    env.close()
    return dataset


@contextlib.contextmanager
def reading(did: str):
    """Any failure while reading dataset `did` becomes one DatasetError naming its directory and how to
    make it again (minari and h5py raise several types for missing or damaged files)."""
    try:
        yield
    except Exception as exc:
        where = Path(os.environ["MINARI_DATASETS_PATH"]) / did
        raise DatasetError(f"cannot read dataset {did!r} in {where} ({type(exc).__name__}: {exc}); delete that "
                           f"directory and run again to generate it anew") from exc


def load_dataset(env_name: str, episodes: int, seed: int):
    """Load a cached dataset and check it belongs to `env_name` with the env's shapes."""
    minari = _minari()
    did = dataset_id(env_name, episodes, seed)
    with reading(did):
        dataset = minari.load_dataset(did)
        if dataset.total_episodes > 0:  # open the data file itself, not only the metadata
            next(iter(dataset.iterate_episodes([0])))
    check_dataset(dataset, env_name)
    return dataset


def check_dataset(dataset, env_name: str) -> None:
    """Refuse data recorded on another env or with other observation/action shapes."""
    meta = dataset.storage.metadata
    if meta.get("softflow_env") != env_name:
        raise DatasetError(f"dataset {dataset.spec.dataset_id!r} was recorded on "
                           f"{meta.get('softflow_env')!r}, not {env_name!r}")
    env = gym.make(ENV_IDS[env_name])
    for name, expected, got in [("observation", env.observation_space, dataset.observation_space),
                                ("action", env.action_space, dataset.action_space)]:
        if getattr(got, "shape", None) != expected.shape:
            raise DatasetError(f"dataset {name} shape {getattr(got, 'shape', None)} does not match "
                               f"{env_name}'s {expected.shape}")
    env.close()


def get_or_collect(env_name: str, episodes: int, seed: int, video: str | None = None, progress: bool = True):
    """The cached dataset if it exists, else a freshly collected one.

    Runs started together (the grid and sweep tools) ask for the same dataset at once:
    a lock file makes one of them collect it and the others wait and load it.
    """
    import fcntl

    minari = _minari()
    did = dataset_id(env_name, episodes, seed)
    locks = Path(os.environ["MINARI_DATASETS_PATH"]) / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / (did.replace("/", "__") + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if did in minari.list_local_datasets():
            return load_dataset(env_name, episodes, seed), True
        return collect(env_name, episodes, seed, video, progress), False


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", required=True, choices=list(EXPERT_ENVS), help="task short name")
    p.add_argument("--episodes", type=int, default=100, help="number of expert episodes")
    p.add_argument("--seed", type=int, default=0, help="episode i uses seed + i")
    p.add_argument("--video", default=None, help="write an mp4 of the first episode here")
    args = p.parse_args(argv)
    if args.episodes < 1:
        p.error("--episodes must be at least 1")
    try:
        dataset, cached = get_or_collect(args.env, args.episodes, args.seed, args.video)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    meta = dataset.storage.metadata
    print(f"{'loaded cached' if cached else 'wrote'} {dataset.spec.dataset_id} "
          f"({dataset.total_episodes} episodes, {dataset.total_steps} steps)")
    modes = meta["softflow_modes"].split(",")
    with reading(dataset.spec.dataset_id):
        infos = [ep.infos for ep in dataset.iterate_episodes()]
    successes = [bool(info["success"][-1]) for info in infos]
    # per mode: how good a teacher each demonstrated mode is (a policy imitates its failures too)
    per_mode = {m: [ok for ok, mode in zip(successes, modes) if mode == m] for m in sorted(set(modes))}
    turns = f"mean turns: {meta['softflow_turns_mean']:.3f}  " if "turns" in infos[0] else ""  # the cube's
    print(f"expert success rate: {meta['softflow_success_rate']:.2f}  {turns}"
          f"modes: " + ", ".join(f"{m} x{len(oks)} (success {np.mean(oks):.2f})" for m, oks in per_mode.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
