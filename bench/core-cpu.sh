#!/usr/bin/env bash
# The CPU core's speed targets, side by side in one run, as ratios:
#   1. lmkit's built-in SGEMM vs the system OpenBLAS (squares 256..2048 and the LM shapes),
#      at 1 and 2 threads  -> bench/results/gemm-cpu.json   (target: ratio >= 0.8 everywhere)
#   2. fused softmax-cross-entropy vs log-softmax + gather + backward as separate passes,
#      256 x 14114, at 1 and 2 threads -> bench/results/xent-cpu.json   (target: ratio > 1)
# Needs libopenblas-dev (Debian). Usage: bash bench/core-cpu.sh   (or npm run bench:core)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
echo "### SGEMM: lmkit vs OpenBLAS"
bash "$here/gemm-vs-openblas.sh" "$@"
echo
echo "### fused softmax-cross-entropy vs separate passes"
bash "$here/xent.sh"
