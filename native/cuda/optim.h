// lmkit CUDA kernel family: fused optimizer updates (contract of native/cpu/optim.h; the
// same update rules, in place). Scalars derived from the hyper-parameters (bias
// corrections, decay factor) are computed once on the host in double, as on CPU.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace lmkit {
namespace cuda {
cudaError_t sgd_step(float* param,       // (n) updated in place
                     float* velocity,    // (n) updated in place; may be null when momentum == 0
                     const float* grad,  // (n)
                     int64_t n, float lr, float momentum, float weight_decay, bool nesterov);
cudaError_t adamw_step(float* param,       // (n) updated in place
                       float* m,           // (n) first moment, in place
                       float* v,           // (n) second moment, in place
                       const float* grad,  // (n)
                       int64_t n, float lr, float beta1, float beta2, float eps, float weight_decay, int64_t step,
                       bool decoupled);
// Adafactor (Shazeer & Stern 2018), as native/cpu/optim.h: factored (row, col given, v null) or
// unfactored (v given). The scalars (alpha, clipping) are computed on the device from double
// sums, so a step needs no host synchronisation; the sums' order differs from the CPU's
// (compare with a relative tolerance). Scratch comes from the stream-ordered pool.
cudaError_t adafactor_step(float* param,       // (rows, cols) in place
                           float* row,         // (rows) in place; null when not factored
                           float* col,         // (cols) in place; null when not factored
                           float* v,           // (rows * cols) in place; null when factored
                           const float* grad,  // (rows, cols)
                           int64_t rows, int64_t cols, float rho, float beta2, float eps1, float eps2, float clip,
                           float weight_decay, bool scale_parameter);
// Sophia (Liu et al. 2023), as native/cpu/optim.h: m = b1 m + (1-b1) g;
// p = p (1 - lr wd) - lr sign(m) min(|m| / (rho bs h + eps), 1).
cudaError_t sophia_step(float* param,       // (n) in place
                        float* m,           // (n) in place
                        const float* h,     // (n)
                        const float* grad,  // (n)
                        int64_t n, float lr, float beta1, float rho, float weight_decay, float bs, float eps);
// h = beta2 h + (1 - beta2) scale ghat^2
cudaError_t sophia_hessian(float* h, const float* ghat, int64_t n, float beta2, float scale);
// One label per row drawn from softmax(logits[r]) with the CPU's generator (mix64 of seed and
// row, inverse CDF in double, sequential over the row as on CPU): the same labels as on CPU up
// to the last bits of exp().
cudaError_t sample_labels(int32_t* out,         // (N)
                          const float* logits,  // (N,V)
                          int64_t N, int64_t V, uint64_t seed);
}  // namespace cuda
}  // namespace lmkit
