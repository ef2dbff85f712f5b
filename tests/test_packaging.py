"""The wheel carries every asset the package reads (a non-editable install must run)."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_every_asset(tmp_path):
    # Build from a copy: a stale build/ in the checkout would hide a file the package-data misses.
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "data", "results", "*.egg-info", "__pycache__", ".*cache*", ".whl", ".devsite"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(src)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("softflow_bench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assets = [p.name for p in (ROOT / "assets").iterdir() if p.is_file() and p.suffix != ".pyc"]
    missing = [a for a in assets if f"softflow_bench/assets/{a}" not in names]
    assert not missing, f"assets left out of the wheel: {missing}"
    for sub in ("envs", "baselines", "real"):
        assert any(n.startswith(f"softflow_bench/{sub}/") for n in names)
