// Fused optimizer steps. See optim.h for the update rules.
//
// The element loops are plain code that the compiler vectorises; each is compiled for the
// baseline ISA and for AVX2 (LMKIT_TARGET_AVX2, picked at run time). Flags are template
// parameters so the inner loops carry no branches. Scalars derived from the
// hyper-parameters (bias corrections, decay factor) are computed once in double.
#include "optim.h"

#include <cmath>

#include "common.h"

#define LMKIT_INLINE inline __attribute__((always_inline))

namespace lmkit {
namespace cpu {
namespace {

constexpr int64_t kGrain = int64_t(1) << 15;  // elements per task: small tensors stay on one thread

struct SgdK {
  float lr, mu, wd;
};

template <bool kVel, bool kNesterov>
LMKIT_INLINE void sgd_range(float* __restrict p, float* __restrict vel, const float* __restrict g, int64_t b,
                            int64_t e, SgdK k) {
  for (int64_t i = b; i < e; ++i) {
    const float gi = g[i] + k.wd * p[i];
    if (kVel) {
      const float vi = k.mu * vel[i] + gi;
      vel[i] = vi;
      p[i] -= k.lr * (kNesterov ? gi + k.mu * vi : vi);
    } else {
      p[i] -= k.lr * gi;
    }
  }
}

template <bool kVel, bool kNesterov>
void sgd_generic(float* p, float* vel, const float* g, int64_t b, int64_t e, SgdK k) {
  sgd_range<kVel, kNesterov>(p, vel, g, b, e, k);
}
#if LMKIT_X86
template <bool kVel, bool kNesterov>
LMKIT_TARGET_AVX2 void sgd_avx2(float* p, float* vel, const float* g, int64_t b, int64_t e, SgdK k) {
  sgd_range<kVel, kNesterov>(p, vel, g, b, e, k);
}
#endif

template <bool kVel, bool kNesterov>
void sgd_run(float* p, float* vel, const float* g, int64_t n, SgdK k) {
  auto fn = sgd_generic<kVel, kNesterov>;
#if LMKIT_X86
  if (cpu_has_avx2_fma()) fn = sgd_avx2<kVel, kNesterov>;
#endif
  parallel_for(n, kGrain, [=](int64_t b, int64_t e) { fn(p, vel, g, b, e, k); });
}

struct AdamK {
  float b1, b2, one_m_b1, one_m_b2, eps, wd;
  float decay;      // 1 - lr * wd (decoupled)
  float step_size;  // lr / (1 - beta1^t)
  float inv_sqrt_bc2;  // 1 / sqrt(1 - beta2^t)
};

template <bool kDecoupled>
LMKIT_INLINE void adam_range(float* __restrict p, float* __restrict m, float* __restrict v,
                             const float* __restrict g, int64_t b, int64_t e, AdamK k) {
  for (int64_t i = b; i < e; ++i) {
    float pi = p[i];
    float gi = g[i];
    if (kDecoupled) {
      pi *= k.decay;
    } else {
      gi += k.wd * pi;
    }
    const float mi = k.b1 * m[i] + k.one_m_b1 * gi;
    const float vi = k.b2 * v[i] + k.one_m_b2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - k.step_size * mi / (std::sqrt(vi) * k.inv_sqrt_bc2 + k.eps);
  }
}

template <bool kDecoupled>
void adam_generic(float* p, float* m, float* v, const float* g, int64_t b, int64_t e, AdamK k) {
  adam_range<kDecoupled>(p, m, v, g, b, e, k);
}
#if LMKIT_X86
template <bool kDecoupled>
LMKIT_TARGET_AVX2 void adam_avx2(float* p, float* m, float* v, const float* g, int64_t b, int64_t e, AdamK k) {
  adam_range<kDecoupled>(p, m, v, g, b, e, k);
}
#endif

template <bool kDecoupled>
void adam_run(float* p, float* m, float* v, const float* g, int64_t n, AdamK k) {
  auto fn = adam_generic<kDecoupled>;
#if LMKIT_X86
  if (cpu_has_avx2_fma()) fn = adam_avx2<kDecoupled>;
#endif
  parallel_for(n, kGrain, [=](int64_t b, int64_t e) { fn(p, m, v, g, b, e, k); });
}

}  // namespace

void sgd_step(float* param, float* velocity, const float* grad, int64_t n, float lr, float momentum,
              float weight_decay, bool nesterov) {
  if (n <= 0) return;
  const SgdK k{lr, momentum, weight_decay};
  if (velocity == nullptr) return sgd_run<false, false>(param, nullptr, grad, n, k);
  if (nesterov) return sgd_run<true, true>(param, velocity, grad, n, k);
  sgd_run<true, false>(param, velocity, grad, n, k);
}

void adamw_step(float* param, float* m, float* v, const float* grad, int64_t n, float lr, float beta1, float beta2,
                float eps, float weight_decay, int64_t step, bool decoupled) {
  if (n <= 0) return;
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
  if (decoupled) return adam_run<true>(param, m, v, grad, n, k);
  adam_run<false>(param, m, v, grad, n, k);
}

}  // namespace cpu
}  // namespace lmkit
