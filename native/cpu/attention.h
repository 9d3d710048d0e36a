// Multi-head scaled dot-product attention.
//
// q (B,Tq,C), k (B,Tk,C), v (B,Tk,C); NH heads of size hs = C/NH, head h = columns [h*hs, (h+1)*hs).
// For each (b,h):  S = scale * q_h k_h^T (Tq,Tk), masked, P = softmax_rows(S), out_h = P v_h.
//   causal       : query i sees keys j <= i + (Tk - Tq)
//   mask (B,Tk)  : int32, 1 = attend, 0 = padded key (nullable: every key attends)
// A query row with no visible key gets P = 0 and out = 0 (no NaN).
//
//   attention_forward : out (B,Tq,C) =, probs (B,NH,Tq,Tk) = (saved for the backward)   OVERWRITE
//   attention_backward: dq (B,Tq,C) =, dk (B,Tk,C) =, dv (B,Tk,C) =                       OVERWRITE
//                       (activation grads), from dout (B,Tq,C), q, k, v, probs. Needs a caller-owned
//                       scratch of attention_backward_scratch_size(...) floats (the kernel never
//                       allocates, so it cannot fail; the binding allocates and reports failure).
// Work is split over the B*NH (batch, head) pairs; the per-head products use cpu::sgemm.
#pragma once
#include <cstdint>

namespace lmkit {
namespace cpu {

void attention_forward(float* out,           // (B,Tq,C)
                       float* probs,         // (B,NH,Tq,Tk)
                       const float* q,       // (B,Tq,C)
                       const float* k,       // (B,Tk,C)
                       const float* v,       // (B,Tk,C)
                       const int32_t* mask,  // (B,Tk) nullable
                       int64_t B, int64_t Tq, int64_t Tk, int64_t C, int64_t NH, bool causal, float scale);

// Floats of scratch attention_backward needs with the current lmkit::num_threads().
int64_t attention_backward_scratch_size(int64_t B, int64_t Tq, int64_t Tk, int64_t C, int64_t NH);

void attention_backward(float* dq,            // (B,Tq,C)  =
                        float* dk,            // (B,Tk,C)  =
                        float* dv,            // (B,Tk,C)  =
                        const float* dout,    // (B,Tq,C)
                        const float* q,       // (B,Tq,C)
                        const float* k,       // (B,Tk,C)
                        const float* v,       // (B,Tk,C)
                        const float* probs,   // (B,NH,Tq,Tk)
                        float* scratch,       // attention_backward_scratch_size(B,Tq,Tk,C,NH)
                        int64_t B, int64_t Tq, int64_t Tk, int64_t C, int64_t NH, float scale);

}  // namespace cpu
}  // namespace lmkit
