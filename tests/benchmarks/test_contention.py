"""Two runs side by side: does each keep its speed? Real subprocesses with the runs' default thread
policy (one torch thread, `RunConfig.threads`), each doing SOFT-FLOW's BC updates at batch 256.

The figure is the BC update rate of a run with an identical run beside it over the rate of one run
alone, measured in this test (so a slower machine does not fail it). With torch's default threads
(two per process on two cores) the development machine measured 0.18; with one thread each it
should be near 1 on a machine with a core per run. Goal 0.85; asserted at 0.6, since a CI machine's
other tenants share its cores too. Skipped on a machine with fewer than two cores.
"""

import os
import subprocess
import sys

import pytest

SECONDS = 6.0
WORKER = f"""
import time, torch
from softflow_bench.agent import Agent
from softflow_bench.config import RunConfig, resolve
cfg = resolve(RunConfig(algo="softflow"), {{"algo"}})
torch.set_num_threads(cfg.threads)
torch.manual_seed(0)
agent = Agent(60, 17, cfg)
batch = {{"obs": torch.randn(256, 60), "actions": torch.rand(256, 170) * 1.8 - 0.9}}
for _ in range(3):
    agent.bc_update(batch)
n, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < {SECONDS}:
    agent.bc_update(batch)
    n += 1
print(n / (time.perf_counter() - t0))
"""


def _rates(copies: int) -> list[float]:
    procs = [subprocess.Popen([sys.executable, "-c", WORKER], stdout=subprocess.PIPE, text=True)
             for _ in range(copies)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    return [float(o.strip().splitlines()[-1]) for o in outs]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="two runs side by side need two cores")
def test_a_run_keeps_its_speed_beside_an_identical_one(benchmark):
    alone = _rates(1)[0]
    pair = _rates(2)
    ratio = sum(pair) / len(pair) / alone
    print(f"\nBC updates/s at batch 256, one thread: alone {alone:.1f}; two runs side by side "
          f"{pair[0]:.1f} and {pair[1]:.1f}: {ratio:.2f} of alone (goal >= 0.85)")
    benchmark.extra_info.update(alone=alone, beside=pair, ratio=ratio)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    assert ratio >= 0.6
