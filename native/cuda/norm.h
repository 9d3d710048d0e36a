// lmkit CUDA kernel family: LayerNorm and RMSNorm over the last dimension (contract of
// native/cpu/norm.h). dinp OVERWRITES; dweight/dbias ACCUMULATE (a column-reduction kernel
// over the N rows, deterministic, no atomics). out may be inp; dinp may be dout.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace lmkit {
namespace cuda {
cudaError_t layernorm_forward(float* out,           // (N,C)
                              float* mean,          // (N) saved, may be null
                              float* rstd,          // (N) saved, may be null
                              const float* inp,     // (N,C)
                              const float* weight,  // (C)
                              const float* bias,    // (C) may be null
                              int64_t N, int64_t C, float eps);
cudaError_t layernorm_backward(float* dinp,          // (N,C) OVERWRITE
                               float* dweight,       // (C)   ACCUMULATE
                               float* dbias,         // (C)   ACCUMULATE, may be null
                               const float* dout,    // (N,C)
                               const float* inp,     // (N,C)
                               const float* weight,  // (C)
                               const float* mean,    // (N)
                               const float* rstd,    // (N)
                               int64_t N, int64_t C);
cudaError_t rmsnorm_forward(float* out,           // (N,C)
                            float* rstd,          // (N) saved, may be null
                            const float* inp,     // (N,C)
                            const float* weight,  // (C)
                            int64_t N, int64_t C, float eps);
cudaError_t rmsnorm_backward(float* dinp,          // (N,C) OVERWRITE
                             float* dweight,       // (C)   ACCUMULATE
                             const float* dout,    // (N,C)
                             const float* inp,     // (N,C)
                             const float* weight,  // (C)
                             const float* rstd,    // (N)
                             int64_t N, int64_t C);
}  // namespace cuda
}  // namespace lmkit
