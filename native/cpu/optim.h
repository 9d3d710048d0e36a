// lmkit CPU kernels: fused optimizer steps (one pass over parameter, gradient and state).
//
// Shapes: param, grad and every state buffer hold the same n elements (any shape, flattened).
// param and the state buffers are updated IN PLACE; grad is read only. Elements are
// independent, so big tensors are split over threads and results never depend on the
// thread count. Scalar hyper-parameters are validated by the binding.
//
// SGD (PyTorch semantics, dampening 0):
//   g = grad + weight_decay * p                          (L2, added to the gradient)
//   v = momentum * v + g                                 (velocity; skipped when null, which
//                                                         requires momentum == 0)
//   p -= lr * (nesterov ? g + momentum * v : v)          (v = g when there is no velocity)
//
// Adam / AdamW (PyTorch semantics), step t >= 1 counted by the caller:
//   decoupled (AdamW):  p *= 1 - lr * weight_decay;   g = grad
//   otherwise (Adam):   g = grad + weight_decay * p    (L2)
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2
//   p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
//
// Adafactor (Shazeer & Stern 2018, no momentum); the caller computes rho (relative step or
// lr) and beta2 (1 - t^-0.8) for the step. The parameter is seen as a (rows, cols) matrix:
//   factored (row, col given; v null):
//     row_i = beta2 row_i + (1 - beta2) mean_j(g_ij^2 + eps1)     (row running averages)
//     col_j = beta2 col_j + (1 - beta2) mean_i(g_ij^2 + eps1)     (column running averages)
//     V_ij  = row_i col_j / mean_i(row_i)     (= R C / sum(R) of the paper, with sums)
//   full (v given, row/col null):  v = beta2 v + (1 - beta2) (g^2 + eps1);  V = v
//   U = g / sqrt(V);  Uc = U / max(1, RMS(U) / clip)
//   alpha = scale_parameter ? max(eps2, RMS(p)) * rho : rho      (RMS(p) before the update)
//   p -= alpha * (Uc + weight_decay * p)
// Reductions are done in double over fixed pieces (a row, a column block, a fixed chunk) and
// summed in a fixed order, so results do not depend on the thread count.
//
// Sophia-G (Liu et al. 2023):
//   sophia_step:    p *= 1 - lr * weight_decay;   m = beta1 m + (1 - beta1) g
//                   p -= lr * sign(m) * min(|m| / (rho * bs * h + eps), 1)
//   sophia_hessian: h = beta2 h + (1 - beta2) * scale * ghat^2   (Gauss-Newton-Bartlett)
//   sample_labels:  out[r] ~ softmax(logits[r, :]) by inverse CDF with a uniform drawn from
//                   a SplitMix64 stream keyed by (seed, r): reproducible for any thread count.
#pragma once
#include <cstdint>

namespace lmkit {
namespace cpu {

void sgd_step(float* param,        // (n) updated in place
              float* velocity,     // (n) updated in place; may be null when momentum == 0
              const float* grad,   // (n)
              int64_t n, float lr, float momentum, float weight_decay, bool nesterov);

void adamw_step(float* param,       // (n) updated in place
                float* m,           // (n) first moment, updated in place
                float* v,           // (n) second moment, updated in place
                const float* grad,  // (n)
                int64_t n, float lr, float beta1, float beta2, float eps, float weight_decay, int64_t step,
                bool decoupled);

void adafactor_step(float* param,        // (rows, cols) updated in place
                    float* row,          // (rows) row averages, in place; null when not factored
                    float* col,          // (cols) column averages, in place; null when not factored
                    float* v,            // (rows * cols) full second moment, in place; null when factored
                    const float* grad,   // (rows, cols)
                    int64_t rows, int64_t cols, float rho, float beta2, float eps1, float eps2, float clip,
                    float weight_decay, bool scale_parameter);

void sophia_step(float* param,       // (n) updated in place
                 float* m,           // (n) first moment, updated in place
                 const float* h,     // (n) Hessian diagonal estimate
                 const float* grad,  // (n)
                 int64_t n, float lr, float beta1, float rho, float weight_decay, float bs, float eps);

void sophia_hessian(float* h,           // (n) updated in place
                    const float* ghat,  // (n) gradient of the loss on sampled labels
                    int64_t n, float beta2, float scale);

void sample_labels(int32_t* out,          // (N) overwritten, values in [0, V)
                   const float* logits,   // (N, V)
                   int64_t N, int64_t V, uint64_t seed);

}  // namespace cpu
}  // namespace lmkit
