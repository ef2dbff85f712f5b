"""The BC cache: stage 1 is trained once per (dataset, BC config) and its end state reused by every
run that would train the same one (softflow, softflow_nolik and bc_flow start from the very same
BC policy)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from softflow_bench.algos import ALGORITHMS
from softflow_bench.config import RunConfig

BC_CODE_VERSION = 4  # 2: couplings condition on the kept half only; 3: one Agent for every algorithm;
# 4: flow couplings in mask-complementary pairs (every chunk dim transformed)
BC_FIELDS = ("env", "seed", "demo_episodes", "demo_seed", "chunk", "flow_blocks", "width", "scale_bound",
             "critics", "lr", "batch", "bc_steps", "threads")


def bc_cache_path(cfg: RunConfig, device_type: str = "cpu") -> Path | None:
    """<cache>/<key>.pt, keyed by the dataset (id, expert hash), every field BC depends on and, off
    the CPU, the device type (a CUDA generator's state does not fit a CPU one, nor the reverse).

    <cache> is $SOFTFLOW_BENCH_CACHE, else data/bc_cache in the checkout.
    """
    import hashlib

    from softflow_bench import demos

    if cfg.env not in demos.EXPERT_ENVS or cfg.demo_episodes == 0:
        return None
    # BC_CODE_VERSION: bump when the policy's architecture or BC loss changes, so old caches are not reused
    # Algorithms with the same policy and critic shapes share stage 1 (softflow, softflow_nolik and
    # bc_flow start from the very same BC policy); the diffusion schedule only matters to diffusion.
    spec = ALGORITHMS[cfg.algo]
    shapes = {"policy": spec.policy, "step_critic": spec.critic == "step", "auto_alpha": cfg.auto_alpha,
              "alpha": cfg.alpha}
    if spec.uses_diffusion:
        shapes["diffusion_train_steps"] = cfg.diffusion_train_steps
        # keyed only when not eps (the default before x0 was): caches made with eps keep their keys
        if cfg.diffusion_prediction != "eps":
            shapes["diffusion_prediction"] = cfg.diffusion_prediction
    if spec.noise_critic:  # one more module in the checkpoint
        shapes["noise_critic"] = True
    if spec.policy == "flow" and cfg.flow_mixing != "permutation":  # only when set, likewise
        shapes["flow_mixing"] = cfg.flow_mixing
    for name in ("validation_episodes", "bc_patience", "bc_ema", "demo_noise"):  # only when set, likewise
        if getattr(cfg, name):
            shapes[name] = getattr(cfg, name)
    if cfg.policy_width:  # only when set, so the keys of caches made before the field existed still match
        shapes["policy_width"] = cfg.policy_width
    if device_type != "cpu":  # likewise: CPU caches keep their keys
        shapes["device"] = device_type
    key = {"dataset": demos.dataset_id(cfg.env, cfg.demo_episodes, cfg.demo_seed), "code": BC_CODE_VERSION,
           **shapes, **{f: getattr(cfg, f) for f in BC_FIELDS}}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    root = os.environ.get("SOFTFLOW_BENCH_CACHE") or Path(__file__).resolve().parents[1] / "data" / "bc_cache"
    return Path(root) / f"{digest}.pt"


