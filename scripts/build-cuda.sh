#!/usr/bin/env bash
# Builds the CUDA addon into build-cuda/Release/lmkit_cuda.node (and the CPU addon next to it):
# cmake-js with -DLMKIT_CUDA=ON. Needs nvcc (CUDA 12.x or 13.x) on PATH or CUDACXX set; no cuBLAS
# headers or libraries are needed (cuBLAS is dlopened at run time), nor a GPU.
#   bash scripts/build-cuda.sh [extra cmake-js args]     e.g. --CDCMAKE_CUDA_ARCHITECTURES=90-real
# Environment: JOBS (parallel compile jobs, default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nvcc >/dev/null 2>&1 && [ -z "${CUDACXX:-}" ]; then
  for d in /usr/local/cuda/bin /usr/local/cuda-13/bin /usr/local/cuda-12/bin; do
    if [ -x "$d/nvcc" ]; then export PATH="$d:$PATH"; break; fi
  done
fi
if ! command -v nvcc >/dev/null 2>&1 && [ -z "${CUDACXX:-}" ]; then
  echo "build-cuda: nvcc not found (install the CUDA toolkit or set CUDACXX)" >&2
  exit 1
fi
# A CMake cache written for another source folder (a copied checkout) would be refused.
if [ -f build-cuda/CMakeCache.txt ] && ! grep -q "^CMAKE_HOME_DIRECTORY:INTERNAL=$PWD\$" build-cuda/CMakeCache.txt; then
  echo "build-cuda: the CMake cache belongs to another folder; starting afresh"
  rm -rf build-cuda
fi
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"

npx cmake-js compile --out build-cuda --parallel "$jobs" --CDCMAKE_BUILD_TYPE=Release --CDLMKIT_CUDA=ON "$@"
test -f build-cuda/Release/lmkit_cuda.node
node -e "const a=require('./build-cuda/Release/lmkit_cuda.node'); console.log('build-cuda: lmkit_cuda.node loads; backend', a.backend + ';', 'devices', a.deviceCount())"
