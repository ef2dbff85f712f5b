"""The README and docs/ point at files that exist: every relative link, and every module path in
backticks (a renamed or removed module fails here instead of leaving a reader at a dead name)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SOURCE_DIRS = ["softflow_bench", "envs", "baselines", "real", "scripts", "tests"]
# Names written in backticks are looked up where a reader would: from the repository's root, from
# the package, or (for a bare module name in a table that already named its folder) by file name.
SEARCH_ROOTS = [ROOT, ROOT / "softflow_bench"]


def _source_files() -> set[str]:
    return {p.name for d in SOURCE_DIRS for p in (ROOT / d).rglob("*") if p.is_file()}


def test_relative_links_resolve():
    missing = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                missing.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not missing, missing


def test_module_paths_in_backticks_exist():
    names = _source_files()
    missing = []
    for page in PAGES:
        for path in re.findall(r"`([\w./-]+\.(?:py|sh))`", page.read_text()):
            if any((root / path).exists() for root in SEARCH_ROOTS) or ("/" not in path and path in names):
                continue
            missing.append(f"{page.relative_to(ROOT)}: {path}")
    assert not missing, missing
