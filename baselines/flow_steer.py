"""Flow steering: DSRL's noise-space RL over a frozen BC flow instead of a diffusion policy.

The policy of `flow_steer`, an ablation that splits SOFT-FLOW's result in two: the same flow, after
the same stage 1 as `bc_flow` (weight for weight), but fine-tuned the way `dsrl` fine-tunes its
diffusion policy. The flow's weights never change after stage 1; a Gaussian noise actor
w ~ N(mu(s), sigma(s)^2) chooses the flow's base noise, and the executed chunk is the flow's image
of w (`ChunkFlow.forward`). The noise actor starts at N(0, I), so before any RL `flow_steer` acts
exactly as the BC flow at the same temperature. Where SOFT-FLOW moves the flow's weights and holds
them near the data with lambda * NLL, this one can only choose among chunks the BC flow already
makes.
"""

from __future__ import annotations

import torch

from softflow_bench.baselines.dsrl import NoiseActorPolicy
from softflow_bench.flow import ChunkFlow
from softflow_bench.flow import build as build_flow


class FlowNoisePolicy(NoiseActorPolicy):
    """A noise actor over a frozen ChunkFlow (the `flow` family's policy)."""

    # Its spread never exceeds the prior's it starts at, N(0, I). DDIM clamps its estimate of the
    # chunk at every step, so dsrl's diffusion policy maps any noise to a plausible chunk and its
    # actor may spread up to e^2; a flow maps noise outside its typical set off the data. With
    # dsrl's e^2 the offline stage widened the noise to a spread of about 4 (the critic rated the
    # chunks of such noise higher) and the scissors' policy cut in 0 of 100 episodes at mean bounds
    # 1.5 and 0.25 (results/REPORT.md, "Flow steering").
    max_log_std = 0.0

    def __init__(self, flow: ChunkFlow, cond_dim: int, width: int, *, mean_bound: float):
        super().__init__(flow, "flow", flow.dim, cond_dim, width, mean_bound)

    def decode(self, w: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The chunk the frozen flow makes of base noise w."""
        return self._frozen_forward(w, cond)


def build(chunk_dim: int, obs_dim: int, cfg) -> FlowNoisePolicy:
    """The `flow_steer` policy family (softflow_bench.policies): the flow family's flow, then the noise actor."""
    return FlowNoisePolicy(build_flow(chunk_dim, obs_dim, cfg), obs_dim, cfg.policy_width or cfg.width,
                           mean_bound=cfg.noise_bound)
