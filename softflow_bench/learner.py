"""The learner loop every algorithm runs: the four stages, evaluation, checkpoints and resume.

Stages: (1) `bc` maximum likelihood on demonstration chunks; (2) `critic_warmup` with the actor
frozen; (3) `offline` actor + critic on demonstrations; (4) `online` chunks executed open-loop
by the current policy, replay mixing offline and online data. Imitation-only algorithms
(`bc_*`) stop after stage 1 and are evaluated there. The learner draws the batches; the agent
(softflow_bench.agent) owns its optimisers and its updates (`bc_update`, `update`). A checkpoint
(weights, optimiser and RNG states, progress, curve) is written atomically every `checkpoint_every`
updates in the offline stages and after every online episode, with the online replay buffer beside it, so a
killed run resumes where it stopped and loses no collected data.
"""

from __future__ import annotations

import json
import math
import time
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from tqdm import tqdm

from softflow_bench.agent import Agent, TrainingDiverged
from softflow_bench.chunks import ChunkBuffer
from softflow_bench.config import BC_WARMUP_STEPS, RunConfig, saved_form
from softflow_bench.rollout import ONLINE_SEED_BASE, Episode, evaluate_policy, play_episode

VALIDATION_EVERY = 500  # BC updates between two measurements of the held-out demonstrations' loss


def atomic_torch_save(obj, path: Path) -> None:
    """Write to a temporary file, then rename: a kill mid-write never leaves a half checkpoint."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


class UnreadableCheckpoint(RuntimeError):
    """A checkpoint or BC cache file that is damaged or belongs to another agent."""


def same_layout(theirs: dict[str, torch.Tensor], mine: dict[str, torch.Tensor]) -> bool:
    """Whether a saved state dict holds the same tensors, by name and shape, as a module's own."""
    return set(theirs) == set(mine) and all(theirs[k].shape == v.shape for k, v in mine.items())


