// lmkit CUDA kernel family: multi-head scaled dot-product attention (contract of
// native/cpu/attention.h: q (B,Tq,C), k, v (B,Tk,C), NH heads of hs = C/NH columns; causal:
// query i sees keys j <= i + (Tk - Tq); mask (B,Tk) int32 1 = attend; a row with no visible key
// gets P = 0, out = 0). The forward saves probs (B,NH,Tq,Tk); the backward OVERWRITES dq, dk, dv.
// This is the straightforward version that matches the CPU contract (probs materialised);
// a flash-style kernel (online softmax, log-sum-exp saved instead of probs) is still to write.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace lmkit {
namespace cuda {
cudaError_t attention_forward(float* out,           // (B,Tq,C)
                              float* probs,         // (B,NH,Tq,Tk)
                              const float* q,       // (B,Tq,C)
                              const float* k,       // (B,Tk,C)
                              const float* v,       // (B,Tk,C)
                              const int32_t* mask,  // (B,Tk) nullable
                              int64_t B, int64_t Tq, int64_t Tk, int64_t C, int64_t NH, bool causal, float scale);
// Allocates its (B,NH,Tq,Tk) scratch from the stream-ordered pool (freed after use).
cudaError_t attention_backward(float* dq,           // (B,Tq,C) =
                               float* dk,           // (B,Tk,C) =
                               float* dv,           // (B,Tk,C) =
                               const float* dout,   // (B,Tq,C)
                               const float* q,      // (B,Tq,C)
                               const float* k,      // (B,Tk,C)
                               const float* v,      // (B,Tk,C)
                               const float* probs,  // (B,NH,Tq,Tk)
                               int64_t B, int64_t Tq, int64_t Tk, int64_t C, int64_t NH, float scale);
}  // namespace cuda
}  // namespace lmkit
