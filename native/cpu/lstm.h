// LSTM cell, fused pointwise part. The caller computes the four gate pre-activations with ONE
// GEMM: gates_pre (B,4H) = x W_ih^T + h_prev W_hh^T + bias, gate order i, f, g, o, each a
// contiguous H-block of a row: row b = [ i (H) | f (H) | g (H) | o (H) ].
//
//   lstm_cell_forward:
//     i = sigmoid, f = sigmoid, g = tanh, o = sigmoid (of the matching gates_pre block)
//     c (B,H) = f * c_prev + i * g                      OVERWRITE
//     h (B,H) = o * tanh(c)                             OVERWRITE
//     gates (B,4H) = [i | f | g | o] (activated)        OVERWRITE, saved for the backward
//
//   lstm_cell_backward (all outputs are activation grads: OVERWRITE):
//     dh (B,H); dc_next (B,H) or nullptr (= zeros): gradient flowing into c from later steps
//     dc = dc_next + dh * o * (1 - tanh(c)^2)
//     dgates_pre (B,4H) = [dc*g*i(1-i) | dc*c_prev*f(1-f) | dc*i*(1-g^2) | dh*tanh(c)*o(1-o)]
//     dc_prev (B,H) = dc * f                            (skipped when dc_prev is nullptr)
#pragma once
#include <cstdint>

namespace lmkit {
namespace cpu {

void lstm_cell_forward(float* h,                 // (B,H)
                       float* c,                 // (B,H)
                       float* gates,             // (B,4H) activated i,f,g,o
                       const float* gates_pre,   // (B,4H)
                       const float* c_prev,      // (B,H)
                       int64_t B, int64_t H);

void lstm_cell_backward(float* dgates_pre,       // (B,4H)  =
                        float* dc_prev,          // (B,H)   =  (nullable)
                        const float* dh,         // (B,H)
                        const float* dc_next,    // (B,H)   (nullable: zeros)
                        const float* gates,      // (B,4H)  saved by the forward
                        const float* c,          // (B,H)   saved by the forward
                        const float* c_prev,     // (B,H)
                        int64_t B, int64_t H);

}  // namespace cpu
}  // namespace lmkit
