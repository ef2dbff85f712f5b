#!/usr/bin/env bash
# Create .venv with the CPU build of torch first (an unpinned torch pulls a multi-GB CUDA
# build), then install softflow-bench with its extras, every package pinned. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
# every other package at the version the committed results were made with (scripts/constraints.txt)
.venv/bin/python -m pip install -q -c scripts/constraints.txt -e ".[dev,grid,real]"
