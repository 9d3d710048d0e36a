#!/usr/bin/env bash
# Fused softmax-cross-entropy vs separate passes (256 x 14114, mean), at 1 and 2 threads.
# Compiles bench/native/bench_xent.cpp with the project's flags (-O3 -fno-math-errno, no -march)
# and writes bench/results/xent-cpu.json. Usage: bash bench/xent.sh [reps]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/build/bench"
mkdir -p "$out" "$root/bench/results"
CXX="${CXX:-g++}"
"$CXX" -std=c++17 -O3 -fno-math-errno -Wall -Wextra -I"$root/native" \
  "$root/bench/native/bench_xent.cpp" "$root/native/cpu/crossentropy.cpp" "$root/native/cpu/threadpool.cpp" \
  -o "$out/bench_xent" -pthread
echo "$("$CXX" --version | head -n1)"
"$out/bench_xent" "$root/bench/results/xent-cpu.json" "${1:-30}"
