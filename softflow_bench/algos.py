"""The algorithms `--algo` can name, as (policy, critic, default overrides).

One learner loop and one agent serve them all (`softflow_bench.learner`, `softflow_bench.agent`):
an algorithm is only its policy family, its critic and a few field defaults. The defaults here are
applied after the tier's budgets and lose to any field given on the command line.

Policies: `flow` (softflow_bench.flow), `gaussian` (baselines.gaussian), `diffusion`
(baselines.diffusion), `dsrl` (baselines.dsrl: a noise actor over a frozen diffusion policy; with
`noise_critic`, it maximises a critic over the noise instead of the chunk critic through DDIM),
`flow_steer` (baselines.flow_steer: the same noise actor over a frozen flow).
Critics: `chunk` Q(s_t, a_{t:t+H}) with the n-step chunk target; `step` Q(s_t, a_t) with a
one-step target (the chunk is still executed open-loop); `none` for
imitation-only rows (stage 1, then evaluation).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AlgoSpec:
    policy: str
    critic: str
    summary: str
    defaults: dict = field(default_factory=dict)
    explore_temperature_cap: float | None = None
    """Upper bound on the tier's/task's explore_temperature (when --explore-temperature is not given)."""
    noise_critic: bool = False
    """dsrl policies: the actor maximises a noise-space critic Q^W(s, w) instead of the chunk critic
    through the denoiser (DSRL's noise aliasing; `softflow_bench.agent.Agent`)."""
    family: str | None = None
    """The sampling protocol's family (FAMILY_DEFAULTS' key; None: the policy). One search per BC
    policy that acts differently: sac's per-step Gaussian is searched apart from the chunk Gaussian,
    and DSRL, which before RL acts exactly as the BC diffusion policy, takes that family's."""
    bc_source: str | None = None
    """The algorithm whose stage 1 this one's is, weight for weight: DSRL's frozen diffusion policy is
    the BC diffusion policy of the same seed, so a run takes it from that algorithm's BC cache when it
    is there instead of training it again (`Learner`; the policy's `stage1_module` receives it)."""

    @property
    def sampling_family(self) -> str:
        return self.family or self.policy

    @property
    def imitation_only(self) -> bool:
        return self.critic == "none"

    @property
    def uses_flow(self) -> bool:
        """A coupling flow inside the policy (`flow`, or `flow_steer`'s frozen one)."""
        return self.policy in ("flow", "flow_steer")

    @property
    def noise_actor(self) -> bool:
        """A noise actor over a frozen stage-1 policy (baselines.dsrl's NoiseActorPolicy)."""
        return self.policy in ("dsrl", "flow_steer")

    @property
    def uses_diffusion(self) -> bool:
        """A DDPM/DDIM denoiser inside the policy (`diffusion`, or `dsrl`'s frozen one)."""
        return self.policy in ("diffusion", "dsrl")


# They explore at most at 0.7: DDIM from full-scale noise drops the cube within a chunk or two, and
# fine-tuning on those episodes loses the policy (results/sweeps/diffusion_explore_temperature_*).
DIFFUSION_EXPLORE_CAP = 0.7

ALGORITHMS: dict[str, AlgoSpec] = {
    "softflow": AlgoSpec("flow", "chunk", "SOFT-FLOW: flow over chunks, chunked critic, -Q + lambda * NLL"),
    "softflow_nolik": AlgoSpec("flow", "chunk", "SOFT-FLOW without the likelihood term (lambda = 0)",
                               dict(bc_weight=0.0)),
    "softflow_stepcritic": AlgoSpec("flow", "step", "SOFT-FLOW with a per-step critic Q(s_t, a_t); chunks still "
                                    "executed open-loop, the actor's Q term sees the chunk's first action"),
    # RLPD recipe (50/50 replay, LayerNorm ensemble, UTD field) + auto-tuned entropy, BC-initialised;
    # target entropy -3 per dim by results/sweeps/sac_target_entropy_cube_pronation_quick.md, a sweep
    # made at lambda = 100, which sac keeps (its rows ran with it; not re-swept at softflow's 30);
    # with H = 1 the chunk critic is the usual per-step critic and its target the one-step target.
    "sac": AlgoSpec("gaussian", "chunk", "per-step tanh-Gaussian SAC (RLPD recipe), BC-initialised",
                    dict(chunk=1, candidates=1, auto_alpha=True, alpha=0.01, target_entropy=-3.0, bc_weight=100.0),
                    family="gaussian_step"),
    "sac_chunked": AlgoSpec("gaussian", "chunk", "diagonal tanh-Gaussian over the chunk, SOFT-FLOW's critic and loss"),
    "diffusion": AlgoSpec("diffusion", "chunk", "DDPM/DDIM chunk policy: best-of-N by Q + advantage-weighted "
                          "denoising on replay",
                          explore_temperature_cap=DIFFUSION_EXPLORE_CAP),
    # SAC over the frozen BC diffusion policy's starting noise (baselines.dsrl); the entropy is of the
    # noise, whose per-dim entropy starts at 1.42 (N(0, I)); target 0.5 lets its spread narrow to ~0.4
    "dsrl": AlgoSpec("dsrl", "chunk", "DSRL: SAC in the frozen diffusion policy's noise space, chunk critic",
                     dict(bc_weight=0.0, auto_alpha=True, alpha=0.01, target_entropy=0.5),
                     explore_temperature_cap=DIFFUSION_EXPLORE_CAP, family="diffusion", bc_source="bc_diffusion"),
    # DSRL-NA: the same, but the actor's Q is a noise critic distilled from the chunk critic, so no
    # gradient runs through DDIM (dsrl's noise actor pushed its mean to the bound in most dims)
    "dsrl_na": AlgoSpec("dsrl", "chunk", "DSRL-NA: SAC in the noise space against a noise critic Q(s, w) "
                        "distilled from the chunk critic",
                        dict(bc_weight=0.0, auto_alpha=True, alpha=0.01, target_entropy=0.5),
                        explore_temperature_cap=DIFFUSION_EXPLORE_CAP, noise_critic=True, family="diffusion",
                        bc_source="bc_diffusion"),
    # An ablation of SOFT-FLOW's online recipe: its BC flow (bc_flow's stage 1) frozen and steered in
    # its base-noise space the way dsrl steers its diffusion policy, with dsrl's entropy settings
    # (baselines.flow_steer); it acts under the flow family's protocol choices. Its noise mean is
    # bounded at 0.25: the scissors' seed 0 cut in 0.73 of 100 episodes at 0.25, 0.67 at 0.5, 0.31 at
    # 1.0 and 0.00 at dsrl's 1.5, where the flow maps the noise off the data
    # (results/sweeps/flow_steer_noise_bound_scissors_tape_quick.md; below 0.25 and the cube not swept).
    "flow_steer": AlgoSpec("flow_steer", "chunk", "SAC in the frozen BC flow's base-noise space (DSRL's recipe "
                           "on SOFT-FLOW's flow), chunk critic",
                           dict(bc_weight=0.0, auto_alpha=True, alpha=0.01, target_entropy=0.5, noise_bound=0.25),
                           family="flow", bc_source="bc_flow"),
    "bc_flow": AlgoSpec("flow", "none", "imitation only: the flow after stage 1", dict(candidates=1)),
    "bc_gaussian": AlgoSpec("gaussian", "none", "imitation only: a chunk Gaussian after stage 1", dict(candidates=1)),
    "bc_diffusion": AlgoSpec("diffusion", "none", "imitation only: the diffusion policy after stage 1",
                             dict(candidates=1)),
}
