// lmkit CUDA kernel family: softmax / log-softmax. One block per row; each thread reads and
// writes the same elements (i = tid + k*blockDim), and every read of a row happens before
// the block-wide reduction that precedes the writes, so in-place calls are safe.
// Never run on a GPU yet.
#include "common.cuh"
#include "softmax.h"

namespace lmkit {
namespace cuda {
namespace {
template <bool kLog>
__global__ void softmax_fwd(float* out, const float* inp, int64_t N, int64_t C) {
  __shared__ float scratch[32];
  LMKIT_ROW_STRIDE(row, N) {
    const float* x = inp + row * C;
    float* y = out + row * C;
    float m = -INFINITY;
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) m = fmaxf(m, x[i]);
    m = block_max(m, scratch);
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) s += expf(x[i] - m);
    s = block_sum(s, scratch);
    if (kLog) {
      const float ls = logf(s);
      for (int64_t i = threadIdx.x; i < C; i += blockDim.x) y[i] = x[i] - m - ls;
    } else {
      const float inv = 1.0f / s;
      for (int64_t i = threadIdx.x; i < C; i += blockDim.x) y[i] = expf(x[i] - m) * inv;
    }
  }
}
template <bool kLog>
__global__ void softmax_bwd(float* dinp, const float* dout, const float* out, int64_t N, int64_t C) {
  __shared__ float scratch[32];
  LMKIT_ROW_STRIDE(row, N) {
    const float* g = dout + row * C;
    const float* y = out + row * C;
    float* d = dinp + row * C;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) s += kLog ? g[i] : g[i] * y[i];
    s = block_sum(s, scratch);
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) {
      d[i] = kLog ? g[i] - expf(y[i]) * s : y[i] * (g[i] - s);
    }
  }
}
}  // namespace

cudaError_t softmax_forward(float* out, const float* inp, int64_t N, int64_t C) {
  if (N * C == 0) return cudaSuccess;
  LMKIT_LAUNCH(softmax_fwd<false>, rows_grid(N), kThreads, 0, stream())(out, inp, N, C);
  return cudaGetLastError();
}
cudaError_t softmax_backward(float* dinp, const float* dout, const float* out, int64_t N, int64_t C) {
  if (N * C == 0) return cudaSuccess;
  LMKIT_LAUNCH(softmax_bwd<false>, rows_grid(N), kThreads, 0, stream())(dinp, dout, out, N, C);
  return cudaGetLastError();
}
cudaError_t log_softmax_forward(float* out, const float* inp, int64_t N, int64_t C) {
  if (N * C == 0) return cudaSuccess;
  LMKIT_LAUNCH(softmax_fwd<true>, rows_grid(N), kThreads, 0, stream())(out, inp, N, C);
  return cudaGetLastError();
}
cudaError_t log_softmax_backward(float* dinp, const float* dout, const float* out, int64_t N, int64_t C) {
  if (N * C == 0) return cudaSuccess;
  LMKIT_LAUNCH(softmax_bwd<true>, rows_grid(N), kThreads, 0, stream())(dinp, dout, out, N, C);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace lmkit
