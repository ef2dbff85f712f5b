"""Run configuration: one typed dataclass, a docstring per field, resolved against the tiers' budgets
and the protocol's choices (softflow_bench.defaults).

Every field can be overridden on the command line (`--field value`, `--flag/--no-flag`). The
fully resolved config is saved with each run.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import math
from dataclasses import asdict, dataclass, fields
from pathlib import PurePosixPath

from softflow_bench.algos import ALGORITHMS
from softflow_bench.defaults import ALGO_TASK_DEFAULTS, FAMILY_DEFAULTS, TASK_DEFAULTS, TIERS

#: What a diffusion policy's denoiser can output: the noise, or the clean chunk (baselines.diffusion).
#: Here rather than there so that checking a config does not import torch.
DIFFUSION_PREDICTIONS = ("eps", "x0")
#: What precedes each pair of flow couplings (softflow_bench.flow.ChunkFlow's `mixing`).
FLOW_MIXINGS = ("permutation", "lu")
BC_LR_SCHEDULES = ("constant", "cosine")
FLOW_SPACES = ("atanh", "action")
#: Updates of the cosine schedule's linear warm-up (Diffusion Policy's 500).
BC_WARMUP_STEPS = 500
#: The tier whose runs sit directly under <env>/<algo>/ (run_place) and whose rows the README shows.
HEADLINE_TIER = "quick"


@dataclass
class RunConfig:
    # ---- what to run ----------------------------------------------------------------------
    algo: str = "softflow"
    """Algorithm: softflow or a baseline/ablation (softflow_bench/algos.py lists them)."""
    env: str = "cube_pronation"
    """Task short name (cube_pronation) or any registered Gymnasium id with Box spaces."""
    seed: int = 0
    """Seed for networks, sampling and online episode resets."""
    tier: str = HEADLINE_TIER
    """Budget preset: smoke (seconds, tests/CI), quick (~25 min per run on 2 cores), paper."""
    out: str = ""
    """Output directory; default results/runs/<env>/<algo>/seed<N> (quick tier), .../<algo>/<tier>/seed<N> (others)."""
    device: str = "auto"
    """auto (CUDA when present), cpu or cuda."""
    resume: bool = False
    """Continue from the last checkpoint in `out`, with the replay buffer."""
    video: bool = False
    """Write an mp4 of one evaluation episode at the end."""
    threads: int = 1
    """torch CPU threads; 0: torch's default (one per core). One thread keeps a run bit-reproducible and
    never oversubscribes the cores: two runs side by side with torch's default threads each ran about 5x
    slower on a 2-core machine, while one run alone gained about 6 % from a second thread."""

    # ---- data ---------------------------------------------------------------------------
    demo_episodes: int = 100
    """Expert episodes in the offline dataset (generated and cached if missing); 0: none."""
    demo_seed: int = 0
    """Seed of the offline dataset."""
    validation_episodes: int = 0
    """The dataset's last N episodes, held out of training: their chunks' imitation loss (clean, no
    demo_noise) is logged every 500 BC updates as bc/validation_loss. 0: every episode trains."""
    bc_patience: int = 0
    """With validation_episodes: BC stops once the held-out loss has not improved for this many
    measurements in a row (500 updates apart); bc_steps stays the cap. 0: BC runs its bc_steps."""
    bc_ema: float = 0.0
    """Decay of an exponential moving average of the policy's weights during BC; BC ends with the
    average as the policy (Diffusion Policy's recipe; 0.999 averages about the last 1,000 updates). 0: none."""
    bc_lr_schedule: str = "constant"
    """The BC stage's learning rate: constant (lr throughout), or cosine: a linear warm-up over the first
    BC_WARMUP_STEPS updates, then a cosine decay to zero at bc_steps (Diffusion Policy's and the
    flow-RL authors' recipe). The later stages always train at lr."""

    # ---- method (docs/method.md says which defaults come from the paper) -------------------
    chunk: int = 10
    """H: actions per chunk, executed open-loop."""
    gamma: float = 0.99
    """Per-step discount; a chunk's bootstrap uses gamma^k for the k steps executed."""
    flow_blocks: int = 6
    """Coupling blocks in the flow (at least 2: they work in pairs with complementary masks)."""
    flow_mixing: str = "permutation"
    """What precedes each pair of the flow's couplings: a fixed random permutation, or lu: the permutation
    and a learned LU-parameterised invertible linear map (exact log-det), as NinA's flows have."""
    flow_space: str = "atanh"
    """Where the flow's density lives: atanh (samples squashed by tanh, whose Jacobian is in the
    density; demonstration actions at a joint limit sit far out, at atanh(1 - 1e-4) = 4.95), or action:
    the chunk itself, samples clipped into the box when drawn (NinA's flows)."""
    flow_encoder: int = 0
    """Hidden layers of an observation encoder shared by the flow's conditioners, which then read its
    features instead of the observation (the flow-RL authors' recipe); 0: each conditioner reads the
    normalised observation itself."""
    width: int = 256
    """Hidden width of the flow's conditioner MLPs and of the critics."""
    policy_width: int = 0
    """Hidden width of the policy's networks alone (flow conditioners, Gaussian head, denoiser); 0: `width`.
    At equal width the flow's six conditioners hold ~3.7x the parameters of the one-MLP Gaussian head or
    denoiser (cube: 0.89 M against 0.24 M); a policy width of 576 gives those ~0.9 M (capacity-matched)."""
    scale_bound: float = 2.0
    """Bound on each coupling's log-scale (soft-clamped with tanh)."""
    critics: int = 4
    """Critic ensemble size."""
    target_subset: int = 2
    """Critics drawn at random for the min in the TD target (RLPD-style)."""
    tau: float = 0.005
    """Polyak rate of the target critics."""
    lr: float = 3e-4
    """Adam learning rate for actor and critics."""
    batch: int = 256
    """Minibatch size (chunks)."""
    bc_weight: float = 30.0
    """lambda: weight of the dataset-chunk NLL (per chunk dimension) in the actor loss: how close every
    update stays to the demonstrations. 30 by sweeps on both tasks
    (results/sweeps/softflow_bc_weight_{cube_pronation,scissors_tape}_quick.md)."""
    demo_noise: float = 0.0
    """sigma of Gaussian noise added to the dataset chunks (normalised actions) in every loss that
    imitates them: the BC stage, lambda's NLL term and the diffusion anchor; noised chunks are clipped to
    +-(1 - 1e-3). It spreads the learned density around each demonstrated chunk, so the flow's typical
    sample follows a demonstrated motion where without it the flow stalls (docs/method.md). 0: none."""
    alpha: float = 0.0
    """Entropy weight (alpha * log pi per dimension); 0 for SOFT-FLOW (the paper does not confirm an
    entropy term). With --auto-alpha, its starting value."""
    auto_alpha: bool = False
    """Tune alpha (SAC) to hold the policy's entropy per action dimension at target_entropy."""
    target_entropy: float = -1.0
    """Entropy per action dimension that --auto-alpha aims for (SAC's -|A| in total)."""
    diffusion_steps: int = 10
    """DDIM sampling steps of the diffusion policy."""
    diffusion_train_steps: int = 100
    """Noise levels of the diffusion policy's DDPM training (cosine schedule)."""
    diffusion_prediction: str = "x0"
    """What the diffusion policy's denoiser predicts: x0 (the clean chunk) or eps (the noise, DDPM's
    choice; baselines/diffusion.py says why it matters). x0: its chunks miss the demonstrations far less
    and its BC policy holds the scissors and keeps the cube, where eps did neither
    (results/sweeps/bc_diffusion_diffusion_prediction_{scissors_tape,cube_pronation}_quick.md)."""
    awr_temperature: float = 10.0
    """beta of the diffusion fine-tuning weights exp(A / (std(A) * beta)): smaller is greedier. 10: greedier
    weights lost the policy online (results/sweeps/diffusion_awr_temperature_cube_pronation_quick.md)."""
    demo_denoise_weight: float = 0.0
    """diffusion: weight of a plain (unweighted) denoising loss on dataset chunks added to the
    advantage-weighted replay loss: the diffusion policy's counterpart of lambda's NLL term, an anchor to
    the demonstrations. 0: none (the `diffusion` rows). Only the `diffusion` algorithm has it."""
    noise_bound: float = 1.5
    """dsrl, flow_steer: bound on the noise actor's mean per dimension (tanh-squashed). Far-out noise is
    noise the frozen policy never saw in training (flow_steer's own sweep bounds it at 0.25,
    softflow_bench.algos), and DDIM maps it off the data: on the toy
    two-mode chunks (mode at 0.6), noise of 1.5 in every dim lands at 0.65, 2.0 at 0.91, 2.5 at the
    action bound (tests/test_baselines.py steers against this bound)."""
    temperature: float = 0.7
    """Base-noise scale when acting in evaluations: 0.7 as the paper deploys, unless the sampling protocol
    chose another for the task and policy family (FAMILY_DEFAULTS, docs/method.md)."""
    explore_temperature: float = 1.0
    """Base-noise scale when collecting online episodes (exploration); per task and family like temperature."""
    target_temperature: float = 1.0
    """Base-noise scale of the policy's chunks inside the updates: the chunk the critic's TD target
    bootstraps from, and the one the actor's Q term (a diffusion policy's advantage baseline) is taken at.
    1: the untempered policy. A policy that acts at a low `temperature` is otherwise valued and improved
    at chunks it never executes."""
    target_candidates: int = 1
    """N of the TD target: the critic bootstraps from the best (by the target ensemble's mean) of N
    policy chunks drawn at target_temperature, as the policy acts with best-of-N; 1: one chunk."""
    candidates: int = 24
    """N: chunks sampled per decision, the critic's best executed (24 in RL, 64 at deployment)."""
    pick_pessimism: float = 0.0
    """k: the N candidates (and best-of-N TD targets) are ranked by the ensemble's mean Q minus k times
    its spread, a lower confidence bound; 0 ranks by the mean. Meant to keep the argmax off chunks the
    members disagree on; on the scissors' wrong picks they agreed, and k up to 4 changed nothing
    (docs/method.md)."""
    actor_pessimism: float = 0.0
    """k of the actor's Q term (the likelihood families' and DSRL's): the ensemble's mean Q at the
    policy's chunk less k times its spread, so the actor is not drawn to where the critic is unsure;
    0: the mean."""
    offline_ratio: float = 0.5
    """Fraction of each online minibatch drawn from the offline data."""
    utd: float = 1.0
    """Gradient updates per online environment step."""
    finetune_actor: bool = True
    """Update the policy after stage 1. --no-finetune-actor: the stage-1 policy stays frozen and only
    the critic learns, so any gain over it is the critic's best-of-N selection (select-only ablation)."""

    # ---- budgets (set by the tier unless given explicitly) --------------------------------
    bc_steps: int = -1
    """Stage 1: maximum-likelihood updates on demonstrations; one budget per tier for every algorithm."""
    critic_warmup_steps: int = -1
    """Stage 2: critic updates with the actor frozen."""
    offline_steps: int = -1
    """Stage 3: actor + critic updates on demonstrations."""
    online_episodes: int = -1
    """Stage 4: online episodes collected with the current policy."""
    eval_episodes: int = -1
    """Episodes per evaluation (fixed evaluation seeds)."""
    final_eval_episodes: int = -1
    """Episodes of a run's last evaluation, the one its row reports (the curve's other points use
    eval_episodes): 100 resolve a success rate to about +-0.1, 20 only to +-0.2."""
    eval_every: int = -1
    """Online episodes between evaluations."""
    checkpoint_every: int = -1
    """Updates between checkpoints inside the offline stages."""


ALGOS = tuple(ALGORITHMS)


def family_task(env: str) -> str:
    """The task whose family defaults an env takes: scissors_tape_dense is the scissors task."""
    return "scissors_tape" if env == "scissors_tape_dense" else env


class ConfigError(ValueError):
    """A configuration that cannot run; the message names the valid choices."""


def device_type(name: str, cuda_available: bool) -> str:
    """The device type --device NAME means on a machine with or without CUDA (auto: CUDA when there)."""
    return ("cuda" if cuda_available else "cpu") if name == "auto" else name


#: The version of what a run saves (config.json, summary.json, the config inside its policy and
#: checkpoint files). A field added later defaults to the behaviour the code had without it, so a config
#: saved before the field existed reads right with today's default; a default that changes makes runs
#: saved before it mean something else, and bumps this number (their files are migrated or rerun).
FORMAT_VERSION = 2


def saved_config(saved: dict) -> RunConfig:
    """The RunConfig of a saved run (its config.json, or a policy file's config); keys that are not
    fields (env_id, format_version, ...) are ignored, and a field the run was saved without takes its
    default (FORMAT_VERSION's rule). Raises ConfigError for a config of another format version."""
    version = saved.get("format_version")
    if version != FORMAT_VERSION:
        raise ConfigError(f"saved in format {version if version is not None else 'from before versions'}, "
                          f"this softflow-bench reads format {FORMAT_VERSION}: use the version that made "
                          f"it, or run it again")
    names = {f.name for f in fields(RunConfig)}
    return RunConfig(**{k: v for k, v in saved.items() if k in names})


def saved_form(cfg: RunConfig) -> dict:
    """What a run saves of its config: every field and the format version (saved_config reads it)."""
    return {**asdict(cfg), "format_version": FORMAT_VERSION}


#: Fields that say where and how a run is carried out, not what it learns.
BOOKKEEPING = ("out", "device", "resume", "video", "threads")

#: Fields only a diffusion denoiser reads (AlgoSpec.uses_diffusion): any other algo runs the same whatever
#: they hold.
DIFFUSION_FIELDS = ("diffusion_steps", "diffusion_train_steps", "diffusion_prediction")


#: What only the stages after imitation read (the critic's targets, the actor's loss, acting online):
#: an imitation-only run (bc_*) is the same run whatever they are.
LATER_STAGE_FIELDS = ("gamma", "tau", "target_subset", "bc_weight", "alpha", "auto_alpha", "target_entropy",
                      "awr_temperature", "demo_denoise_weight", "noise_bound", "explore_temperature",
                      "target_temperature", "target_candidates", "pick_pessimism", "actor_pessimism", "offline_ratio",
                      "utd", "finetune_actor", "critic_warmup_steps", "offline_steps", "online_episodes", "eval_every")


def unread_fields(algo: str) -> set[str]:
    """The fields the algo never reads, so that a difference in them is no difference in the run."""
    spec = ALGORITHMS[algo]
    unread = set() if spec.uses_diffusion else set(DIFFUSION_FIELDS)
    return unread | set(LATER_STAGE_FIELDS) if spec.imitation_only else unread


def non_defaults(cfg: RunConfig) -> dict:
    """The fields of a resolved config that differ from what its algo, env and tier give by default
    today (bookkeeping fields and those the algo never reads left out): what a table must show beside
    a run's algo to name it."""
    default = resolve(RunConfig(algo=cfg.algo, env=cfg.env, tier=cfg.tier, seed=cfg.seed),
                      {"algo", "env", "tier", "seed"})
    return {f.name: getattr(cfg, f.name) for f in fields(RunConfig)
            if f.name not in {*BOOKKEEPING, *unread_fields(cfg.algo)}
            and getattr(cfg, f.name) != getattr(default, f.name)}


def _field_docs() -> dict[str, str]:
    """Docstrings under each field, read from this module's source."""
    tree = ast.parse(inspect.getsource(RunConfig))
    body = tree.body[0].body
    docs = {}
    for node, nxt in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            docs[node.target.id] = str(nxt.value.value)
    return docs


def parse_args(argv=None) -> tuple[RunConfig, set[str]]:
    """Parse the command line into a RunConfig. Returns it and the names given explicitly."""
    # argparse formats help with %-style interpolation: a literal % in a docstring must be doubled
    docs = {name: doc.replace("%", "%%") for name, doc in _field_docs().items()}
    p = argparse.ArgumentParser(prog="python -m softflow_bench.run",
                                description="Train and evaluate an algorithm on a task (see README).")
    defaults = RunConfig()
    for f in fields(RunConfig):
        default = getattr(defaults, f.name)
        flag = "--" + f.name.replace("_", "-")
        if isinstance(default, bool):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=docs.get(f.name))
        else:
            p.add_argument(flag, type=type(default), default=None, help=docs.get(f.name), metavar=f.name.upper())
    ns = vars(p.parse_args(argv))
    given = {k for k, v in ns.items() if v is not None}
    return dataclasses.replace(defaults, **{k: ns[k] for k in given}), given


