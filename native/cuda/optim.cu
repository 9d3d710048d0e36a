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
struct SophiaK {
  float b1, one_m_b1, decay, lr, rho_bs, eps;
};
__global__ void sophia_kernel(float* p, float* m, const float* h, const float* g, int64_t n, SophiaK k) {
  LMKIT_GRID_STRIDE(i, n) {
    const float mi = k.b1 * m[i] + k.one_m_b1 * g[i];
    m[i] = mi;
    float r = fabsf(mi) / (k.rho_bs * h[i] + k.eps);
    r = r < 1.f ? r : 1.f;
    const float sgn = static_cast<float>((mi > 0.f) - (mi < 0.f));
    p[i] = p[i] * k.decay - k.lr * sgn * r;
  }
}
__global__ void hessian_kernel(float* h, const float* ghat, int64_t n, float b2, float c) {
  LMKIT_GRID_STRIDE(i, n) h[i] = b2 * h[i] + c * (ghat[i] * ghat[i]);
}
__device__ __forceinline__ uint64_t mix64(uint64_t z) {  // as native/cpu/optim.cpp
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
// One thread per row, the CPU's loop verbatim (rows in parallel; a block-parallel version
// is on the list in docs/cuda.md).
__global__ void sample_kernel(int32_t* out, const float* logits, int64_t N, int64_t V, uint64_t seed) {
  LMKIT_GRID_STRIDE(r, N) {
    const float* l = logits + r * V;
    float mx = l[0];
    for (int64_t j = 1; j < V; ++j) mx = l[j] > mx ? l[j] : mx;
    double total = 0;
    for (int64_t j = 0; j < V; ++j) total += exp(static_cast<double>(l[j]) - mx);
    const uint64_t z = mix64(seed + 0x9E3779B97F4A7C15ULL * (static_cast<uint64_t>(r) + 1));
    const double u = static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
    const double target = u * total;
    double acc = 0;
    int64_t pick = -1, last = 0;
    for (int64_t j = 0; j < V; ++j) {
      const double pj = exp(static_cast<double>(l[j]) - mx);
      if (pj > 0) last = j;
      acc += pj;
      if (acc > target) {
        pick = j;
        break;
      }
    }
    out[r] = static_cast<int32_t>(pick >= 0 ? pick : last);
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

cudaError_t sophia_step(float* param, float* m, const float* h, const float* grad, int64_t n, float lr, float beta1,
                        float rho, float weight_decay, float bs, float eps) {
  if (n <= 0) return cudaSuccess;
  SophiaK k;
  k.b1 = beta1;
  k.one_m_b1 = static_cast<float>(1.0 - static_cast<double>(beta1));
  k.decay = static_cast<float>(1.0 - static_cast<double>(lr) * static_cast<double>(weight_decay));
  k.lr = lr;
  k.rho_bs = static_cast<float>(static_cast<double>(rho) * static_cast<double>(bs));
  k.eps = eps;
  sophia_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(param, m, h, grad, n, k);
  return cudaGetLastError();
}
cudaError_t sophia_hessian(float* h, const float* ghat, int64_t n, float beta2, float scale) {
  if (n <= 0) return cudaSuccess;
  const float c = static_cast<float>((1.0 - static_cast<double>(beta2)) * static_cast<double>(scale));
  hessian_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(h, ghat, n, beta2, c);
  return cudaGetLastError();
}
cudaError_t sample_labels(int32_t* out, const float* logits, int64_t N, int64_t V, uint64_t seed) {
  if (N <= 0) return cudaSuccess;
  sample_kernel<<<grid_for(N, 128), 128, 0, stream()>>>(out, logits, N, V, seed);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace lmkit
