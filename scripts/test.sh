#!/usr/bin/env bash
# The linter, then the whole test suite, benchmarks included (they assert ratios measured within
# one run).
set -euo pipefail
cd "$(dirname "$0")/.."
export MUJOCO_GL="${MUJOCO_GL:-egl}"
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q --benchmark-enable --benchmark-columns=mean,ops "$@"
