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
}  // namespace cuda
}  // namespace lmkit
