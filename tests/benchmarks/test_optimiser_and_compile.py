"""The cheap speed-ups, each measured against the plain computation in the same rounds.

- Adam's multi-tensor (foreach) step, which the agent uses: the same arithmetic as the per-tensor
  loop, so the weights after the same updates are bit-identical, and it must not be slower.
- torch.compile, which the agent does not use: it changes the numbers (fused kernels round
  differently) and costs a compile per process, so it must save more than its compile over a run.
  Tried on the flow's BC loss, on SOFT-FLOW's later-stage update (critic and actor losses, forward
  and backward) and on acting (best of 24 at batch 1). Opt-in (SOFTFLOW_BENCH_COMPILE=1), since
  each compile takes from 20 s to a few minutes on a 2-core machine.

Figures: bash scripts/test.sh tests/benchmarks/test_optimiser_and_compile.py -s
(SOFTFLOW_BENCH_COMPILE=1 in front for the compiled ones)
"""

import os
import time

import numpy as np
import pytest
import torch
from bench_agents import OBS_DIM, make_agent, make_batch, sync

ROUNDS, STEPS = 15, 10
COMPILE = pytest.mark.skipif(os.environ.get("SOFTFLOW_BENCH_COMPILE") != "1", reason="set SOFTFLOW_BENCH_COMPILE=1")
#: About how many later-stage updates (critic warm-up, offline, online at the tier's update ratio) a
#: quick-tier and a paper-tier run make, a critic-only warm-up update counted as a whole one
QUICK_UPDATES, PAPER_UPDATES = 4_000, 18_000


def _against_eager(benchmark, eager_step, compiled_step) -> tuple[float, float, float]:
    """(eager s, compiled s, compile s): the compiled step's first call timed alone (the compile), then
    both in interleaved rounds; recorded in the benchmark, whose own rounds time the compiled step."""
    t = time.perf_counter()
    compiled_step()
    sync()
    compile_s = time.perf_counter() - t
    med = _interleaved({"eager": eager_step, "compiled": compiled_step})
    benchmark.extra_info.update(eager_ms=1000 * med["eager"], compiled_ms=1000 * med["compiled"],
                                ratio=med["compiled"] / med["eager"], compile_s=compile_s)
    benchmark.pedantic(compiled_step, rounds=3, iterations=1)
    return med["eager"], med["compiled"], compile_s


def _bc_agent(foreach: bool):
    agent = make_agent("bc_flow")
    agent.actor_opt = torch.optim.Adam(agent.policy.parameters(), lr=agent.cfg.lr, foreach=foreach)
    return agent


def _interleaved(steps: dict) -> dict[str, float]:
    """Median over rounds of each step function's time per call, the functions taking turns."""
    times = {name: [] for name in steps}
    for _ in range(ROUNDS):
        for name, step in steps.items():
            t = time.perf_counter()
            for _ in range(STEPS):
                step()
            sync()
            times[name].append((time.perf_counter() - t) / STEPS)
    return {name: float(np.median(ts)) for name, ts in times.items()}


def test_foreach_adam_is_bit_identical_and_not_slower(benchmark):
    torch.set_num_threads(1)
    loop, foreach = _bc_agent(False), _bc_agent(True)
    assert make_agent("bc_flow").actor_opt.defaults["foreach"] is True  # what runs use
    batch = make_batch(loop.cfg.batch, loop.cfg.chunk)
    gens = {"loop": torch.Generator().manual_seed(1), "foreach": torch.Generator().manual_seed(1)}
    steps = {"loop": lambda: loop.bc_update(batch, gens["loop"]),
             "foreach": lambda: foreach.bc_update(batch, gens["foreach"])}
    med = _interleaved(steps)
    a, b = loop.state_dict(), foreach.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)  # the same updates, the same weights
    ratio = med["foreach"] / med["loop"]
    print(f"\nBC update, batch 256: Adam's per-tensor loop {1000 * med['loop']:.1f} ms, foreach "
          f"{1000 * med['foreach']:.1f} ms: {ratio:.2f} of it")
    benchmark.extra_info.update(loop_ms=1000 * med["loop"], foreach_ms=1000 * med["foreach"], ratio=ratio)
    benchmark.pedantic(steps["foreach"], rounds=3, iterations=1)
    assert ratio <= 1.1  # 0.93-1.06 measured beside two training runs: a few per cent, within the noise


