"""Saved benchmark figures and the command that compares two of them, on real pytest-benchmark files."""

import os
import subprocess
import sys

BENCH = '''
import os

def test_speed(benchmark):
    benchmark.extra_info.update(ratio=float(os.environ["RATIO"]), label="x")
    benchmark.pedantic(sum, args=(range(100),), rounds=3)
'''


def _saved(tmp_path, ratio: str):
    # its own pytest, not a worker of the suite's (pytest-xdist disables benchmarks in its workers)
    test = tmp_path / "test_tiny_bench.py"
    test.write_text(BENCH)
    out = tmp_path / f"run_{ratio}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")} | {"RATIO": ratio}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test),
                           "--benchmark-enable", f"--benchmark-json={out}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:]
    return out


def test_compare_prints_each_figure_old_to_new(tmp_path):
    old, new = _saved(tmp_path, "0.5"), _saved(tmp_path, "0.75")
    proc = subprocess.run([sys.executable, "-m", "softflow_bench.tools.bench_compare", str(old), str(new)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    ratio_line = next(line for line in proc.stdout.splitlines() if line.strip().startswith("ratio"))
    assert "0.5 ->" in ratio_line and "0.75" in ratio_line and "x1.50" in ratio_line
    assert "mean_s" in proc.stdout and "label" not in proc.stdout  # numbers only


def test_compare_refuses_a_file_that_is_not_a_benchmark_run(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    proc = subprocess.run([sys.executable, "-m", "softflow_bench.tools.bench_compare", str(bad), str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "not a pytest-benchmark JSON file" in proc.stderr
