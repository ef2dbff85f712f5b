"""Command-line tools over finished runs: leaderboard, evaluate, sweep, diagnostics."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def print_run_table(make_rows, to_markdown) -> int:
    """Print the rows `make_rows()` builds from run directories as one markdown table (one torch
    thread). If any run cannot be read (ValueError), print one error line, no table, and return 2."""
    import torch

    torch.set_num_threads(1)
    try:
        rows = make_rows()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(to_markdown(rows))
    return 0


def run_evaluations(run: Path, none_yet_ok: bool = False) -> list[tuple[dict, list[dict]]]:
    """Every evaluation of the run in `run`, in order (the offline point first, the final one last): its
    aggregates as the learning curve logged them and its per-episode records. ValueError, naming
    the run, if its files cannot be read, or if it has none (unless `none_yet_ok`: a run started
    but not evaluated yet)."""
    from softflow_bench.tools.leaderboard import episode_records  # imports this package: not at the top

    if not run.is_dir():
        raise ValueError(f"{run}: no such directory")
    out = []
    if none_yet_ok and not (run / "metrics.jsonl").exists():
        return []
    try:  # the curve as metrics.jsonl logs it, so a run still training can be read too
        for line in (run / "metrics.jsonl").read_text().splitlines():
            point = json.loads(line).get("eval")
            if point:
                records = episode_records(run, point)
                if records is None:
                    raise OSError(f"no episode records {point.get('episodes_file')}")
                out.append((point, records))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read the evaluations of {run} ({type(exc).__name__}: {exc})") from exc
    if not out and not none_yet_ok:
        raise ValueError(f"{run} has no evaluation yet")
    return out
