// Selective state-space scan (Mamba, Gu & Dao 2023), sequential over time, independent per
// (batch b, channel d). For each (b, d) with a state h (N) starting at zero:
//   a_t[n]  = exp(delta[b,t,d] * A[d,n])
//   h_t[n]  = a_t[n] * h_{t-1}[n] + delta[b,t,d] * Bm[b,t,n] * x[b,t,d]
//   y[b,t,d] = sum_n Cm[b,t,n] * h_t[n] + Dskip[d] * x[b,t,d]
// delta is used as given (the caller applies softplus).
//
//   scan_forward: y (B,T,D) OVERWRITE; hs (B,T,D,N) OVERWRITE with every h_t, saved for the
//   backward (nullptr: not saved).
//
//   scan_backward (reverse-time recurrence over dh_t = Cm_t dy_t + a_{t+1} dh_{t+1}):
//     activation grads OVERWRITE: dx (B,T,D), ddelta (B,T,D), dBm (B,T,N), dCm (B,T,N)
//     parameter grads ACCUMULATE: dA (D,N), dDskip (D)
//   Threads: over channels d (each d owns dA[d,:], dDskip[d]), then over rows (b,t) for the
//   sums over d that make dBm and dCm. Uses a scratch buffer of B*T*D*N floats.
#pragma once
#include <cstdint>

namespace lmkit {
namespace cpu {

void scan_forward(float* y,               // (B,T,D)
                  float* hs,              // (B,T,D,N) nullable
                  const float* x,         // (B,T,D)
                  const float* delta,     // (B,T,D)
                  const float* A,         // (D,N)
                  const float* Bm,        // (B,T,N)
                  const float* Cm,        // (B,T,N)
                  const float* Dskip,     // (D)
                  int64_t B, int64_t T, int64_t D, int64_t N);

void scan_backward(float* dx,             // (B,T,D)  =
                   float* ddelta,         // (B,T,D)  =
                   float* dA,             // (D,N)    +=
                   float* dBm,            // (B,T,N)  =
                   float* dCm,            // (B,T,N)  =
                   float* dDskip,         // (D)      +=
                   const float* dy,       // (B,T,D)
                   const float* x,        // (B,T,D)
                   const float* delta,    // (B,T,D)
                   const float* A,        // (D,N)
                   const float* Bm,       // (B,T,N)
                   const float* Cm,       // (B,T,N)
                   const float* Dskip,    // (D)
                   const float* hs,       // (B,T,D,N) saved by scan_forward
                   int64_t B, int64_t T, int64_t D, int64_t N);

}  // namespace cpu
}  // namespace lmkit
