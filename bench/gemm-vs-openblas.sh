#!/usr/bin/env bash
# Builds bench/native (lmkit SGEMM vs OpenBLAS cblas_sgemm, same process) with CMake,
# runs the GEMM correctness test (AVX2 and generic paths), then the benchmark, and
# writes bench/results/gemm-cpu.json.
#
#   bash bench/gemm-vs-openblas.sh [--no-test] [bench_gemm args...]
#     e.g. --reps 9 --threads 1,2 --cases sq1024,lm_fwd --min-ms 40 --cooldown-ms 200
#
# Needs: cmake, g++, libopenblas-dev (pthread variant). On Debian, as root:
#   apt-get update && apt-get install -y libopenblas-dev
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${LMKIT_BENCH_BUILD_DIR:-$ROOT/build/bench-native}"
OUT_JSON="$ROOT/bench/results/gemm-cpu.json"

run_test=1
args=()
for a in "$@"; do
  if [[ "$a" == "--no-test" ]]; then run_test=0; else args+=("$a"); fi
done

if ! ls /usr/lib/x86_64-linux-gnu/libopenblas.so >/dev/null 2>&1 && ! ldconfig -p 2>/dev/null | grep -q libopenblas; then
  echo "OpenBLAS not found: apt-get update && apt-get install -y libopenblas-dev" >&2
  exit 1
fi

cmake -S "$ROOT/bench/native" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null

echo "== build"
echo "g++        : $(g++ --version | head -n1)"
echo "libblas.so.3 -> $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo '?')"
echo "bench_gemm links: $(ldd "$BUILD/bench_gemm" | grep -o 'libopenblas[^ ]* => [^ ]*' | head -n1)"

if [[ $run_test == 1 ]]; then
  echo "== correctness (test/native/test_gemm.cpp)"
  "$BUILD/test_gemm" | tail -n 1
  LMKIT_GEMM_GENERIC=1 "$BUILD/test_gemm" | tail -n 1
fi

echo "== benchmark"
mkdir -p "$(dirname "$OUT_JSON")"
"$BUILD/bench_gemm" --json "$OUT_JSON" "${args[@]}"

# Add what the benchmark binary cannot see by itself.
if command -v python3 >/dev/null 2>&1; then
  python3 - "$OUT_JSON" "$(g++ --version | head -n1)" "$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)" \
    "$(cat /proc/loadavg)" <<'EOF'
import json, sys
path, gxx, blas, load = sys.argv[1:5]
with open(path) as f:
    d = json.load(f)
d["gxx_version"] = gxx
d["libblas_alternative"] = blas
d["loadavg_after_run"] = load
with open(path, "w") as f:
    json.dump(d, f, indent=2)
    f.write("\n")
EOF
fi
