// lmkit CUDA kernel family: embedding lookup (contract of native/cpu/embedding.h).
// The backward ACCUMULATES into dtable with atomicAdd (the order of additions, and so the
// last bits, may differ from run to run when an id repeats).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace lmkit {
namespace cuda {
cudaError_t embedding_forward(float* out,          // (N,C)
                              const int32_t* ids,  // (N)
                              const float* table,  // (V,C)
                              int64_t N, int64_t V, int64_t C);
cudaError_t embedding_backward(float* dtable,       // (V,C) +=
                               const float* dout,   // (N,C)
                               const int32_t* ids,  // (N)
                               int64_t N, int64_t V, int64_t C);
}  // namespace cuda
}  // namespace lmkit
