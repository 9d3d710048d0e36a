// lmkit CUDA kernel family: causal depthwise 1-D convolution over time, channels last
// (contract of native/cpu/conv.h): y[b,t,c] = bias[c] + sum_k weight[c,k] x[b,t-K+1+k,c].
// dx OVERWRITES; dweight/dbias ACCUMULATE (nullable), one thread per (c,k) / c summing over
// (b,t): deterministic, no atomics.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace lmkit {
namespace cuda {
cudaError_t conv_forward(float* y,             // (B,T,C)
                         const float* x,       // (B,T,C)
                         const float* weight,  // (C,K)
                         const float* bias,    // (C)
                         int64_t B, int64_t T, int64_t C, int64_t K);
cudaError_t conv_backward(float* dx,            // (B,T,C) =
                          float* dweight,       // (C,K)   += (nullable)
                          float* dbias,         // (C)     += (nullable)
                          const float* dy,      // (B,T,C)
                          const float* x,       // (B,T,C)
                          const float* weight,  // (C,K)
                          int64_t B, int64_t T, int64_t C, int64_t K);
}  // namespace cuda
}  // namespace lmkit
