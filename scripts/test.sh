#!/usr/bin/env bash
# The linter, then the whole suite. Without arguments: the tests spread over up to 4 processes
# (pytest-xdist, a test file per process at a time; every test keeps its datasets and caches in
# its own temporary folders and uses one torch thread), then the benchmarks alone, one at a time,
# since they time things and must never run beside another job. With arguments: pytest on exactly
# those, in one process (e.g. `bash scripts/test.sh tests/test_flow.py`). TEST_WORKERS overrides
# the process count.
set -euo pipefail
cd "$(dirname "$0")/.."
export MUJOCO_GL="${MUJOCO_GL:-egl}"
.venv/bin/ruff check .
PYTEST=(.venv/bin/python -m pytest -q)
BENCH=(--benchmark-enable --benchmark-columns=mean,ops)
if [ $# -gt 0 ]; then
    exec "${PYTEST[@]}" "${BENCH[@]}" "$@"
fi
cores=$(nproc)
"${PYTEST[@]}" -n "${TEST_WORKERS:-$(( cores < 4 ? cores : 4 ))}" --dist loadfile --ignore tests/benchmarks
exec "${PYTEST[@]}" "${BENCH[@]}" tests/benchmarks
