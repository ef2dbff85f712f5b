"""What ships and what is installed: the wheel carries every asset the package reads (a non-editable
install must run), and the set-up installs every dependency at a pinned version."""

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


def test_setup_pins_every_dependency_and_the_environment_satisfies_the_pins():
    """scripts/setup.sh installs under scripts/constraints.txt: a dependency missing there would be
    installed at whatever release is newest that day, and the set-up venv must hold the pinned ones."""
    import tomllib
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    assert "-c scripts/constraints.txt" in (ROOT / "scripts" / "setup.sh").read_text()
    pins = {}
    for line in (ROOT / "scripts" / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            pins[canonicalize_name(name)] = pinned.strip()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    unpinned = [r for r in wanted if canonicalize_name(Requirement(r).name) not in pins | {"torch": ""}]
    assert not unpinned, f"dependencies without a pin in scripts/constraints.txt: {unpinned}"
    # every pin lies inside what pyproject asks for, and the venv running the tests holds it
    for r in (r for r in map(Requirement, wanted) if r.name != "torch"):  # setup.sh pins torch itself
        pinned = pins[canonicalize_name(r.name)]
        assert r.specifier.contains(pinned, prereleases=True), (str(r), pinned)
    off = {}
    for name, pinned in pins.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue  # an extra's package not installed here
        if installed != pinned:
            off[name] = (installed, pinned)
    assert not off, f"installed versions differ from scripts/constraints.txt (installed, pinned): {off}; " \
                    "bash scripts/setup.sh installs the pinned ones"