@COMPILE
def test_compiled_bc_loss_against_eager(benchmark):
    torch.set_num_threads(1)
    eager, compiled = _bc_agent(True), _bc_agent(True)
    batch = make_batch(eager.cfg.batch, eager.cfg.chunk)
    loss = torch.compile(lambda chunks, obs: compiled.policy.bc_loss(chunks, compiled.normalizer(obs)).mean())

    def compiled_step():
        compiled.actor_opt.zero_grad(set_to_none=True)
        loss(batch["actions"], batch["obs"]).backward()
        compiled.actor_opt.step()

    eager_s, compiled_s, compile_s = _against_eager(benchmark, lambda: eager.bc_update(batch), compiled_step)
    ratio = compiled_s / eager_s
    saved_min = 30_000 * (eager_s - compiled_s) / 60  # over a quick-tier BC stage
    print(f"\nBC update, batch 256: eager {1000 * eager_s:.1f} ms, compiled {1000 * compiled_s:.1f} ms "
          f"({ratio:.2f} of it); compile {compile_s:.0f} s against {saved_min:.1f} min saved over 30,000 updates")
    assert ratio < 1.5  # a sanity bound: the compiled loss is the same computation


@COMPILE
def test_compiled_update_against_eager(benchmark):
    torch.set_num_threads(1)
    eager, compiled = make_agent("softflow"), make_agent("softflow")
    batch = make_batch(eager.cfg.batch, eager.cfg.chunk)
    # the agent's own update, with its two losses compiled in place (the optimiser steps stay eager)
    compiled.critic_loss, compiled.actor_loss = torch.compile(compiled.critic_loss), torch.compile(compiled.actor_loss)
    eager_s, compiled_s, compile_s = _against_eager(
        benchmark, lambda: eager.update(batch, (batch, batch)), lambda: compiled.update(batch, (batch, batch)))
    ratio = compiled_s / eager_s
    saved = {n: n * (eager_s - compiled_s) for n in (QUICK_UPDATES, PAPER_UPDATES)}
    print(f"\nSOFT-FLOW update, batch 256: eager {1000 * eager_s:.1f} ms, compiled {1000 * compiled_s:.1f} ms "
          f"({ratio:.2f} of it); compile {compile_s:.0f} s against {saved[QUICK_UPDATES]:.0f} s saved over a "
          f"quick run's updates, {saved[PAPER_UPDATES]:.0f} s over a paper run's")
    assert ratio < 1.5  # a sanity bound: the compiled losses are the same computation


@COMPILE
def test_compiled_acting_against_eager(benchmark):
    torch.set_num_threads(1)
    agent = make_agent("softflow")
    obs = torch.randn(1, OBS_DIM, generator=torch.Generator().manual_seed(0))
    s = agent.normalizer(obs).expand(agent.cfg.candidates, -1)
    gen = torch.Generator().manual_seed(0)

    def best_chunk(s):  # Agent.act's sampling and pick, on one observation
        chunks, _ = agent.policy.sample(s, agent.cfg.temperature, generator=gen, with_log_prob=False)
        return chunks[agent.pick_score(agent.q(s, chunks)).argmax()]

    compiled = torch.compile(best_chunk)
    with torch.inference_mode():
        eager_s, compiled_s, compile_s = _against_eager(benchmark, lambda: best_chunk(s), lambda: compiled(s))
    ratio = compiled_s / eager_s
    print(f"\nbest of {agent.cfg.candidates} at batch 1: eager {1000 * eager_s:.2f} ms, compiled "
          f"{1000 * compiled_s:.2f} ms ({ratio:.2f} of it); compile {compile_s:.0f} s, so it pays after "
          f"{compile_s / max(eager_s - compiled_s, 1e-9):,.0f} decisions")
    assert ratio < 1.5
