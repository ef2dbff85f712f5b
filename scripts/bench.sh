#!/usr/bin/env bash
# The benchmarks alone, their figures saved under results/benchmarks/ (compare two such files with
# python -m softflow_bench.tools.bench_compare OLD NEW). Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p results/benchmarks
out="results/benchmarks/$(date +%Y-%m-%d)-$(git rev-parse --short HEAD).json"
bash scripts/test.sh tests/benchmarks --benchmark-json "$out" "$@"
echo "saved $out"
