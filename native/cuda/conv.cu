// lmkit CUDA kernel family: causal depthwise conv1d. See conv.h. Never run on a GPU yet.
#include "common.cuh"
#include "conv.h"

namespace lmkit {
namespace cuda {
namespace {
__global__ void conv_fwd(float* y, const float* x, const float* w, const float* bias, int64_t B, int64_t T, int64_t C,
                         int64_t K) {
  LMKIT_GRID_STRIDE(i, B * T * C) {
    const int64_t c = i % C, t = (i / C) % T, b = i / (T * C);
    float acc = bias ? bias[c] : 0.0f;
    for (int64_t k = 0; k < K; ++k) {
      const int64_t s = t - K + 1 + k;
      if (s >= 0) acc = fmaf(w[c * K + k], x[(b * T + s) * C + c], acc);
    }
    y[i] = acc;
  }
}
__global__ void conv_dx(float* dx, const float* dy, const float* w, int64_t B, int64_t T, int64_t C, int64_t K) {
  LMKIT_GRID_STRIDE(i, B * T * C) {
    const int64_t c = i % C, s = (i / C) % T, b = i / (T * C);
    float acc = 0.0f;
    for (int64_t k = 0; k < K; ++k) {
      const int64_t t = s + K - 1 - k;
      if (t < T) acc = fmaf(w[c * K + k], dy[(b * T + t) * C + c], acc);
    }
    dx[i] = acc;
  }
}
// One thread per (c, k); k == K stands for the bias.
__global__ void conv_dparams(float* dw, float* dbias, const float* dy, const float* x, int64_t B, int64_t T, int64_t C,
                             int64_t K) {
  LMKIT_GRID_STRIDE(i, C * (K + 1)) {
    const int64_t c = i / (K + 1), k = i % (K + 1);
    if (k == K ? dbias == nullptr : dw == nullptr) continue;
    float acc = 0.0f;
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 0; t < T; ++t) {
        const float g = dy[(b * T + t) * C + c];
        if (k == K) {
          acc += g;
        } else {
          const int64_t s = t - K + 1 + k;
          if (s >= 0) acc = fmaf(g, x[(b * T + s) * C + c], acc);
        }
      }
    }
    if (k == K) {
      dbias[c] += acc;
    } else {
      dw[c * K + k] += acc;
    }
  }
}
}  // namespace

cudaError_t conv_forward(float* y, const float* x, const float* weight, const float* bias, int64_t B, int64_t T,
                         int64_t C, int64_t K) {
  if (B * T * C == 0) return cudaSuccess;
  LMKIT_LAUNCH(conv_fwd, grid_for(B * T * C, kThreads), kThreads, 0, stream())(y, x, weight, bias, B, T, C, K);
  return cudaGetLastError();
}
cudaError_t conv_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x, const float* weight,
                          int64_t B, int64_t T, int64_t C, int64_t K) {
  if (C == 0) return cudaSuccess;
  if ((dweight || dbias) && B * T > 0) {
    LMKIT_LAUNCH(conv_dparams, grid_for(C * (K + 1), kThreads), kThreads, 0, stream())(dweight, dbias, dy, x, B, T, C, K);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return e;
  }
  if (B * T == 0) return cudaSuccess;
  LMKIT_LAUNCH(conv_dx, grid_for(B * T * C, kThreads), kThreads, 0, stream())(dx, dy, weight, B, T, C, K);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace lmkit
