"""The BC cache: stage 1 is trained once per (dataset, BC config) and its end state reused by every
run that would train the same one (softflow, softflow_nolik and bc_flow start from the very same
BC policy); DSRL, whose stage 1 is bc_diffusion's, takes its policy from that one's cache."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import fields, replace
from pathlib import Path

from softflow_bench.algos import ALGORITHMS
from softflow_bench.config import RunConfig

#: Bump for a change outside BC_CODE_MODULES that changes stage 1 (the datasets' format, say).
BC_CODE_VERSION = 5
#: The modules whose code makes the end-of-BC state a cache holds (the whole agent: policy, critics,
#: noise actors, optimisers, random streams). Their syntax trees are part of the key, so a cache made
#: by other code is never reused, whatever part of the agent the change touched.
#: Every module of softflow_bench.baselines is one of them too (an algorithm added there included).
BC_CODE_MODULES = ("softflow_bench.agent", "softflow_bench.actor_losses", "softflow_bench.algos",
                   "softflow_bench.chunk_target", "softflow_bench.chunks", "softflow_bench.config",
                   "softflow_bench.flow", "softflow_bench.hand", "softflow_bench.learner",
                   "softflow_bench.offline", "softflow_bench.policies")
#: Every field stage 1 depends on, whatever the algorithm.
BC_FIELDS = ("env", "seed", "demo_episodes", "demo_seed", "chunk", "flow_blocks", "width", "policy_width",
             "scale_bound", "critics", "lr", "batch", "bc_steps", "threads", "validation_episodes", "bc_patience",
             "bc_ema", "demo_noise", "auto_alpha", "alpha")


def files_fingerprint(paths) -> str:
    """Short hash of the files' code read as syntax trees (demos.code_fingerprint: comments,
    docstrings and layout left out)."""
    import hashlib

    from softflow_bench.demos import code_fingerprint

    return hashlib.sha256(b"".join(code_fingerprint(Path(p).read_text()) for p in paths)).hexdigest()[:16]


@functools.cache
def bc_code_fingerprint() -> str:
    """The fingerprint of BC_CODE_MODULES and the baselines as imported (read once per process)."""
    import importlib
    import pkgutil

    import softflow_bench.baselines as baselines

    names = [*BC_CODE_MODULES, *(f"{baselines.__name__}.{m.name}" for m in pkgutil.iter_modules(baselines.__path__))]
    return files_fingerprint(importlib.import_module(m).__file__ for m in names)


def bc_cache_path(cfg: RunConfig, device_type: str = "cpu") -> Path | None:
    """<cache>/<key>.pt, keyed by the dataset (id, expert hash), the code that makes stage 1
    (BC_CODE_MODULES), every field BC depends on, the policy family's own fields and the device
    type (a CUDA generator's state does not fit a CPU one, nor the reverse). None where the task has
    no demonstrations.

    <cache> is $SOFTFLOW_BENCH_CACHE, else data/bc_cache in the checkout.
    """
    import hashlib

    from softflow_bench import demos

    if cfg.env not in demos.EXPERT_ENVS or cfg.demo_episodes == 0:
        return None
    # Algorithms with the same policy and critic shapes share stage 1 (softflow, softflow_nolik and
    # bc_flow start from the very same BC policy); a family's own fields key only that family.
    spec = ALGORITHMS[cfg.algo]
    key = {"dataset": demos.dataset_id(cfg.env, cfg.demo_episodes, cfg.demo_seed), "code": BC_CODE_VERSION,
           "code_fingerprint": bc_code_fingerprint(),
           "device": device_type, "policy": spec.policy, "step_critic": spec.critic == "step",
           "noise_critic": spec.noise_critic,  # one more module in the checkpoint
           **{f: getattr(cfg, f) for f in BC_FIELDS}}
    if spec.uses_diffusion:
        key.update(diffusion_train_steps=cfg.diffusion_train_steps, diffusion_prediction=cfg.diffusion_prediction)
    if spec.uses_flow:
        key["flow_mixing"] = cfg.flow_mixing
        # keyed only when set, so the keys of the flows without them stay as they were
        if cfg.flow_encoder:
            key["flow_encoder"] = cfg.flow_encoder
        if cfg.flow_space != "atanh":
            key["flow_space"] = cfg.flow_space
    if cfg.bc_lr_schedule != "constant":  # keyed only when set, so the constant rate's keys stay as they were
        key["bc_lr_schedule"] = cfg.bc_lr_schedule
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    root = os.environ.get("SOFTFLOW_BENCH_CACHE") or Path(__file__).resolve().parents[1] / "data" / "bc_cache"
    return Path(root) / f"{digest}.pt"


def bc_source_cache_path(cfg: RunConfig, device_type: str = "cpu") -> Path | None:
    """The BC cache of the algorithm whose stage 1 this one's is (AlgoSpec.bc_source: DSRL's diffusion
    policy is bc_diffusion's), or None. Its key is that algorithm's under the same fields, with the
    fields this algorithm's own defaults set (DSRL's entropy settings) at the source's defaults."""
    source = ALGORITHMS[cfg.algo].bc_source
    if source is None:
        return None
    own_defaults = ALGORITHMS[cfg.algo].defaults
    theirs = {f.name: ALGORITHMS[source].defaults.get(f.name, f.default) for f in fields(RunConfig)
              if f.name in own_defaults and f.name in BC_FIELDS}
    return bc_cache_path(replace(cfg, algo=source, **theirs), device_type)
