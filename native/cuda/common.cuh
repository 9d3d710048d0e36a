// lmkit CUDA kernels: shared conventions and helpers (device code only).
//
// - One kernel family per file pair native/cuda/<family>.{h,cu}, mirroring native/cpu:
//   the same function names and argument order as the CPU kernels (outputs first, then
//   inputs, then sizes), in namespace lmkit::cuda. Each returns a cudaError_t: the launch
//   status (cudaGetLastError()), never aborting. Errors of the kernel's execution show up at
//   the next synchronisation (a read back), where the napi layer reports them.
// - Parameter gradients ACCUMULATE (+=), activation gradients OVERWRITE (=), as on CPU.
// - All work goes to lmkit::cuda::stream() (runtime.h); pointers are device pointers.
// - Elementwise kernels use grid-stride loops over int64 indices; row kernels use one block
//   per row (rows beyond 65535*... are looped over with a grid-stride on blockIdx.x).
// NOTE: written and compiled without a GPU; none of it has run yet (docs/cuda.md).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "launch.cuh"
#include "runtime.h"

#define LMKIT_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// Rows handled by block-per-row kernels: for (row = blockIdx.x; row < N; row += gridDim.x).
#define LMKIT_ROW_STRIDE(row, N) for (int64_t row = blockIdx.x; row < (N); row += gridDim.x)

namespace lmkit {
namespace cuda {

constexpr int kThreads = 256;

inline unsigned rows_grid(int64_t N) {
  const int64_t cap = max_blocks(65535 * 4);
  return static_cast<unsigned>(N < 1 ? 1 : (N > cap ? cap : N));
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the
// result. `scratch` holds 32 floats of shared memory; the call synchronises the block.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < nw ? scratch[lane] : 0.0f;
  return warp_sum(v);
}
__device__ __forceinline__ float block_max(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < nw ? scratch[lane] : -INFINITY;
  return warp_max(v);
}

}  // namespace cuda
}  // namespace lmkit
