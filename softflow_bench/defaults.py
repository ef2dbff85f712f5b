"""What each run's fields default to beyond RunConfig's own defaults: the tiers' budgets, and what
the sampling protocol chose per task, per task and policy family, and per task and algorithm, each
entry naming the sweep that chose it. `softflow_bench.config.resolve` applies them, lowest to
highest: tier, task, task and family, the algorithm's own (softflow_bench.algos), task and
algorithm; the command line wins over all (docs/configuration.md)."""

from __future__ import annotations

TIERS: dict[str, dict[str, float]] = {
    # seconds: exercises every stage, for tests and CI
    "smoke": dict(bc_steps=30, critic_warmup_steps=10, offline_steps=10, online_episodes=2, eval_episodes=2,
                  final_eval_episodes=2,
                  eval_every=1, checkpoint_every=10, demo_episodes=4, batch=32, width=64, flow_blocks=2,
                  critics=2, candidates=4),
    # <= ~25 min per run on the 2-core development machine, most of it stage 1
    # (utd 0.25: ~2,000 online updates; the paper's online phase is about 2,500-4,000).
    # BC: 30,000 updates for every algorithm. At 3,000 the diffusion policy drops every cube
    # (results/sweeps/bc_diffusion_bc_steps_cube_pronation_quick.md) and the flow ends lower too
    # (results/sweeps/softflow_bc_steps_cube_pronation_quick.md): one budget both can use.
    "quick": dict(bc_steps=30000, critic_warmup_steps=1000, offline_steps=1000, online_episodes=30, utd=0.25,
                  eval_episodes=20, final_eval_episodes=100, eval_every=10, checkpoint_every=500),
    # paper-matched online budget (60 episodes), longer offline stages, 100 evaluation episodes
    "paper": dict(bc_steps=30000, critic_warmup_steps=5000, offline_steps=10000, online_episodes=60, utd=0.2,
                  eval_episodes=100, final_eval_episodes=100, eval_every=10, checkpoint_every=1000),
}

#: Per-task defaults, in every tier: over the tier's, under the algorithm's; the command line wins
#: over all. Every algorithm gets the same ones (fairness); each says which sweep chose it.
TASK_DEFAULTS: dict[str, dict[str, float]] = {
    "scissors_tape": dict(
        # Putting two fingertips into the rings needs millimetre placement: policies without a search
        # of their own (results/sweeps/bc_flow_temperature_scissors_tape_quick.md, an early flow)
        # act at 0.1 and explore at 0.3; each family searched since overrides these (FAMILY_DEFAULTS).
        temperature=0.1, explore_temperature=0.3,
    ),
}
TASK_DEFAULTS["scissors_tape_dense"] = TASK_DEFAULTS["scissors_tape"]  # same task, staged reward

