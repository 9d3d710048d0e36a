// lmkit CUDA kernel family: fused SGD and Adam/AdamW steps. See optim.h.
// Never run on a GPU yet.
#include <cmath>

#include "common.cuh"
#include "optim.h"

namespace lmkit {
namespace cuda {
namespace {
__global__ void sgd_kernel(float* p, float* vel, const float* g, int64_t n, float lr, float mu, float wd, bool nesterov) {
  LMKIT_GRID_STRIDE(i, n) {
    const float gi = g[i] + wd * p[i];
    if (vel != nullptr) {
      const float vi = mu * vel[i] + gi;
      vel[i] = vi;
      p[i] -= lr * (nesterov ? gi + mu * vi : vi);
    } else {
      p[i] -= lr * gi;
    }
  }
}
struct AdamK {
  float b1, b2, one_m_b1, one_m_b2, eps, wd, decay, step_size, inv_sqrt_bc2;
};
__global__ void adam_kernel(float* p, float* m, float* v, const float* g, int64_t n, AdamK k, bool decoupled) {
  LMKIT_GRID_STRIDE(i, n) {
    float pi = p[i];
    float gi = g[i];
    if (decoupled) {
      pi *= k.decay;
    } else {
      gi += k.wd * pi;
    }
    const float mi = k.b1 * m[i] + k.one_m_b1 * gi;
    const float vi = k.b2 * v[i] + k.one_m_b2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - k.step_size * mi / (sqrtf(vi) * k.inv_sqrt_bc2 + k.eps);
  }
}
}  // namespace

cudaError_t sgd_step(float* param, float* velocity, const float* grad, int64_t n, float lr, float momentum,
                     float weight_decay, bool nesterov) {
  if (n <= 0) return cudaSuccess;
  sgd_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(param, velocity, grad, n, lr, momentum, weight_decay,
                                                              nesterov);
  return cudaGetLastError();
}

cudaError_t adamw_step(float* param, float* m, float* v, const float* grad, int64_t n, float lr, float beta1, float beta2,
                       float eps, float weight_decay, int64_t step, bool decoupled) {
  if (n <= 0) return cudaSuccess;
  const double t = static_cast<double>(step);
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), t);
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), t);
  AdamK k;
  k.b1 = beta1;
  k.b2 = beta2;
  k.one_m_b1 = static_cast<float>(1.0 - static_cast<double>(beta1));
  k.one_m_b2 = static_cast<float>(1.0 - static_cast<double>(beta2));
  k.eps = eps;
  k.wd = weight_decay;
  k.decay = static_cast<float>(1.0 - static_cast<double>(lr) * static_cast<double>(weight_decay));
  k.step_size = static_cast<float>(static_cast<double>(lr) / bc1);
  k.inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  adam_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(param, m, v, grad, n, k, decoupled);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace lmkit
