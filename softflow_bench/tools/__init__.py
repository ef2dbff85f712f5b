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


def run_evaluations(run: Path) -> list[tuple[dict, list[dict]]]:
    """Every evaluation of the run in `run`, in order (the offline point first, the final one last): its
    aggregates as the learning curve logged them and its per-episode records. ValueError, naming
    the run, if it has none or its files cannot be read."""
    if not run.is_dir():
        raise ValueError(f"{run}: no such directory")
    try:
        points = [json.loads(line).get("eval") for line in (run / "metrics.jsonl").read_text().splitlines()]
        out = [(point, [json.loads(e) for e in (run / point["episodes_file"]).read_text().splitlines()])
               for point in points if point]
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read the evaluations of {run} ({type(exc).__name__}: {exc})") from exc
    if not out:
        raise ValueError(f"{run} has no evaluation yet")
    return out
