#!/usr/bin/env bash
# Create .venv with the CPU build of torch first (an unpinned torch pulls a multi-GB CUDA
# build), then install softflow-bench with its dev extra. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e ".[dev,grid,real]"
