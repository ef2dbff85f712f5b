"""Damaging a file the way a crash, a full disk or a wrong copy does, for the bad-input tests."""

from pathlib import Path


def damage(path: Path, how: str) -> None:
    """truncated: its first half; empty: nothing; wrong json: the start of a JSON object."""
    if how == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "wrong json":
        path.write_text('{"algo": "softflow", ')
    else:
        raise ValueError(f"unknown damage {how!r}")
