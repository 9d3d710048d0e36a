#!/usr/bin/env bash
# Builds the emulated CUDA addon build-cuda-emu/Release/lmkit_cuda.node: native/cuda/*.cu and the
# napi layer compiled by g++ against HIP-CPU (../shared/third_party/hip-cpu), so the CUDA kernels
# run on the CPU (docs/cuda.md, "The emulated CUDA backend"). Needs g++ >= 9, cmake and Intel TBB
# (apt-get install libtbb-dev); no nvcc, no GPU. Incremental in build-cuda-emu/.
#   bash scripts/build-cuda-emu.sh [--asan] [extra cmake-js args]
# --asan builds build-cuda-emu-asan/ with AddressSanitizer + UBSan instead.
# Environment: JOBS (parallel compile jobs, default: number of cores), LMKIT_HIP_CPU_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build-cuda-emu
extra=()
if [ "${1:-}" = "--asan" ]; then
  shift
  out=build-cuda-emu-asan
  extra+=(--CDLMKIT_SANITIZE=ON --CDCMAKE_BUILD_TYPE=Debug)
else
  extra+=(--CDCMAKE_BUILD_TYPE=Release)
fi
if ! compgen -G "/usr/lib/*/libtbb.so" >/dev/null && ! compgen -G "/usr/lib/libtbb.so" >/dev/null; then
  echo "build-cuda-emu: Intel TBB is missing (HIP-CPU needs it): apt-get install libtbb-dev" >&2
  exit 1
fi
hip="${LMKIT_HIP_CPU_DIR:-$PWD/../shared/third_party/hip-cpu}"
if [ ! -f "$hip/include/hip/hip_runtime.h" ]; then
  echo "build-cuda-emu: HIP-CPU not found at $hip (set LMKIT_HIP_CPU_DIR)" >&2
  exit 1
fi
if [ -f "$out/CMakeCache.txt" ] && ! grep -q "^CMAKE_HOME_DIRECTORY:INTERNAL=$PWD\$" "$out/CMakeCache.txt"; then
  echo "build-cuda-emu: the CMake cache belongs to another folder; starting afresh"
  rm -rf "$out"
fi
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
npx cmake-js compile --out "$out" --target lmkit_cuda_emu --parallel "$jobs" --CDLMKIT_CUDA_EMULATE=ON \
  "--CDLMKIT_HIP_CPU_DIR=$hip" "${extra[@]}" "$@"
dir="$out/Release"
[ -f "$dir/lmkit_cuda.node" ] || dir="$out/Debug"
test -f "$dir/lmkit_cuda.node"
preload=""
[ "$out" = build-cuda-emu-asan ] && preload="$(g++ -print-file-name=libasan.so):$(g++ -print-file-name=libubsan.so)"
LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0 node -e "const a=require('./$dir/lmkit_cuda.node'); console.log('build-cuda-emu: $dir/lmkit_cuda.node loads; backend', a.backend, '(emulated on CPU: ' + a.emulation + '); devices', a.deviceCount())"
