"""The actor losses of the later stages. A policy family names its own as `actor_loss`
(softflow_bench.policies.ChunkPolicy): a family with a likelihood takes SOFT-FLOW's, a diffusion
policy the advantage-weighted denoising loss.

Each is called as policy.actor_loss(agent, s, policy_batch, data_batch, generator), with `s` the
normalised observations of `policy_batch`, and returns (loss, log pi of the policy's chunks or
None, the loss's terms detached for the logs). The policy's chunks are drawn at
cfg.target_temperature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from softflow_bench.agent import Agent

Batch = dict[str, torch.Tensor]


def likelihood_actor_loss(policy, agent: Agent, s: torch.Tensor, policy_batch: Batch, data_batch: Batch,
                          generator: torch.Generator | None = None):
    """SOFT-FLOW's loss: -Q(s, reparameterised chunk) + alpha * log pi + lambda * NLL(dataset chunks), Q
    the ensemble's mean less actor_pessimism times its spread."""
    chunk, log_pi = policy.sample(s, agent.cfg.target_temperature, generator=generator)
    q = agent.lower_bound(agent.q(s, chunk), agent.cfg.actor_pessimism)
    return regularised_q_loss(agent, q, log_pi, data_batch, generator)


def regularised_q_loss(agent: Agent, q: torch.Tensor, log_pi: torch.Tensor, data_batch: Batch,
                       generator: torch.Generator | None = None):
    """-Q (normalised) + alpha * log pi + lambda * NLL(dataset chunks), given the Q (B,) and log pi (B,)
    of the policy's own samples."""
    # Q's scale grows with returns; normalise it so lambda keeps one meaning (TD3+BC).
    q_term = -(q / q.abs().mean().detach().clamp(min=1e-3)).mean()
    log_pi = log_pi / agent.chunk_dim  # per dimension, like the NLL term
    loss = q_term + agent.alpha * log_pi.mean()
    # what drifts when an online stage goes wrong: the data's NLL rises, the policy's own chunks
    # move where the critic's Q is high and the data is not
    terms = {"q_policy": q.mean().detach(), "nll_policy": -log_pi.mean().detach()}
    if agent.cfg.bc_weight > 0:
        nll_data = agent.bc_loss(data_batch, generator)
        loss = loss + agent.cfg.bc_weight * nll_data
        terms["nll_data"] = nll_data.detach()
    return loss, log_pi.detach(), terms


def advantage_weighted_loss(policy, agent: Agent, s: torch.Tensor, policy_batch: Batch, data_batch: Batch,
                            generator: torch.Generator | None = None):
    """For a policy without a likelihood: the denoising loss on replay chunks weighted by exp(A / beta),
    A the critic's advantage of the replay chunk over a fresh policy chunk (normalised by its std),
    plus demo_denoise_weight * the plain denoising loss on dataset chunks."""
    cfg = agent.cfg
    with torch.no_grad():
        q_data = agent.q(s, policy_batch["actions"]).mean(0)
        q_pi = agent.q(s, policy.sample(s, cfg.target_temperature, generator=generator)[0]).mean(0)
        adv = q_data - q_pi
        weights = torch.exp(adv / (adv.std() + 1e-6) / cfg.awr_temperature).clamp(max=100.0)
        weights = weights / weights.mean()
    loss = (weights * policy.bc_loss(policy_batch["actions"], s, generator)).mean()
    if cfg.demo_denoise_weight > 0:  # the anchor: plain denoising on dataset chunks
        loss = loss + cfg.demo_denoise_weight * agent.bc_loss(data_batch, generator)
    return loss, None, {"advantage_std": adv.std()}
