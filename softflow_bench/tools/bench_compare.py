"""How the benchmarks moved between two saved runs.

    bash scripts/bench.sh                    # writes results/benchmarks/<date>-<commit>.json
    python -m softflow_bench.tools.bench_compare OLD.json NEW.json

The gates are ratios measured within one run (a busier machine slows both sides), so those, the
numbers each benchmark records beside its timing (`extra_info`), are what to compare across runs;
mean times are shown too, with the machines that made them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def load(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
        return {"machine": data.get("machine_info", {}), "commit": data.get("commit_info", {}).get("id"),
                "benchmarks": {b["fullname"]: b for b in data["benchmarks"]}}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a pytest-benchmark JSON file ({type(exc).__name__}: {exc})") from None


def _fmt(x) -> str:
    return f"{x:.4g}" if isinstance(x, (int, float)) else str(x)


def compare(old: dict, new: dict) -> list[str]:
    """Lines: per benchmark in both, its mean time and each numeric figure, old -> new (new/old)."""
    lines = []
    for side, run in (("old", old), ("new", new)):
        m = run["machine"]
        lines.append(f"{side}: commit {str(run['commit'])[:10]}, {m.get('cpu', {}).get('brand_raw', '?')}, "
                     f"torch {m.get('torch', {}).get('version', '?')}")
    for name in sorted(set(old["benchmarks"]) & set(new["benchmarks"])):
        a, b = old["benchmarks"][name], new["benchmarks"][name]
        lines.append(name)
        rows = [("mean_s", a["stats"]["mean"], b["stats"]["mean"])]
        old_info, new_info = a.get("extra_info", {}), b.get("extra_info", {})
        rows += [(k, old_info[k], new_info[k]) for k in sorted(old_info)
                 if isinstance(old_info[k], (int, float)) and isinstance(new_info.get(k), (int, float))]
        for key, x, y in rows:
            change = f"  x{y / x:.2f}" if x else ""
            lines.append(f"  {key:<24} {_fmt(x):>10} -> {_fmt(y):<10}{change}")
    only = sorted(set(old["benchmarks"]) ^ set(new["benchmarks"]))
    if only:
        lines.append("in one file only: " + ", ".join(only))
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    args = p.parse_args(argv)
    try:
        old, new = load(args.old), load(args.new)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(compare(old, new)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