def resolve(cfg: RunConfig, given: set[str]) -> RunConfig:
    """Apply the tier's budgets to fields not given explicitly, and validate."""
    for f in fields(RunConfig):  # NaN passes every `< 0` check and would run as another algorithm
        value = getattr(cfg, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"--{f.name.replace('_', '-')} must be a finite number, got {value}")
    for name in ("seed", "demo_seed", "threads", "validation_episodes"):
        if getattr(cfg, name) < 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(cfg, name)}")
    if cfg.tier not in TIERS:
        raise ConfigError(f"unknown tier {cfg.tier!r}; choose one of {sorted(TIERS)}")
    if cfg.algo not in ALGOS:
        raise ConfigError(f"unknown algo {cfg.algo!r}; choose one of {list(ALGOS)}")
    # precedence: tier < task < task and policy family < algorithm < task and algorithm < command line
    spec = ALGORITHMS[cfg.algo]
    budget = {**TIERS[cfg.tier], **TASK_DEFAULTS.get(cfg.env, {}),
              **FAMILY_DEFAULTS.get((family_task(cfg.env), spec.sampling_family), {}), **spec.defaults,
              **ALGO_TASK_DEFAULTS.get((family_task(cfg.env), cfg.algo), {})}
    if spec.explore_temperature_cap is not None:
        explore = budget.get("explore_temperature", cfg.explore_temperature)
        budget["explore_temperature"] = min(explore, spec.explore_temperature_cap)
    cfg = dataclasses.replace(cfg, **{k: v for k, v in budget.items() if k not in given})
    positive = ["chunk", "width", "critics", "target_subset", "batch", "candidates", "target_candidates",
                "diffusion_steps", "diffusion_train_steps", "eval_episodes", "final_eval_episodes", "eval_every",
                "checkpoint_every"]
    for name in positive:
        if getattr(cfg, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(cfg, name)}")
    if cfg.policy_width < 0:
        raise ConfigError(f"--policy-width must be >= 1, or 0 for --width, got {cfg.policy_width}")
    if cfg.flow_blocks < 2:
        raise ConfigError(f"--flow-blocks must be at least 2 (couplings work in pairs), got {cfg.flow_blocks}")
    for name in ["bc_steps", "critic_warmup_steps", "offline_steps", "online_episodes", "demo_episodes"]:
        if getattr(cfg, name) < 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(cfg, name)}")
    if not 0.0 < cfg.gamma <= 1.0:
        raise ConfigError(f"--gamma must be in (0, 1], got {cfg.gamma}")
    if not 0.0 <= cfg.offline_ratio <= 1.0:
        raise ConfigError(f"--offline-ratio must be in [0, 1], got {cfg.offline_ratio}")
    if not 0.0 <= cfg.bc_ema < 1.0:
        raise ConfigError(f"--bc-ema must be in [0, 1), got {cfg.bc_ema}")
    if cfg.bc_patience < 0 or (cfg.bc_patience and not cfg.validation_episodes):
        raise ConfigError(f"--bc-patience must be >= 0 and needs --validation-episodes, got {cfg.bc_patience}")
    if cfg.validation_episodes and cfg.validation_episodes >= cfg.demo_episodes:
        raise ConfigError(f"--validation-episodes ({cfg.validation_episodes}) must leave some of the "
                          f"{cfg.demo_episodes} demonstration episodes to train on")
    if cfg.target_subset > cfg.critics:
        raise ConfigError(f"--target-subset ({cfg.target_subset}) cannot exceed --critics ({cfg.critics})")
    if cfg.device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"--device must be auto, cpu or cuda, got {cfg.device!r}")
    if cfg.diffusion_steps > cfg.diffusion_train_steps:
        raise ConfigError(f"--diffusion-steps ({cfg.diffusion_steps}) cannot exceed --diffusion-train-steps "
                          f"({cfg.diffusion_train_steps})")
    if cfg.flow_space not in FLOW_SPACES:
        raise ConfigError(f"--flow-space must be {' or '.join(FLOW_SPACES)}, got {cfg.flow_space!r}")
    if cfg.flow_encoder < 0:
        raise ConfigError(f"--flow-encoder must be >= 0 (hidden layers; 0: none), got {cfg.flow_encoder}")
    if cfg.bc_lr_schedule not in BC_LR_SCHEDULES:
        raise ConfigError(f"--bc-lr-schedule must be {' or '.join(BC_LR_SCHEDULES)}, got {cfg.bc_lr_schedule!r}")
    if cfg.flow_mixing not in FLOW_MIXINGS:
        raise ConfigError(f"--flow-mixing must be {' or '.join(FLOW_MIXINGS)}, got {cfg.flow_mixing!r}")
    if cfg.diffusion_prediction not in DIFFUSION_PREDICTIONS:
        raise ConfigError(f"--diffusion-prediction must be {' or '.join(DIFFUSION_PREDICTIONS)}, "
                          f"got {cfg.diffusion_prediction!r}")
    if cfg.demo_denoise_weight > 0 and (spec.policy != "diffusion" or spec.imitation_only):
        raise ConfigError(f"--demo-denoise-weight is the diffusion algorithm's; {cfg.algo} has none "
                          "(a likelihood policy's imitation term is --bc-weight)")
    if cfg.auto_alpha and cfg.alpha <= 0:
        raise ConfigError("--auto-alpha needs a starting --alpha > 0")
    positive_reals = (cfg.temperature, cfg.explore_temperature, cfg.target_temperature, cfg.lr, cfg.tau, cfg.utd,
                      cfg.awr_temperature, cfg.noise_bound)
    if min(positive_reals) <= 0 or min(cfg.alpha, cfg.bc_weight, cfg.demo_denoise_weight, cfg.demo_noise,
                                       cfg.pick_pessimism, cfg.actor_pessimism) < 0:
        raise ConfigError("temperature, explore_temperature, target_temperature, lr, tau, utd, awr_temperature and "
                          "noise_bound must be > 0; alpha, bc_weight, demo_denoise_weight, demo_noise and "
                          "the pessimisms >= 0")
    place = f"results/runs/{run_place(cfg.env, cfg.algo, cfg.seed, cfg.tier)}"
    if "out" in given and not cfg.out.strip():
        raise ConfigError(f"--out is empty; give a directory, or leave --out out for its default place {place}")
    if not cfg.out:
        cfg = dataclasses.replace(cfg, out=place)
    return cfg


def run_place(env: str, algo: str, seed: int | str, tier: str) -> PurePosixPath:
    """A run's default place under results/runs (the grid's and the leaderboard's too): <env>/<algo>/seed<N>
    for the quick tier, the leaderboard's headline rows, and <env>/<algo>/<tier>/seed<N> for every other
    tier, so that runs of two tiers never share a folder. (A seed of "*" makes the tier's glob pattern.)"""
    return PurePosixPath(env, algo, *(() if tier == HEADLINE_TIER else (tier,)), f"seed{seed}")
