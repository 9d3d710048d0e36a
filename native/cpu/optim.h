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

}  // namespace cpu
}  // namespace lmkit
