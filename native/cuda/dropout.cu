// lmkit CUDA kernel family: dropout. See dropout.h. Never run on a GPU yet.
// One warp per 32-element mask word: lane k draws element 32w+k (the low or high half of
// the 64-bit hash of pair j = i/2, as on CPU) and the warp assembles the word with a ballot.
#include <cmath>

#include "common.cuh"
#include "dropout.h"

namespace lmkit {
namespace cuda {
namespace {
constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ull;  // as native/cpu/dropout.cpp
constexpr uint64_t kSalt = 0x6A09E667F3BCC909ull;

__host__ __device__ __forceinline__ uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint32_t keep_threshold(double p) {
  const double t = std::floor(p * 4294967296.0);
  if (!(t > 0.0)) return 0;
  if (t >= 4294967295.0) return 0xFFFFFFFFu;
  return static_cast<uint32_t>(t);
}

__global__ void dropout_fwd(float* out, uint32_t* mask, const float* inp, int64_t n, uint64_t key, uint32_t thr,
                            float scale) {
  const int lane = threadIdx.x & 31;
  const int64_t words = (n + 31) / 32;
  const int64_t warp0 = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) >> 5;
  const int64_t nwarps = (int64_t(gridDim.x) * blockDim.x) >> 5;
  for (int64_t w = warp0; w < words; w += nwarps) {
    const int64_t i = w * 32 + lane;
    const uint64_t h = mix64(key + (static_cast<uint64_t>(i) >> 1) * kGamma);
    const uint32_t u = (i & 1) ? static_cast<uint32_t>(h >> 32) : static_cast<uint32_t>(h);
    const bool keep = i < n && u >= thr;
    const uint32_t bits = __ballot_sync(0xffffffffu, keep);
    if (lane == 0) mask[w] = bits;
    if (i < n) out[i] = keep ? inp[i] * scale : 0.0f;
  }
}
__global__ void dropout_bwd(float* dinp, const float* dout, const uint32_t* mask, int64_t n, float scale) {
  LMKIT_GRID_STRIDE(i, n) dinp[i] = ((mask[i >> 5] >> (i & 31)) & 1u) ? dout[i] * scale : 0.0f;
}
}  // namespace

cudaError_t dropout_forward(float* out, uint32_t* mask, const float* inp, int64_t n, double p, uint64_t seed) {
  if (n == 0) return cudaSuccess;
  const int64_t threads = ((n + 31) / 32) * 32;  // one warp per word
  LMKIT_LAUNCH(dropout_fwd, grid_for(threads, kThreads), kThreads, 0, stream())(out, mask, inp, n, mix64(seed ^ kSalt),
                                                                     keep_threshold(p),
                                                                     static_cast<float>(1.0 / (1.0 - p)));
  return cudaGetLastError();
}
cudaError_t dropout_backward(float* dinp, const float* dout, const uint32_t* mask, int64_t n, double p) {
  if (n == 0) return cudaSuccess;
  LMKIT_LAUNCH(dropout_bwd, grid_for(n, kThreads), kThreads, 0, stream())(dinp, dout, mask, n, static_cast<float>(1.0 / (1.0 - p)));
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace lmkit
