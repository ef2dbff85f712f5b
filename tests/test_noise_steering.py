"""`python -m softflow_bench.tools.noise_steering` reads real smoke runs of the CLI."""

import os
import subprocess
import sys

RUN = [sys.executable, "-m", "softflow_bench.run", "--env", "cube_pronation", "--tier", "smoke"]
STEERING = [sys.executable, "-m", "softflow_bench.tools.noise_steering"]


def test_noise_steering_reports_each_saved_policy_and_refuses_other_runs(tmp_path):
    env = dict(os.environ)  # conftest points the dataset and BC caches into tmp_path
    runs = {}
    for algo in ("dsrl_na", "softflow"):
        runs[algo] = tmp_path / algo
        subprocess.run(RUN + ["--algo", algo, "--out", str(runs[algo])], env=env, check=True, capture_output=True,
                       timeout=300)
    proc = subprocess.run(STEERING + [str(runs["dsrl_na"]), "--states", "64"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[0].endswith("| Q noise: prior → actor |") and len(lines) == 2 + 3
    bc, offline, final = (line.split(" | ") for line in lines[2:])
    assert [bc[1], offline[1], final[1]] == ["bc_policy.pt", "offline_policy.pt", "final_policy.pt"]
    # the noise actor starts as N(0, I) exactly (zero-initialised last layer): the BC diffusion policy
    assert bc[2:4] == ["0.00", "1.00"]
    assert offline[4] != bc[4] and final[5] != bc[5]  # the critics learned in stages 2-4 (smoke: few updates)

    bad = ([str(runs["softflow"])], [str(tmp_path / "missing")], [str(runs["dsrl_na"]), "--states", "0"])
    for args in bad:
        proc = subprocess.run(STEERING + args, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and proc.stderr.startswith("error:"), proc.stderr
        assert proc.stdout == ""
