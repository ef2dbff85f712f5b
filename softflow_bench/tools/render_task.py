"""Render a README picture of a task: a frame of the expert mid-episode (or the start state).

    MUJOCO_GL=egl python -m softflow_bench.tools.render_task --env cube_pronation --out assets/cube_pronation.png
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import imageio
import numpy as np

from softflow_bench.demos import make_expert
from softflow_bench.envs import ENV_IDS


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", choices=sorted(ENV_IDS), required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--step", type=int, default=40, help="control step at which to take the frame")
    args = p.parse_args(argv)
    env = gym.make(ENV_IDS[args.env], render_mode="rgb_array")
    expert = make_expert(args.env, env, np.random.default_rng(args.seed))
    expert.reset()
    env.reset(seed=args.seed)
    for _ in range(args.step):
        *_, terminated, truncated, _ = env.step(expert.act())
        if terminated or truncated:
            break
    imageio.imwrite(args.out, env.render())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
