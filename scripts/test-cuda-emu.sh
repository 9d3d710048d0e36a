#!/usr/bin/env bash
# The emulated CUDA suite (`npm run test:cuda-emu`): builds build-cuda-emu/ if needed (HIP-CPU,
# scripts/build-cuda-emu.sh), then runs test/gpu unchanged against it (vitest.cuda-emu.config.ts;
# it must not skip) twice:
#   1. LMKIT_CUBLAS=0: every matmul through the own SGEMM kernel (matmul.cu);
#   2. the default: matmuls through the cuBLAS call sites, served by the reference cuBLAS
#      (native/cuda/emu/cublas_ref.cpp), then the coverage check (every launch site and op ran).
# The last line is the second run's vitest `N passed, M failed`; a line `cuda-emu: N passed,
# M failed` before it sums both runs.
#   bash scripts/test-cuda-emu.sh [--asan] [vitest args, e.g. a test file]
# --asan: the same against build-cuda-emu-asan/ (AddressSanitizer + UBSan), run with libasan
# preloaded into node.
set -uo pipefail
cd "$(dirname "$0")/.."
asan=0
if [ "${1:-}" = "--asan" ]; then
  asan=1
  shift
fi
export JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
if [ $asan = 1 ]; then
  bash scripts/build-cuda-emu.sh --asan >/tmp/lmkit-cuda-emu-asan-build.log 2>&1 || { tail -30 /tmp/lmkit-cuda-emu-asan-build.log; echo "cuda-emu: build failed"; echo "0 passed, 1 failed"; exit 1; }
  addon=build-cuda-emu-asan/Debug/lmkit_cuda.node
  [ -f "$addon" ] || addon=build-cuda-emu-asan/Release/lmkit_cuda.node
  export LMKIT_ADDON="$PWD/$addon"
  export LD_PRELOAD="$(g++ -print-file-name=libasan.so):$(g++ -print-file-name=libubsan.so)"
  # Node's own allocations are not ours to report; HIP-CPU's fibers switch stacks.
  export ASAN_OPTIONS="detect_leaks=0:detect_stack_use_after_return=0:halt_on_error=1:abort_on_error=1:allocator_may_return_null=1"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
  test -f dist/index.js || npx tsc -p tsconfig.json
else
  bash scripts/build-cuda-emu.sh >/tmp/lmkit-cuda-emu-build.log 2>&1 || { tail -30 /tmp/lmkit-cuda-emu-build.log; echo "cuda-emu: build failed"; echo "0 passed, 1 failed"; exit 1; }
  grep -E '^build-cuda-emu:' /tmp/lmkit-cuda-emu-build.log
fi
# The warp emulation itself (32-lane shuffles and ballots, launch-configuration errors):
# native/cuda/emu/test_warp.cpp, one small executable.
hip="${LMKIT_HIP_CPU_DIR:-$PWD/../shared/third_party/hip-cpu}"
warp_bin=build-cuda-emu/test_warp
mkdir -p build-cuda-emu
if [ ! -x "$warp_bin" ] || [ -n "$(find native/cuda -newer "$warp_bin" -name '*.[ch]*' | head -n 1)" ]; then
  g++ -std=c++17 -O1 -Wall -Wextra -Wno-unknown-pragmas -DNDEBUG -DLMKIT_WITH_CUDA=1 -DLMKIT_CUDA_EMULATED=1 -Inative \
    -isystem native/cuda/emu/include -isystem "$hip/include" -isystem "$hip/external" \
    native/cuda/emu/test_warp.cpp native/cuda/emu/launch_emu.cpp -xc++ native/cuda/runtime.cu -x none -ltbb -pthread -o "$warp_bin" ||
    { echo "cuda-emu: test_warp failed to build"; echo "0 passed, 1 failed"; exit 1; }
fi
echo "=== cuda-emu: the warp emulation (native/cuda/emu/test_warp.cpp)"
warp_out=$(timeout 120 "$warp_bin" 2>&1)
rc0=$?
echo "$warp_out"
wp=$(echo "$warp_out" | sed -nE 's/^warp emulation: ([0-9]+) passed, ([0-9]+) failed$/\1/p')
wf=$(echo "$warp_out" | sed -nE 's/^warp emulation: ([0-9]+) passed, ([0-9]+) failed$/\2/p')
[ -n "$wp" ] || { wp=0; wf=1; }

# Under ASan the kernels run 5-10x slower again: give each test more time.
vt=()
[ $asan = 1 ] && vt=(--testTimeout 1500000)
counts=$(mktemp -d)
trap 'rm -rf "$counts" "$counts.1" "$counts.2"' EXIT

echo "=== cuda-emu run 1 of 2: LMKIT_CUBLAS=0 (the own SGEMM kernel everywhere)"
LMKIT_CUBLAS=0 LMKIT_EMU_COUNTS_DIR="$counts/own" npx vitest run --config vitest.cuda-emu.config.ts "${vt[@]}" "$@" 2>&1 | tee "$counts.1"
rc1=${PIPESTATUS[0]}
echo "=== cuda-emu run 2 of 2: matmuls through the cuBLAS call sites (reference cuBLAS), then coverage"
LMKIT_EMU_COUNTS_DIR="$counts/cublas" npx vitest run --config vitest.cuda-emu.config.ts "${vt[@]}" "$@" 2>&1 | tee "$counts.2"
rc2=${PIPESTATUS[0]}
sum() { grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1 | sed -E "s/^([0-9]+) passed, ([0-9]+) failed.*/\\$2/"; }
p=$(( wp + $(sum "$counts.1" 1 || echo 0) + $(sum "$counts.2" 1 || echo 0) ))
f=$(( wf + $(sum "$counts.1" 2 || echo 0) + $(sum "$counts.2" 2 || echo 0) ))
[ $rc0 = 0 ] && [ $rc1 = 0 ] && [ $rc2 = 0 ] || [ $f -gt 0 ] || f=1
echo "cuda-emu: $p passed, $f failed (warp emulation $wp/$((wp + wf)); own-SGEMM run and cuBLAS-path run of test/gpu)"
grep -E '^[0-9]+ passed, [0-9]+ failed' "$counts.2" | tail -n 1 || echo "0 passed, 1 failed"
[ $rc0 = 0 ] && [ $rc1 = 0 ] && [ $rc2 = 0 ]
