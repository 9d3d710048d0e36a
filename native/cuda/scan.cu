// lmkit CUDA kernel family: selective scan. See scan.h. Never run on a GPU yet.
#include "common.cuh"
#include "scan.h"

namespace lmkit {
namespace cuda {
namespace {
constexpr int kPer = kScanMaxN / 32;  // states per lane

__global__ void scan_fwd(float* y, float* hs, const float* x, const float* delta, const float* A, const float* Bm,
                         const float* Cm, const float* Dskip, int64_t B, int64_t T, int64_t D, int64_t N) {
  const int lane = threadIdx.x & 31;
  const int64_t warp0 = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) >> 5;
  const int64_t nwarps = (int64_t(gridDim.x) * blockDim.x) >> 5;
  for (int64_t w = warp0; w < B * D; w += nwarps) {
    const int64_t b = w / D, d = w - b * D;
    float h[kPer];
    float a_row[kPer];
#pragma unroll
    for (int r = 0; r < kPer; ++r) {
      h[r] = 0.0f;
      const int64_t n = lane + 32 * r;
      a_row[r] = n < N ? A[d * N + n] : 0.0f;
    }
    for (int64_t t = 0; t < T; ++t) {
      const int64_t btd = (b * T + t) * D + d;
      const float dt = delta[btd], xv = x[btd];
      const float* Bt = Bm + (b * T + t) * N;
      const float* Ct = Cm + (b * T + t) * N;
      float acc = 0.0f;
#pragma unroll
      for (int r = 0; r < kPer; ++r) {
        const int64_t n = lane + 32 * r;
        if (n < N) {
          h[r] = expf(dt * a_row[r]) * h[r] + dt * Bt[n] * xv;
          if (hs) hs[btd * N + n] = h[r];
          acc += Ct[n] * h[r];
        }
      }
      acc = warp_sum(acc);
      if (lane == 0) y[btd] = acc + Dskip[d] * xv;
    }
  }
}

__global__ void scan_bwd(float* dx, float* ddelta, float* dA, float* dBm, float* dCm, float* dDskip, const float* dy,
                         const float* x, const float* delta, const float* A, const float* Bm, const float* Cm,
                         const float* Dskip, const float* hs, int64_t B, int64_t T, int64_t D, int64_t N) {
  const int lane = threadIdx.x & 31;
  const int64_t warp0 = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) >> 5;
  const int64_t nwarps = (int64_t(gridDim.x) * blockDim.x) >> 5;
  for (int64_t w = warp0; w < B * D; w += nwarps) {
    const int64_t b = w / D, d = w - b * D;
    float dh[kPer], dA_acc[kPer], a_row[kPer];
#pragma unroll
    for (int r = 0; r < kPer; ++r) {
      const int64_t n = lane + 32 * r;
      dh[r] = 0.0f;
      dA_acc[r] = 0.0f;
      a_row[r] = n < N ? A[d * N + n] : 0.0f;
    }
    float dD = 0.0f;
    for (int64_t t = T - 1; t >= 0; --t) {
      const int64_t btd = (b * T + t) * D + d;
      const float dt = delta[btd], xv = x[btd], g = dy[btd];
      const float* Bt = Bm + (b * T + t) * N;
      const float* Ct = Cm + (b * T + t) * N;
      float sx = 0.0f, sdelta = 0.0f;
#pragma unroll
      for (int r = 0; r < kPer; ++r) {
        const int64_t n = lane + 32 * r;
        if (n >= N) continue;
        const float ht = hs[btd * N + n];
        const float hp = t > 0 ? hs[((b * T + t - 1) * D + d) * N + n] : 0.0f;
        atomicAdd(dCm + (b * T + t) * N + n, g * ht);  // y_t = sum_n Cm h_t
        const float dhn = dh[r] + Ct[n] * g;           // dh_t = Cm_t dy_t + a_{t+1} dh_{t+1}
        const float at = expf(dt * a_row[r]);
        // h_t = a_t h_{t-1} + dt Bm x
        sdelta += dhn * (hp * at * a_row[r] + Bt[n] * xv);
        dA_acc[r] += dhn * hp * at * dt;
        atomicAdd(dBm + (b * T + t) * N + n, dhn * dt * xv);
        sx += dhn * dt * Bt[n];
        dh[r] = at * dhn;
      }
      sx = warp_sum(sx);
      sdelta = warp_sum(sdelta);
      if (lane == 0) {
        dx[btd] = sx + Dskip[d] * g;
        ddelta[btd] = sdelta;
      }
      dD += g * xv;
    }
#pragma unroll
    for (int r = 0; r < kPer; ++r) {
      const int64_t n = lane + 32 * r;
      if (n < N) atomicAdd(dA + d * N + n, dA_acc[r]);
    }
    if (lane == 0) atomicAdd(dDskip + d, dD);
  }
}

unsigned warps_grid(int64_t warps) {
  const int64_t threads = warps * 32;
  return grid_for(threads, kThreads);
}
}  // namespace

cudaError_t scan_forward(float* y, float* hs, const float* x, const float* delta, const float* A, const float* Bm,
                         const float* Cm, const float* Dskip, int64_t B, int64_t T, int64_t D, int64_t N) {
  if (N > kScanMaxN) return cudaErrorInvalidValue;
  if (B * T * D == 0) return cudaSuccess;
  LMKIT_LAUNCH(scan_fwd, warps_grid(B * D), kThreads, 0, stream())(y, hs, x, delta, A, Bm, Cm, Dskip, B, T, D, N);
  return cudaGetLastError();
}

cudaError_t scan_backward(float* dx, float* ddelta, float* dA, float* dBm, float* dCm, float* dDskip, const float* dy,
                          const float* x, const float* delta, const float* A, const float* Bm, const float* Cm,
                          const float* Dskip, const float* hs, int64_t B, int64_t T, int64_t D, int64_t N) {
  if (N > kScanMaxN) return cudaErrorInvalidValue;
  cudaError_t e;
  // dBm and dCm are sums over channels: zero them, then accumulate.
  if ((e = memset_async(dBm, 0, static_cast<size_t>(B * T * N) * 4)) != cudaSuccess) return e;
  if ((e = memset_async(dCm, 0, static_cast<size_t>(B * T * N) * 4)) != cudaSuccess) return e;
  if (B * T * D == 0) return cudaSuccess;
  LMKIT_LAUNCH(scan_bwd, warps_grid(B * D), kThreads, 0, stream())(dx, ddelta, dA, dBm, dCm, dDskip, dy, x, delta, A, Bm, Cm,
                                                        Dskip, hs, B, T, D, N);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace lmkit
