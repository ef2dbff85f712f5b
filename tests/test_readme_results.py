"""The README's results tables say what the committed leaderboard says.

Their numbers are copied by hand from `results/leaderboard.md` (made by tools/leaderboard.py from the
runs); a row that was remade without the README being updated, or a typo, fails here. A README table
is one whose header starts `| algo |` and has a `<cube|cut> success ...` column, the number of runs in
the column before it; "paper" in that column's header names the paper tier, else it is the quick
tier's. A cell "–" says no run has finished yet: the leaderboard must not have that row either.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV_BY_WORD = {"cube": "cube_pronation", "cut": "scissors_tape"}


def _rows(lines: list[str], start: int):
    """The cells of the table rows that follow the header at `start` (after its |---| line)."""
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            return
        yield [cell.strip() for cell in line.strip().strip("|").split("|")]


def _algo(cell: str) -> str:
    """'`dsrl` (x0)' and 'dsrl (x0)' -> 'dsrl (x0)'."""
    return cell.replace("`", "").strip()


def leaderboard_intervals() -> dict[tuple[str, str, str], tuple[int, str]]:
    """(env, tier, algo) -> (runs, 'mean [lo, hi]') from the leaderboard's interval tables."""
    lines = (ROOT / "results" / "leaderboard.md").read_text().splitlines()
    out, section = {}, None
    for i, line in enumerate(lines):
        heading = re.match(r"### (\w+) \((\w+) tier\)", line)
        if heading:
            section = heading.groups()
        elif section and line.startswith("| algo | runs | mean"):
            for cells in _rows(lines, i):
                out[(*section, _algo(cells[0]))] = (int(cells[1]), cells[2])
    return out


def readme_rows() -> list[tuple[str, str, str, int, str | None]]:
    """(env, tier, algo, runs, 'mean [lo, hi]') for every cell of the README's results tables
    ((…, 0, None) for a "–")."""
    lines = (ROOT / "README.md").read_text().splitlines()
    out = []
    for i, line in enumerate(lines):
        if not line.startswith("| algo |"):
            continue
        header = [cell.strip() for cell in line.strip().strip("|").split("|")]
        columns = [(j, re.match(r"(cube|cut) success", cell)) for j, cell in enumerate(header)]
        columns = [(j, ENV_BY_WORD[m.group(1)], "paper" if "paper" in header[j] else "quick")
                   for j, m in columns if m]
        for cells in _rows(lines, i):
            for j, env, tier in columns:
                if cells[j] == "–":
                    out.append((env, tier, _algo(cells[0]), 0, None))
                    continue
                runs = int(re.match(r"\d+", cells[j - 1]).group())
                value = re.match(r"[\d.]+ \[[\d.]+, [\d.]+\]", cells[j]).group()
                out.append((env, tier, _algo(cells[0]), runs, value))
    return out


def test_readme_tables_are_found():
    envs = {(env, tier) for env, tier, *_ in readme_rows()}
    assert {(env, tier) for env in ("cube_pronation", "scissors_tape") for tier in ("quick", "paper")} <= envs


def test_readme_results_match_the_leaderboard():
    board = leaderboard_intervals()
    wrong = []
    for env, tier, algo, runs, value in readme_rows():
        found = board.get((env, tier, algo), (0, None))
        if found != (runs, value):
            wrong.append(f"{env} {tier} {algo}: README {runs} runs {value}, leaderboard {found}")
    assert not wrong, wrong
