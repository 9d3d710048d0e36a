// Causal depthwise 1-D convolution over time (Mamba's short conv), channels last:
//   y[b,t,c] = bias[c] + sum_{k<K} weight[c,k] * x[b, t-K+1+k, c]     (x = 0 at negative time)
//
//   conv_forward: y (B,T,C) OVERWRITE.
//   conv_backward:
//     dx (B,T,C) OVERWRITE: dx[b,s,c] = sum_k weight[c,k] * dy[b, s+K-1-k, c] (terms with time < T)
//     dweight (C,K) ACCUMULATE: += sum_{b,t} dy[b,t,c] * x[b,t-K+1+k,c]
//     dbias (C) ACCUMULATE: += sum_{b,t} dy[b,t,c]     (dweight/dbias nullable: skipped)
#pragma once
#include <cstdint>

namespace lmkit {
namespace cpu {

void conv_forward(float* y,              // (B,T,C)
                  const float* x,        // (B,T,C)
                  const float* weight,   // (C,K)
                  const float* bias,     // (C)
                  int64_t B, int64_t T, int64_t C, int64_t K);

void conv_backward(float* dx,            // (B,T,C)  =
                   float* dweight,       // (C,K)    += (nullable)
                   float* dbias,         // (C)      += (nullable)
                   const float* dy,      // (B,T,C)
                   const float* x,       // (B,T,C)
                   const float* weight,  // (C,K)
                   int64_t B, int64_t T, int64_t C, int64_t K);

}  // namespace cpu
}  // namespace lmkit
