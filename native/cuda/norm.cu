// lmkit CUDA kernel family: LayerNorm / RMSNorm. One block per row for the row statistics
// and dinp; one thread per column for dweight/dbias (run BEFORE the dinp kernel, because
// dinp may overwrite dout in place). Never run on a GPU yet.
#include "common.cuh"
#include "norm.h"

namespace lmkit {
namespace cuda {
namespace {
__global__ void ln_fwd(float* out, float* mean, float* rstd, const float* inp, const float* w, const float* b, int64_t N,
                       int64_t C, float eps) {
  __shared__ float scratch[32];
  LMKIT_ROW_STRIDE(row, N) {
    const float* x = inp + row * C;
    float* y = out + row * C;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) s += x[i];
    const float mu = block_sum(s, scratch) / float(C);
    float v = 0.0f;
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) {
      const float d = x[i] - mu;
      v += d * d;
    }
    const float rs = rsqrtf(block_sum(v, scratch) / float(C) + eps);
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) {
      const float o = (x[i] - mu) * rs * w[i];
      y[i] = b ? o + b[i] : o;
    }
    if (threadIdx.x == 0) {
      if (mean) mean[row] = mu;
      if (rstd) rstd[row] = rs;
    }
  }
}
// dweight[c] += sum_n dout[n,c] * xhat[n,c];  dbias[c] += sum_n dout[n,c]
// (mean == nullptr: RMSNorm, xhat = x * rstd)
__global__ void norm_dparams(float* dweight, float* dbias, const float* dout, const float* inp, const float* mean,
                             const float* rstd, int64_t N, int64_t C) {
  LMKIT_GRID_STRIDE(c, C) {
    float dw = 0.0f, db = 0.0f;
    for (int64_t n = 0; n < N; ++n) {
      const float g = dout[n * C + c];
      const float xh = (inp[n * C + c] - (mean ? mean[n] : 0.0f)) * rstd[n];
      dw += g * xh;
      db += g;
    }
    dweight[c] += dw;
    if (dbias) dbias[c] += db;
  }
}
__global__ void ln_bwd(float* dinp, const float* dout, const float* inp, const float* w, const float* mean,
                       const float* rstd, int64_t N, int64_t C) {
  __shared__ float scratch[32];
  LMKIT_ROW_STRIDE(row, N) {
    const float* g = dout + row * C;
    const float* x = inp + row * C;
    float* d = dinp + row * C;
    const float mu = mean[row], rs = rstd[row];
    float s1 = 0.0f, s2 = 0.0f;
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) {
      const float wg = w[i] * g[i];
      s1 += wg;
      s2 += wg * (x[i] - mu) * rs;
    }
    s1 = block_sum(s1, scratch) / float(C);
    s2 = block_sum(s2, scratch) / float(C);
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) {
      const float xh = (x[i] - mu) * rs;
      d[i] = rs * (w[i] * g[i] - s1 - xh * s2);
    }
  }
}
__global__ void rms_fwd(float* out, float* rstd, const float* inp, const float* w, int64_t N, int64_t C, float eps) {
  __shared__ float scratch[32];
  LMKIT_ROW_STRIDE(row, N) {
    const float* x = inp + row * C;
    float* y = out + row * C;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) s += x[i] * x[i];
    const float rs = rsqrtf(block_sum(s, scratch) / float(C) + eps);
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) y[i] = x[i] * rs * w[i];
    if (threadIdx.x == 0 && rstd) rstd[row] = rs;
  }
}
__global__ void rms_bwd(float* dinp, const float* dout, const float* inp, const float* w, const float* rstd, int64_t N,
                        int64_t C) {
  __shared__ float scratch[32];
  LMKIT_ROW_STRIDE(row, N) {
    const float* g = dout + row * C;
    const float* x = inp + row * C;
    float* d = dinp + row * C;
    const float rs = rstd[row];
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) s += w[i] * g[i] * x[i];
    s = block_sum(s, scratch) / float(C);
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) d[i] = rs * (w[i] * g[i] - x[i] * rs * rs * s);
  }
}
}  // namespace

cudaError_t layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                              const float* bias, int64_t N, int64_t C, float eps) {
  if (N == 0) return cudaSuccess;
  LMKIT_LAUNCH(ln_fwd, rows_grid(N), kThreads, 0, stream())(out, mean, rstd, inp, weight, bias, N, C, eps);
  return cudaGetLastError();
}
cudaError_t layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                               const float* weight, const float* mean, const float* rstd, int64_t N, int64_t C) {
  if (N == 0) return cudaSuccess;
  LMKIT_LAUNCH(norm_dparams, grid_for(C, kThreads), kThreads, 0, stream())(dweight, dbias, dout, inp, mean, rstd, N, C);
  LMKIT_LAUNCH(ln_bwd, rows_grid(N), kThreads, 0, stream())(dinp, dout, inp, weight, mean, rstd, N, C);
  return cudaGetLastError();
}
cudaError_t rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int64_t N, int64_t C,
                            float eps) {
  if (N == 0) return cudaSuccess;
  LMKIT_LAUNCH(rms_fwd, rows_grid(N), kThreads, 0, stream())(out, rstd, inp, weight, N, C, eps);
  return cudaGetLastError();
}
cudaError_t rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                             const float* rstd, int64_t N, int64_t C) {
  if (N == 0) return cudaSuccess;
  LMKIT_LAUNCH(norm_dparams, grid_for(C, kThreads), kThreads, 0, stream())(dweight, nullptr, dout, inp, nullptr, rstd, N, C);
  LMKIT_LAUNCH(rms_bwd, rows_grid(N), kThreads, 0, stream())(dinp, dout, inp, weight, rstd, N, C);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace lmkit
