"""Generate scripted, multimodal demonstrations as a Minari dataset.

    python -m softflow_bench.demos --env cube_pronation --episodes 100 --seed 0 [--video PATH]

Episode i is reset with seed `seed + i` and the expert's randomness is seeded from the same
number, so a dataset is reproducible from (env, episodes, seed). Datasets are cached under
`data/minari/` (or $MINARI_DATASETS_PATH): asking again for the same one loads it instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
from tqdm import trange

import softflow_bench  # noqa: F401  (registers the envs)
from softflow_bench.envs import ENV_IDS

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "minari"
EXPERT_VERSION = "cube-gait-v1"


class DatasetError(RuntimeError):
    """A dataset that is missing, corrupt, or does not match the env it is used with."""


def _minari():
    os.environ.setdefault("MINARI_DATASETS_PATH", str(DEFAULT_DATA_DIR))
    import minari

    return minari


def dataset_id(env_name: str, episodes: int, seed: int) -> str:
    return f"softflow_bench/{env_name}/expert-n{episodes}-s{seed}-v0"


def make_expert(env_name: str, env, rng: np.random.Generator):
    if env_name == "cube_pronation":
        from softflow_bench.experts.cube import CubeExpert

        return CubeExpert(env, rng)
    raise ValueError(f"no expert for env {env_name!r}; choose one of {sorted(ENV_IDS)}")


def collect(env_name: str, episodes: int, seed: int, video: str | None = None, progress: bool = True):
    """Roll out the expert and write the Minari dataset. Returns it."""
    minari = _minari()
    env = minari.DataCollector(gym.make(ENV_IDS[env_name]), record_infos=True)
    successes, turns, modes, frames = [], [], [], []
    render_env = gym.make(ENV_IDS[env_name], render_mode="rgb_array") if video else None
    for i in trange(episodes, desc=f"demos {env_name}", disable=not progress):
        rng = np.random.default_rng(seed + i)
        expert = make_expert(env_name, env, rng)
        modes.append(expert.reset())
        env.reset(seed=seed + i)
        while True:
            _, _, terminated, truncated, info = env.step(expert.act())
            if i == 0 and render_env is not None:
                render_env.unwrapped.data.qpos[:] = env.unwrapped.data.qpos  # mirror state for frames
                import mujoco

                mujoco.mj_forward(render_env.unwrapped.model, render_env.unwrapped.data)
                frames.append(render_env.render())
            if terminated or truncated:
                break
        successes.append(bool(info["success"]))
        turns.append(float(info.get("turns", 0.0)))
    rate = float(np.mean(successes))
    dataset = env.create_dataset(
        dataset_id=dataset_id(env_name, episodes, seed),
        algorithm_name=f"scripted expert {EXPERT_VERSION}",
        author="softflow-bench",
        code_permalink="softflow_bench/demos.py",
        description=f"Scripted multimodal expert on {ENV_IDS[env_name]}; episode i uses seed {seed}+i.",
    )
    # Minari keeps free-form metadata on the dataset's storage.
    dataset.storage.update_metadata({
        "softflow_env": env_name, "softflow_env_id": ENV_IDS[env_name], "softflow_expert": EXPERT_VERSION,
        "softflow_seed": seed, "softflow_episodes": episodes, "softflow_success_rate": rate,
        "softflow_turns_mean": float(np.mean(turns)), "softflow_modes": ",".join(modes),
    })
    if video:
        import imageio

        imageio.mimwrite(video, frames, fps=20)
    env.close()
    return dataset


def load_dataset(env_name: str, episodes: int, seed: int):
    """Load a cached dataset and check it belongs to `env_name` with the env's shapes."""
    minari = _minari()
    did = dataset_id(env_name, episodes, seed)
    try:
        dataset = minari.load_dataset(did)
    except Exception as exc:  # minari raises several types for missing/corrupt files
        raise DatasetError(f"cannot read dataset {did!r}: {exc}") from exc
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
    """The cached dataset if it exists, else a freshly collected one."""
    minari = _minari()
    if dataset_id(env_name, episodes, seed) in minari.list_local_datasets():
        return load_dataset(env_name, episodes, seed), True
    return collect(env_name, episodes, seed, video, progress), False


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", required=True, choices=sorted(ENV_IDS), help="task short name")
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
    print(f"expert success rate: {meta['softflow_success_rate']:.2f}  "
          f"mean turns: {meta['softflow_turns_mean']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