class Learner:
    def __init__(self, cfg: RunConfig, env_id: str, offline: ChunkBuffer | None, out: Path, device: torch.device,
                 bc_cache: Path | None = None, env: gym.Env | None = None, validation: ChunkBuffer | None = None,
                 modes=None, bc_source: Path | None = None):
        self.cfg, self.env_id, self.out, self.device = cfg, env_id, out, device
        self.bc_cache = bc_cache  # where the end-of-BC checkpoint is cached by (dataset, config) key
        self.bc_source = bc_source  # another algorithm's BC cache holding this one's stage-1 module
        self.env = env if env is not None else gym.make(env_id)  # given: the real hand or its twin
        obs_dim = self.env.observation_space.shape[0]
        self.action_dim = self.env.action_space.shape[0]
        torch.manual_seed(cfg.seed)
        self.agent = Agent(obs_dim, self.action_dim, cfg).to(device)
        self.offline = offline if offline is not None and len(offline) else None
        self.online = ChunkBuffer()
        self.validation = validation if validation is not None and len(validation) else None
        self.modes = modes  # a softflow_bench.modes.ModeClassifier, or None
        if self.offline is not None:
            self.agent.normalizer.fit(self.offline.data["obs"])
        # the BC stage's moving average of the policy (cfg.bc_ema); AveragedModel copies the policy
        self.ema = (torch.optim.swa_utils.AveragedModel(
            self.agent.policy, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.bc_ema), use_buffers=True)
            if cfg.bc_ema > 0 else None)
        self.rng = np.random.default_rng(cfg.seed)
        self.gen = torch.Generator(device=device).manual_seed(cfg.seed)
        self.state = {"stage": "bc", "stage_step": 0, "online_episodes": 0, "online_env_steps": 0,
                      "curve": [], "wall_time_s": 0.0, "seconds": {}}
        self._clock_start: float | None = None  # set by run(): wall_time_s counts from it
        self.log_file = out / "metrics.jsonl"
        self._tb = None  # opened by the first scalar, so a Learner that never trains writes nothing

    @property
    def tb(self):
        if self._tb is None:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.out / "tb"))
        return self._tb

    # ---- data ---------------------------------------------------------------------------
    def _to_torch(self, batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {k: torch.as_tensor(v, device=self.device) for k, v in batch.items()}

    def _batch(self) -> dict[str, torch.Tensor]:
        """A minibatch: offline only before the online stage, then mixed by offline_ratio."""
        n = self.cfg.batch
        if self.offline is None:
            return self._to_torch(self.online.sample(self.rng, n))
        if len(self.online) == 0:
            return self._to_torch(self.offline.sample(self.rng, n))
        n_off = int(round(n * self.cfg.offline_ratio))
        parts = [self.offline.sample(self.rng, n_off), self.online.sample(self.rng, n - n_off)]
        return self._to_torch({k: np.concatenate([p[k] for p in parts]) for k in parts[0]})

    # ---- updates (the agent's own; the learner draws the batches and says where it failed) --
    def _diverged(self, exc: TrainingDiverged) -> TrainingDiverged:
        return TrainingDiverged(f"{exc} at stage {self.state['stage']} step {self.state['stage_step']}; "
                                f"the last good checkpoint is kept in {self.out}")

    def update(self, train_actor: bool, train_critic: bool) -> dict:
        critic_batch = self._batch() if train_critic else None
        actor_batches = None
        if train_actor and self.cfg.finetune_actor:
            data = self._to_torch(self.offline.sample(self.rng, self.cfg.batch)) if self.offline else self._batch()
            actor_batches = (self._batch(), data)
        try:
            return self.agent.update(critic_batch, actor_batches, self.gen)
        except TrainingDiverged as exc:
            raise self._diverged(exc) from None

    def _spent(self, part: str, since: float) -> None:
        """Charge the seconds since `since` (time.perf_counter) to `part` of state["seconds"]: where a
        run's time goes (bc, critic_warmup, offline, online_acting, online_updates, evaluation), kept
        across a resume, charged before each checkpoint so that a kill loses at most one step's."""
        seconds = self.state.setdefault("seconds", {})
        seconds[part] = seconds.get(part, 0.0) + time.perf_counter() - since

    # ---- acting -------------------------------------------------------------------------
    def run_episode(self, seed: int, temperature: float, render: bool = False) -> Episode:
        """One episode executing chunks open-loop (on a rendering copy of the env when `render`)."""
        env = gym.make(self.env_id, render_mode="rgb_array") if render else self.env
        try:
            return play_episode(env, self.agent, self.cfg, seed, temperature, self.gen, render)
        finally:
            if render:
                env.close()

    @torch.no_grad()
    def validation_loss(self) -> float:
        """The policy's imitation loss on every held-out chunk, clean (no demo_noise), with a generator of
        its own so that measuring it leaves the run's random streams alone."""
        data = self._to_torch(self.validation.data)
        gen = torch.Generator(device=self.device).manual_seed(0)
        policy = self.ema.module if self.ema is not None else self.agent.policy  # what BC will end with
        return float(policy.bc_loss(data["actions"], self.agent.normalizer(data["obs"]), gen).mean())

    def evaluate(self, final: bool = False) -> dict[str, float]:
        """An evaluation point: its aggregates join the curve, its episodes go to
        evaluations/eval<K>.jsonl (K: the point's index in the curve), which the point names. The last
        evaluation of a run is over cfg.final_eval_episodes."""
        since = time.perf_counter()
        episodes = self.cfg.final_eval_episodes if final else self.cfg.eval_episodes
        aggregates, records = evaluate_policy(self.env, self.agent, self.cfg, self.gen, episodes, modes=self.modes)
        self._spent("evaluation", since)
        records_file = Path("evaluations") / f"eval{len(self.state['curve'])}.jsonl"
        (self.out / "evaluations").mkdir(exist_ok=True)
        tmp = self.out / records_file.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
        tmp.replace(self.out / records_file)
        point = {"online_env_steps": self.state["online_env_steps"], "online_episodes": self.state["online_episodes"],
                 **aggregates, "episodes_file": str(records_file)}
        self.state["curve"].append(point)
        self._log({"eval": point})
        return point

    # ---- checkpoints --------------------------------------------------------------------
    def _checkpoint(self) -> dict:
        return {
            "agent": self.agent.state_dict(), "actor_opt": self.agent.actor_opt.state_dict(),
            "critic_opt": self.agent.critic_opt.state_dict(), "alpha_opt": self.agent.alpha_opt.state_dict(),
            "state": json.dumps(self.state),
            "torch_rng": torch.get_rng_state(), "gen": self.gen.get_state(),
            "np_rng": json.dumps(self.rng.bit_generator.state), "config": json.dumps(saved_form(self.cfg)),
            "device": self.device.type,  # self.gen's state fits a generator of this device type only
            **({"ema": self.ema.state_dict()} if self.ema is not None else {}),
        }

    def save(self) -> None:
        if not all(torch.isfinite(p).all() for p in self.agent.parameters()):
            where = f"stage {self.state['stage']} step {self.state['stage_step']}"
            raise TrainingDiverged(f"non-finite weights at {where}; "
                                   f"the last good checkpoint is kept in {self.out}")
        if self._clock_start is not None:  # so a resumed run's wall time includes the time before the kill
            self.state["wall_time_s"] = time.time() - self._clock_start
        ckpt = self._checkpoint()
        if len(self.online):
            self.online.save(self.out / "online_buffer.npz")
        atomic_torch_save(ckpt, self.out / "checkpoint.pt")

    def load(self, path: Path | None = None) -> None:
        """Restore a checkpoint of this agent. Raises UnreadableCheckpoint, having changed nothing, if
        the file cannot be read or holds another agent's weights."""
        path = path or self.out / "checkpoint.pt"
        try:  # on the CPU: RNG states must stay CPU tensors; load_state_dict moves the rest to the device
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
            if not same_layout(ckpt["agent"], self.agent.state_dict()):
                raise ValueError("its weights are another agent's")
            for key in ("actor_opt", "critic_opt", "alpha_opt", "state", "torch_rng", "gen", "np_rng"):
                ckpt[key]  # noqa: B018 (a missing part fails here, before anything is restored)
            state = json.loads(ckpt["state"])
        except (OSError, RuntimeError, EOFError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UnreadableCheckpoint(f"{path} is not a readable checkpoint of this run "
                                       f"({type(exc).__name__}: {exc})") from None
        buf = path.parent / "online_buffer.npz"
        try:
            online = ChunkBuffer.load(buf) if path == self.out / "checkpoint.pt" and state["online_episodes"] \
                else ChunkBuffer()
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise UnreadableCheckpoint(f"{buf}, the run's online replay buffer, cannot be read "
                                       f"({type(exc).__name__}: {exc})") from None
        self.agent.load_state_dict(ckpt["agent"])
        if self.ema is not None and "ema" in ckpt:
            self.ema.load_state_dict(ckpt["ema"])
        self.agent.actor_opt.load_state_dict(ckpt["actor_opt"])
        self.agent.critic_opt.load_state_dict(ckpt["critic_opt"])
        self.agent.alpha_opt.load_state_dict(ckpt["alpha_opt"])
        self.state = state
        torch.set_rng_state(ckpt["torch_rng"])
        self.gen.set_state(ckpt["gen"])
        self.rng.bit_generator.state = json.loads(ckpt["np_rng"])
        self.online = online

    def save_policy(self, path: Path) -> None:
        """The trained agent alone (for deployment or another stage), weights-only loadable."""
        torch.save({"agent": self.agent.state_dict(), "config": json.dumps(saved_form(self.cfg))}, path)

    def _log(self, record: dict) -> None:
        record = {"stage": self.state["stage"], "stage_step": self.state["stage_step"], **record}
        with open(self.log_file, "a") as f:
            f.write(json.dumps(record) + "\n")

    # ---- the stages ---------------------------------------------------------------------
    def _offline_stage(self, name: str, steps: int, train_actor: bool, train_critic: bool, bc_only: bool = False):
        bar = tqdm(total=steps, initial=self.state["stage_step"], desc=name)
        while self.state["stage_step"] < steps:
            since = time.perf_counter()
            if bc_only:
                lr = self._set_bc_lr(self.state["stage_step"])
                batch = self._to_torch(self.offline.sample(self.rng, self.cfg.batch))
                try:
                    logs = self.agent.bc_update(batch, self.gen)
                except TrainingDiverged as exc:
                    raise self._diverged(exc) from None
                if self.cfg.bc_lr_schedule != "constant":
                    logs["lr"] = lr
                if self.ema is not None:
                    self.ema.update_parameters(self.agent.policy)
            else:
                logs = self.update(train_actor, train_critic)
            self._spent(name, since)
            self.state["stage_step"] += 1
            bar.update(1)
            step = self.state["stage_step"]
            stop = False
            if bc_only and self.validation is not None and (step % VALIDATION_EVERY == 0 or step == steps):
                logs["validation_loss"] = loss = self.validation_loss()
                stop = self._patience_spent(loss)
            if step % 50 == 0 or step == steps:
                logs = {k: float(v) for k, v in logs.items()}
                for k, v in logs.items():
                    self.tb.add_scalar(f"{name}/{k}", v, step)
                self._log(logs)
                bar.set_postfix({k: f"{v:.3f}" for k, v in logs.items()})
            if stop:
                self.state["bc_stopped_at"] = step
                self._log({"bc_stopped_at": step, "best_validation_loss": self.state["bc_best_validation"]})
                break
            if step % self.cfg.checkpoint_every == 0 and step < steps:
                self.save()
        bar.close()
        if bc_only:
            self._set_bc_lr(None)

    def _set_bc_lr(self, step: int | None) -> float:
        """The actor's learning rate for BC update `step` under cfg.bc_lr_schedule (None: lr, as the
        later stages train). A function of the step alone, so a resumed BC stage continues its schedule."""
        lr = self.cfg.lr
        if step is not None and self.cfg.bc_lr_schedule == "cosine":
            warmup = min(BC_WARMUP_STEPS, self.cfg.bc_steps)
            if step < warmup:
                lr *= (step + 1) / warmup
            else:
                lr *= 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(1, self.cfg.bc_steps - warmup)))
        for group in self.agent.actor_opt.param_groups:
            group["lr"] = lr
        return lr

    def _patience_spent(self, loss: float) -> bool:
        """Record a held-out loss; True once cfg.bc_patience measurements in a row have not improved on the best."""
        if loss < self.state.get("bc_best_validation", math.inf):
            self.state["bc_best_validation"], self.state["bc_since_best"] = loss, 0
        else:
            self.state["bc_since_best"] = self.state.get("bc_since_best", 0) + 1
        return bool(self.cfg.bc_patience) and self.state["bc_since_best"] >= self.cfg.bc_patience

    def _online_stage(self):
        cfg = self.cfg
        bar = tqdm(total=cfg.online_episodes, initial=self.state["online_episodes"], desc="online")
        while self.state["online_episodes"] < cfg.online_episodes:
            seed = ONLINE_SEED_BASE + 1000 * cfg.seed + self.state["online_episodes"]
            since = time.perf_counter()
            episode = self.run_episode(seed, cfg.explore_temperature)
            self._spent("online_acting", since)
            self.online.add(episode.chunks)
            n_steps, ret = episode.steps, episode.ret
            self.state["online_env_steps"] += n_steps
            self.state["online_episodes"] += 1
            updates = max(1, int(round(cfg.utd * n_steps)))
            logs, since = {}, time.perf_counter()
            for _ in range(updates):
                logs = self.update(train_actor=True, train_critic=True)
            self._spent("online_updates", since)
            logs = {k: float(v) for k, v in logs.items()}  # the episode's last update
            self._log({"online_episode": episode.record(self.modes), **logs})
            self.tb.add_scalar("online/return", ret, self.state["online_env_steps"])
            for k, v in logs.items():
                self.tb.add_scalar(f"online/{k}", v, self.state["online_env_steps"])
            bar.update(1)
            bar.set_postfix(ret=f"{ret:.2f}")
            episodes = self.state["online_episodes"]
            if episodes == cfg.online_episodes:
                self.evaluate(final=True)
            elif episodes % cfg.eval_every == 0:
                self.evaluate()
            self.save()  # after every episode: a kill loses at most the episode in progress
        bar.close()

    def _advance(self, stage: str) -> None:
        self.state["stage"] = stage
        self.state["stage_step"] = 0
        self.save()

    def _reuse_bc_cache(self, say) -> bool:
        """Load the cached BC state; a damaged one is only a cache: discarded with a warning, BC is trained."""
        try:
            self.load(self.bc_cache)
            return True
        except UnreadableCheckpoint as exc:
            say(f"warning: discarding the BC cache: {exc}; training BC again")
            self.bc_cache.unlink(missing_ok=True)
            return False

    def _take_source_bc(self, say) -> bool:
        """Stage 1 from the source algorithm's BC cache (AlgoSpec.bc_source): its policy becomes this
        policy's stage1_module, and the data streams (batches, noise) continue from where its BC
        ended. Everything else (this agent's other modules, its optimisers, torch's global stream)
        is as this run's own BC would leave it, which draws nothing from them: the run goes on
        exactly as if it had trained stage 1 itself (tests/test_bc_source.py)."""
        modules = {"policy.": self.agent.policy.stage1_module, "normalizer.": self.agent.normalizer}
        try:  # everything read and checked before anything is changed
            ckpt = torch.load(self.bc_source, map_location="cpu", weights_only=True)
            parts = {prefix: {k.removeprefix(prefix): v for k, v in ckpt["agent"].items() if k.startswith(prefix)}
                     for prefix in modules}
            for prefix, module in modules.items():
                if not same_layout(parts[prefix], module.state_dict()):
                    raise ValueError(f"its {prefix.rstrip('.')} is not this run's stage-1 module")
            source_state, np_rng, gen = json.loads(ckpt["state"]), json.loads(ckpt["np_rng"]), ckpt["gen"]
        except (OSError, RuntimeError, EOFError, ValueError, KeyError, TypeError, AttributeError) as exc:
            say(f"warning: cannot take stage 1 from {self.bc_source} ({type(exc).__name__}: {exc}); "
                f"training BC here")
            return False
        for prefix, module in modules.items():
            module.load_state_dict(parts[prefix])
        self.gen.set_state(gen)
        self.rng.bit_generator.state = np_rng
        self.state.update({k: v for k, v in source_state.items() if k.startswith("bc_")})
        return True

    def run(self, say=print) -> dict:
        cfg = self.cfg
        self._clock_start = time.time() - self.state["wall_time_s"]  # this run's own time, before any BC cache
        if self.state["stage"] == "bc":
            if self.offline is None:
                say("no offline dataset: skipping the offline stages (pure online RL)")
                self.state["stage"] = "online"
                self.evaluate()
            elif self.bc_cache is not None and self.bc_cache.exists() and self.state["stage_step"] == 0 \
                    and self._reuse_bc_cache(say):
                # Same dataset and BC config: the cached end-of-BC state (weights, optimiser and RNG
                # states) is loaded, so the run continues exactly as if BC had been trained here.
                say(f"reused the cached BC checkpoint {self.bc_cache}")
                self.state["seconds"] = {}  # the run that trained the cache spent those, not this one
                self.save_policy(self.out / "bc_policy.pt")
                self._advance("critic_warmup")
            elif self.bc_source is not None and self.bc_source.exists() and self.state["stage_step"] == 0 \
                    and self._take_source_bc(say):
                say(f"took stage 1 from {self.agent.spec.bc_source}'s cached BC checkpoint {self.bc_source}")
                self.save_policy(self.out / "bc_policy.pt")
                self._advance("critic_warmup")
            else:
                self._offline_stage("bc", cfg.bc_steps, False, False, bc_only=True)
                if self.ema is not None:  # BC ends with the average as the policy
                    self.agent.policy.load_state_dict(self.ema.module.state_dict())
                self.save_policy(self.out / "bc_policy.pt")
                self.state["stage"], self.state["stage_step"] = "critic_warmup", 0
                if self.bc_cache is not None:
                    self.bc_cache.parent.mkdir(parents=True, exist_ok=True)
                    atomic_torch_save(self._checkpoint(), self.bc_cache)
                self._advance("critic_warmup")
        if self.agent.spec.imitation_only and self.state["stage"] == "critic_warmup":
            self.evaluate(final=True)  # bc_* rows: the stage-1 policy is the result
            self.state["stage"] = "done"
        if self.state["stage"] == "critic_warmup":
            self._offline_stage("critic_warmup", cfg.critic_warmup_steps, train_actor=False, train_critic=True)
            self._advance("offline")
        if self.state["stage"] == "offline":
            self._offline_stage("offline", cfg.offline_steps, train_actor=True, train_critic=True)
            self.evaluate(final=cfg.online_episodes == 0)  # the "BC/offline" point, before any online data
            self.save_policy(self.out / "offline_policy.pt")  # so that point can be re-evaluated
            self._advance("online")
        if self.state["stage"] == "online":
            self._online_stage()
            self.state["stage"] = "done"
        self.save()
        self.save_policy(self.out / "final_policy.pt")
        if self._tb is not None:
            self._tb.close()
        return self.state
