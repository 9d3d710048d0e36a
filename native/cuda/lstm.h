// lmkit CUDA kernel family: the LSTM cell's fused pointwise part (contract of
// native/cpu/lstm.h): gate order i, f, g, o, each a contiguous H-block of a (B,4H) row.
// The gate GEMM is a matmul on the caller's side. All outputs OVERWRITE.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace lmkit {
namespace cuda {
cudaError_t lstm_cell_forward(float* h,                // (B,H)
                              float* c,                // (B,H)
                              float* gates,            // (B,4H) activated i,f,g,o
                              const float* gates_pre,  // (B,4H)
                              const float* c_prev,     // (B,H)
                              int64_t B, int64_t H);
cudaError_t lstm_cell_backward(float* dgates_pre,     // (B,4H) =
                               float* dc_prev,        // (B,H)  = (nullable)
                               const float* dh,       // (B,H)
                               const float* dc_next,  // (B,H)  (nullable: zeros)
                               const float* gates,    // (B,4H) saved by the forward
                               const float* c,        // (B,H)  saved by the forward
                               const float* c_prev,   // (B,H)
                               int64_t B, int64_t H);
}  // namespace cuda
}  // namespace lmkit
