"""Command-line tools over finished runs: leaderboard, evaluate, sweep, diagnostics."""

from __future__ import annotations

import sys


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
