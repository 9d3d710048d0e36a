// lmkit CUDA kernel family: fused softmax cross-entropy. See crossentropy.h.
// Pass 1 reads the row once with an online (running max, rescaled sum) softmax per thread,
// merged across the block; pass 2 writes the gradient. x[target] is read in pass 1, before
// the block synchronises, so writing dlogits over logits in pass 2 is safe.
// Never run on a GPU yet.
#include "common.cuh"
#include "crossentropy.h"

namespace lmkit {
namespace cuda {
namespace {
template <bool kGrad>
__global__ void ce_kernel(float* losses, float* dlogits, const float* logits, const int32_t* targets, int64_t N,
                          int64_t V, int64_t ignore, float scale) {
  __shared__ float smax[32], ssum[32];
  __shared__ float s_xt;
  LMKIT_ROW_STRIDE(row, N) {
    const int64_t t = targets[row];
    float* d = kGrad ? dlogits + row * V : nullptr;
    if (t == ignore) {
      if (threadIdx.x == 0) losses[row] = 0.0f;
      if (kGrad)
        for (int64_t i = threadIdx.x; i < V; i += blockDim.x) d[i] = 0.0f;
      continue;
    }
    const float* x = logits + row * V;
    if (threadIdx.x == 0) s_xt = x[t];
    // Online softmax: running max m and sum s of exp(x - m) per thread.
    float m = -INFINITY, s = 0.0f;
    for (int64_t i = threadIdx.x; i < V; i += blockDim.x) {
      const float v = x[i];
      if (v > m) {
        s = s * expf(m - v) + 1.0f;
        m = v;
      } else {
        s += expf(v - m);
      }
    }
    // Merge (m, s) over the warp, then over the block.
    for (int o = 16; o > 0; o >>= 1) {
      const float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);
      const float mm = fmaxf(m, m2);
      s = (m == -INFINITY ? 0.0f : s * expf(m - mm)) + (m2 == -INFINITY ? 0.0f : s2 * expf(m2 - mm));
      m = mm;
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    __syncthreads();  // smax/ssum/s_xt of the previous row are no longer read
    if (lane == 0) {
      smax[warp] = m;
      ssum[warp] = s;
    }
    __syncthreads();
    float M = -INFINITY;
    for (int k = 0; k < nw; ++k) M = fmaxf(M, smax[k]);
    float S = 0.0f;
    for (int k = 0; k < nw; ++k) S += smax[k] == -INFINITY ? 0.0f : ssum[k] * expf(smax[k] - M);
    const float xt = s_xt;
    if (threadIdx.x == 0) losses[row] = logf(S) + (M - xt);
    if (kGrad) {
      const float k = scale / S;
      for (int64_t i = threadIdx.x; i < V; i += blockDim.x) {
        const float p = expf(x[i] - M) * k;
        d[i] = i == t ? p - scale : p;
      }
    }
    __syncthreads();  // the next row's thread 0 rewrites s_xt
  }
}
__global__ void scale_kernel(float* y, int64_t n, float a) { LMKIT_GRID_STRIDE(i, n) y[i] *= a; }
}  // namespace

cudaError_t crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int64_t N, int64_t V,
                                 int64_t ignore_index) {
  if (N == 0) return cudaSuccess;
  LMKIT_LAUNCH(ce_kernel<false>, rows_grid(N), kThreads, 0, stream())(losses, nullptr, logits, targets, N, V, ignore_index, 0.0f);
  return cudaGetLastError();
}
cudaError_t crossentropy_forward_backward(float* losses, float* dlogits, const float* logits, const int32_t* targets,
                                          int64_t N, int64_t V, int64_t ignore_index, float grad_scale) {
  if (N == 0) return cudaSuccess;
  LMKIT_LAUNCH(ce_kernel<true>, rows_grid(N), kThreads, 0, stream())(losses, dlogits, logits, targets, N, V, ignore_index, grad_scale);
  return cudaGetLastError();
}
cudaError_t crossentropy_backward(float* dlogits, int64_t n, float upstream) {
  if (n == 0) return cudaSuccess;
  LMKIT_LAUNCH(scale_kernel, grid_for(n, kThreads), kThreads, 0, stream())(dlogits, n, upstream);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace lmkit
