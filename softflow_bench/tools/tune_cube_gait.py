"""Tune the cube expert's gaits by cross-entropy search in the real cube_pronation env.

    python -m softflow_bench.tools.tune_cube_gait --gait thumb_index --seed 0 --iters 15
    python -m softflow_bench.tools.tune_cube_gait --gait thumb_fingers --seed 1 --iters 15

Each writes its best gait into assets/cube_gaits.json (merging with the other gait). Score of a
gait: net turns (rad) over 6 s averaged over seeded resets, minus 1.5 for each drop. The expert is the
gait played closed-loop (softflow_bench.experts.cube); the demos command measures its success.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import trange

from softflow_bench import hand
from softflow_bench.envs.cube_pronation import CubePronationEnv
from softflow_bench.experts.cube import GAIT_JOINTS, NUM_KEYFRAMES, Gait

GAITS_FILE = Path(__file__).resolve().parents[2] / "assets" / "cube_gaits.json"


def gait_score(env: CubePronationEnv, gait: Gait, seeds=(0, 1), seconds: float = 6.0) -> float:
    total = 0.0
    for seed in seeds:
        env.reset(seed=seed)
        for step in range(int(seconds * env.cfg.control_hz)):
            q = gait.targets(env.grasp_pose, step / env.cfg.control_hz, env.joint_ranges)
            _, _, dropped, _, _ = env.step(hand.normalize(q, env.joint_ranges))
            if dropped:
                total -= 1.5
                break
        total += env.turns * 2 * np.pi
    return total / len(seeds)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gait", choices=sorted(GAIT_JOINTS), required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--iters", type=int, default=15)
    p.add_argument("--population", type=int, default=40)
    p.add_argument("--eval-seeds", type=int, default=2, help="resets (seeds 0..N-1) each gait is scored on")
    args = p.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    env = CubePronationEnv()
    dim = NUM_KEYFRAMES * len(GAIT_JOINTS[args.gait]) + 1
    mean, std = np.zeros(dim), np.full(dim, 0.25)
    std[-1] = 0.5
    best_score, best = -np.inf, mean
    for it in (bar := trange(args.iters, desc=f"CEM {args.gait}")):
        pop = mean + std * rng.standard_normal((args.population, dim))
        scores = np.array([gait_score(env, Gait.from_vector(args.gait, th), range(args.eval_seeds)) for th in pop])
        elite = pop[np.argsort(scores)[-8:]]
        mean = 0.7 * elite.mean(0) + 0.3 * mean
        std = 0.7 * elite.std(0) + 0.24 * std
        if scores.max() > best_score:
            best_score, best = float(scores.max()), pop[int(np.argmax(scores))]
        bar.set_postfix(best=f"{best_score:.2f}", mean=f"{scores.mean():.2f}")

    gait = Gait.from_vector(args.gait, best)
    data = json.loads(GAITS_FILE.read_text()) if GAITS_FILE.exists() else {"gaits": {}}
    data["gaits"][args.gait] = {
        "offsets": gait.offsets.round(4).tolist(), "period": round(gait.period, 4),
        "score": round(best_score, 3),
        "command": f"python -m softflow_bench.tools.tune_cube_gait --gait {args.gait} --seed {args.seed} "
                   f"--iters {args.iters} --population {args.population} --eval-seeds {args.eval_seeds}",
    }
    GAITS_FILE.write_text(json.dumps(data, indent=1) + "\n")
    print(f"best score {best_score:.3f} rad; wrote {GAITS_FILE}")


if __name__ == "__main__":
    main()
