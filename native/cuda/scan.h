// lmkit CUDA kernel family: selective state-space scan (Mamba), contract of native/cpu/scan.h:
//   a_t[n] = exp(delta[b,t,d] A[d,n]);  h_t = a_t h_{t-1} + delta Bm[b,t,:] x[b,t,d]
//   y[b,t,d] = sum_n Cm[b,t,n] h_t[n] + Dskip[d] x[b,t,d]
// One warp per (b, d), lanes over the state dimension n (N <= 256: 8 states per lane), time
// sequential. Backward: activation grads OVERWRITE (dx, ddelta, dBm, dCm), parameter grads
// ACCUMULATE (dA, dDskip); dBm, dCm, dA, dDskip sum over channels/batches with atomicAdd.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace lmkit {
namespace cuda {
constexpr int64_t kScanMaxN = 256;
// cudaErrorInvalidValue when N > kScanMaxN.
cudaError_t scan_forward(float* y,            // (B,T,D)
                         float* hs,           // (B,T,D,N) nullable
                         const float* x,      // (B,T,D)
                         const float* delta,  // (B,T,D)
                         const float* A,      // (D,N)
                         const float* Bm,     // (B,T,N)
                         const float* Cm,     // (B,T,N)
                         const float* Dskip,  // (D)
                         int64_t B, int64_t T, int64_t D, int64_t N);
cudaError_t scan_backward(float* dx,           // (B,T,D) =
                          float* ddelta,       // (B,T,D) =
                          float* dA,           // (D,N)   +=
                          float* dBm,          // (B,T,N) =
                          float* dCm,          // (B,T,N) =
                          float* dDskip,       // (D)     +=
                          const float* dy,     // (B,T,D)
                          const float* x,      // (B,T,D)
                          const float* delta,  // (B,T,D)
                          const float* A,      // (D,N)
                          const float* Bm,     // (B,T,N)
                          const float* Cm,     // (B,T,N)
                          const float* Dskip,  // (D)
                          const float* hs,     // (B,T,D,N) saved by scan_forward
                          int64_t B, int64_t T, int64_t D, int64_t N);
}  // namespace cuda
}  // namespace lmkit