#: Per task and policy family (AlgoSpec.sampling_family: flow, gaussian, gaussian_step, diffusion;
#: DSRL's is the diffusion family's): what the sampling protocol chose for that family
#: (docs/method.md: acting and exploring temperatures on validation episodes, the demonstration
#: noise by a sweep), each entry naming its sweep files. Over the task's defaults, under the
#: algorithm's.
FAMILY_DEFAULTS: dict[tuple[str, str], dict[str, float]] = {
    # Noise 0.05 on the demonstration chunks: the BC flow (seed 0) acting at its best temperature
    # succeeds in 0.86 of 50 validation episodes, against 0.60 at 0.02 and 0.54 at 0.1, and 0.00-0.02
    # at every temperature without noise (results/sweeps/bc_flow_demo_noise_cube_pronation_quick.md,
    # results/sweeps/bc_flow_temperature_cube_pronation_demo_noise_*.md). Acting at 0.05 (0.86; 0.84 at
    # 0.1, 0.08 at the paper's 0.7), exploring at 0.1, the highest that keeps 90 % of that.
    # SOFT-FLOW keeps its own pick, the best of 24: 0.86 of 100 validation episodes per seed (0-2)
    # against 0.84 with one chunk (-0.02 [-0.05, +0.01] paired; results/evals/
    # cube_pronation_softflow_protocol_val_n24.md, ..._n1.md).
    ("cube_pronation", "flow"): dict(demo_noise=0.05, temperature=0.05, explore_temperature=0.1),
    # The BC diffusion policy (seed 0) is flat in temperature: 0.58-0.64 of 50 validation episodes at
    # every value from 0.05 to 1.0; 0.7 wins on return (results/sweeps/bc_diffusion_temperature_cube_pronation.md).
    # Exploring: 1.0 by the protocol's rule, which the diffusion algorithms' cap (0.7) lowers.
    ("cube_pronation", "diffusion"): dict(temperature=0.7, explore_temperature=1.0),
    # The chunk Gaussian (bc_gaussian, sac_chunked) is best without noise on its demonstration
    # chunks (seed 0, each sigma at its best temperature on 50 validation episodes: 0.40 at 0.1,
    # against 0.38, 0.10 and 0.30 at sigma 0.02, 0.05 and 0.1; results/sweeps/
    # bc_gaussian_temperature_cube_pronation_demo_noise_*.md), so it keeps demo_noise 0 and acts at
    # 0.1 (0.08 at the paper's 0.7, 0.04 at 1.0); exploring at 0.1 too, as 0.2 keeps less than 90 %.
    ("cube_pronation", "gaussian"): dict(temperature=0.1, explore_temperature=0.1),
    # sac's per-step Gaussian, searched on its own BC policy (seed 0): 0.66 at 0.05, falling with
    # every step up to 0.04 at 1.0 (results/sweeps/sac_temperature_cube_pronation_protocol.md).
    # Its demonstration noise was not swept apart from the chunk Gaussian's: 0 as there.
    ("cube_pronation", "gaussian_step"): dict(temperature=0.05, explore_temperature=0.05),
    # Scissors: noise 0.02 (seed 0, each sigma at its best temperature on 50 validation episodes: 0.66
    # against 0.54 at 0.05, 0.40 without noise and 0.34 at 0.1; results/sweeps/
    # bc_flow_temperature_scissors_tape_demo_noise_*.md). Acting at 0.7, the best mean over seeds 0-2
    # (0.57; 0.41-0.52 elsewhere), and exploring there too: 1.0 keeps less than 90 % of it
    # (results/sweeps/bc_flow_temperature_scissors_tape_demo_noise_0.02_seeds012.md).
    # SOFT-FLOW there acts with one sample (candidates 1) and keeps its updates closer to the data
    # (lambda 100): the offline critic, learned from 100 successful demonstrations of a sparse cut,
    # ranks candidates worse than chance (the best of 24 loses 0.12-0.24 of validation success on every
    # seed's final policy, at every pessimism k up to 4), and at lambda 30 the actor's online updates
    # lost one seed's policy (0.66 -> 0.38 with one sample); with both, the final policies succeed in
    # 0.65 of 100 validation episodes (mean of seeds 0-2; 0.57, 0.66, 0.72) against 0.59 at lambda 30
    # (0.50, 0.76, 0.50) and 0.21 at the earlier defaults (results/evals/scissors_tape_softflow_protocol_val_*.md,
    # results/evals/scissors_tape_softflow_n1_recipes_val.md).
    ("scissors_tape", "flow"): dict(demo_noise=0.02, temperature=0.7, explore_temperature=0.7, candidates=1,
                                    bc_weight=100.0),
    # The BC diffusion policy (seed 0) is flat on the scissors too: 0.30-0.36 of 50 validation
    # episodes at every value; the rule takes 0.05 (0.36), and no higher value keeps 90 % of it
    # (results/sweeps/bc_diffusion_temperature_scissors_tape_protocol.md).
    ("scissors_tape", "diffusion"): dict(temperature=0.05, explore_temperature=0.05),
    # The Gaussians on the scissors, each searched on its own BC policy (seed 0, demo_noise 0 as on the
    # cube): the chunk Gaussian succeeds in 0.18 of 50 validation episodes at 0.1 (0.12 at 0.05 and
    # 0.2, 0.02 at 0.7), so it acts and explores at 0.1, 0.2 keeping less than 90 % of it
    # (results/sweeps/bc_gaussian_temperature_scissors_tape_protocol.md); sac's per-step Gaussian in
    # 0.42 at 0.05, falling to 0.26 at 0.1 (results/sweeps/sac_temperature_scissors_tape_protocol.md).
    # Chunked SAC keeps the best of 24 chunks there: 0.54 of 100 validation episodes per seed (0-2)
    # against 0.29 with one chunk (results/evals/scissors_tape_sac_chunked_protocol_val_n24.md, _n1.md).
    ("scissors_tape", "gaussian"): dict(temperature=0.1, explore_temperature=0.1),
    ("scissors_tape", "gaussian_step"): dict(temperature=0.05, explore_temperature=0.05),
}

#: Per task and RL algorithm: the critic's pick, searched per algorithm since each algorithm's critic
#: ranks its own candidates (docs/method.md: the final policies of seeds 0-2 on 100 validation
#: episodes each, with one chunk and with the best of 24; the higher mean wins, as for a temperature,
#: and stands once the row remade with it does not end lower: the pick also chooses the online chunks).
#: Over the algorithm's own defaults. (The scissors' flow family chose its N with its lambda; both
#: are in FAMILY_DEFAULTS.)
ALGO_TASK_DEFAULTS: dict[tuple[str, str], dict[str, float]] = {
    # DSRL: 0.80 with one chunk against 0.78 with the best of 24 (-0.02 [-0.04, -0.00] paired over
    # 300 validation episodes): at its acting temperature, 0.05, its 24 candidates barely differ
    # (results/evals/scissors_tape_dsrl_protocol_val_n1.md, ..._n24.md).
    ("scissors_tape", "dsrl"): dict(candidates=1),
    # Chunked SAC on the cube: one chunk 0.45 against 0.41 with the best of 24 (+0.04 [-0.01, +0.09]
    # paired over 300 validation episodes); the higher mean wins, as for a temperature
    # (results/evals/cube_pronation_sac_chunked_protocol_val_n1.md, ..._n24.md).
    ("cube_pronation", "sac_chunked"): dict(candidates=1),
    # Searched and left at the algorithm's own N = 24 (the higher mean): the scissors' diffusion RL,
    # 0.107 with the best of 24 against 0.100 with one chunk (-0.01 [-0.03, +0.02] paired over 300
    # validation episodes; results/evals/scissors_tape_diffusion_protocol_val_n24.md, ..._n1.md).
    # The cube's diffusion RL keeps 24 though its search favoured one chunk (0.80 against 0.77 on
    # validation episodes, +0.03 [-0.02, +0.07]; results/evals/cube_pronation_diffusion_protocol_val_n{1,24}.md):
    # the search re-acted policies trained with 24, and the runs trained with one chunk (it also
    # picks their online chunks) end lower, 0.70 against 0.80 over five seeds
    # (results/sweeps/diffusion_candidates_cube_pronation_protocol.md).
}
