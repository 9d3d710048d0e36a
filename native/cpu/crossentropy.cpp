// Fused softmax-cross-entropy and its row primitives. See crossentropy.h.
//
// Per row the fused kernel makes three passes over V (the row stays in L1/L2 after the first):
//   1. m = max_j x[j]                         (read)
//   2. d[j] = exp(x[j] - m), s = sum_j d[j]   (read, write; d may be x itself)
//   3. d[j] *= grad_scale / s; d[t] -= grad_scale
// and loss = log(s) + m - x[t], with x[t] read before pass 2 may overwrite it.
// That is one exp per logit; log-softmax + gather + backward as separate passes needs two,
// plus a (N,V) log-prob buffer (see bench/native/bench_xent.cpp).
#include "crossentropy.h"
#include "vmath.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "common.h"


namespace lmkit {
namespace cpu {

namespace {

// Rows per chunk: about this many logits.
constexpr int64_t kGrainElems = 1 << 15;

// ---------------------------------------------------------------------------------------------
// Portable row loops.
// ---------------------------------------------------------------------------------------------
float max_generic(const float* x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

template <bool kStore>
float exp_generic(float* y, const float* x, int64_t n, float shift) {
  float s = 0.0f;
  for (int64_t j = 0; j < n; ++j) {
    const float e = std::exp(x[j] - shift);
    if (kStore) y[j] = e;
    s += e;
  }
  return s;
}

void scale_generic(float* y, int64_t n, float a) {
  for (int64_t j = 0; j < n; ++j) y[j] *= a;
}

#if LMKIT_X86
// ---------------------------------------------------------------------------------------------
// AVX2/FMA row loops.
// ---------------------------------------------------------------------------------------------

LMKIT_TARGET_AVX2 inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

LMKIT_TARGET_AVX2 float max_avx2(const float* x, int64_t n) {
  const __m256 ninf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + j));
    m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + j + 8));
    m2 = _mm256_max_ps(m2, _mm256_loadu_ps(x + j + 16));
    m3 = _mm256_max_ps(m3, _mm256_loadu_ps(x + j + 24));
  }
  for (; j + 8 <= n; j += 8) m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + j));
  m0 = _mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3));
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m0), _mm256_extractf128_ps(m0, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_movehdup_ps(h));
  float m = _mm_cvtss_f32(h);
  for (; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

template <bool kStore>
LMKIT_TARGET_AVX2 float exp_avx2(float* y, const float* x, int64_t n, float shift) {
  const __m256 vs = _mm256_set1_ps(shift);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m256 e0 = exp8_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + j), vs));
    const __m256 e1 = exp8_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + j + 8), vs));
    if (kStore) {
      _mm256_storeu_ps(y + j, e0);
      _mm256_storeu_ps(y + j + 8, e1);
    }
    s0 = _mm256_add_ps(s0, e0);
    s1 = _mm256_add_ps(s1, e1);
  }
  if (j < n) {
    // Tail: a masked load so every element goes through the same exp8.
    alignas(32) float buf[16];
    const int64_t r = n - j;
    for (int64_t k = 0; k < 16; ++k) buf[k] = k < r ? x[j + k] - shift : -std::numeric_limits<float>::infinity();
    const __m256 e0 = exp8_avx2(_mm256_load_ps(buf));
    const __m256 e1 = exp8_avx2(_mm256_load_ps(buf + 8));
    s0 = _mm256_add_ps(s0, e0);
    s1 = _mm256_add_ps(s1, e1);
    if (kStore) {
      _mm256_store_ps(buf, e0);
      _mm256_store_ps(buf + 8, e1);
      for (int64_t k = 0; k < r; ++k) y[j + k] = buf[k];
    }
  }
  return hsum8(_mm256_add_ps(s0, s1));
}

LMKIT_TARGET_AVX2 void scale_avx2(float* y, int64_t n, float a) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    _mm256_storeu_ps(y + j, _mm256_mul_ps(_mm256_loadu_ps(y + j), va));
    _mm256_storeu_ps(y + j + 8, _mm256_mul_ps(_mm256_loadu_ps(y + j + 8), va));
  }
  for (; j < n; ++j) y[j] *= a;
}
#endif  // LMKIT_X86

#if LMKIT_ARM64
// ---------------------------------------------------------------------------------------------
// NEON row loops (aarch64): the AVX2 ones at 4 lanes, with exp4_neon (same bits as exp8_avx2).
// ---------------------------------------------------------------------------------------------

float max_neon(const float* x, int64_t n) {
  const float32x4_t ninf = vdupq_n_f32(-std::numeric_limits<float>::infinity());
  float32x4_t m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    m0 = vmaxq_f32(m0, vld1q_f32(x + j));
    m1 = vmaxq_f32(m1, vld1q_f32(x + j + 4));
    m2 = vmaxq_f32(m2, vld1q_f32(x + j + 8));
    m3 = vmaxq_f32(m3, vld1q_f32(x + j + 12));
  }
  for (; j + 4 <= n; j += 4) m0 = vmaxq_f32(m0, vld1q_f32(x + j));
  float m = vmaxvq_f32(vmaxq_f32(vmaxq_f32(m0, m1), vmaxq_f32(m2, m3)));
  for (; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

template <bool kStore>
float exp_neon(float* y, const float* x, int64_t n, float shift) {
  const float32x4_t vs = vdupq_n_f32(shift);
  float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0;
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const float32x4_t e0 = exp4_neon(vsubq_f32(vld1q_f32(x + j), vs));
    const float32x4_t e1 = exp4_neon(vsubq_f32(vld1q_f32(x + j + 4), vs));
    if (kStore) {
      vst1q_f32(y + j, e0);
      vst1q_f32(y + j + 4, e1);
    }
    s0 = vaddq_f32(s0, e0);
    s1 = vaddq_f32(s1, e1);
  }
  if (j < n) {
    // Tail: padded with -inf so every element goes through the same exp4.
    float buf[8];
    const int64_t r = n - j;
    for (int64_t k = 0; k < 8; ++k) buf[k] = k < r ? x[j + k] - shift : -std::numeric_limits<float>::infinity();
    const float32x4_t e0 = exp4_neon(vld1q_f32(buf));
    const float32x4_t e1 = exp4_neon(vld1q_f32(buf + 4));
    s0 = vaddq_f32(s0, e0);
    s1 = vaddq_f32(s1, e1);
    if (kStore) {
      vst1q_f32(buf, e0);
      vst1q_f32(buf + 4, e1);
      for (int64_t k = 0; k < r; ++k) y[j + k] = buf[k];
    }
  }
  return vaddvq_f32(vaddq_f32(s0, s1));
}

void scale_neon(float* y, int64_t n, float a) {
  const float32x4_t va = vdupq_n_f32(a);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    vst1q_f32(y + j, vmulq_f32(vld1q_f32(y + j), va));
    vst1q_f32(y + j + 4, vmulq_f32(vld1q_f32(y + j + 4), va));
  }
  for (; j < n; ++j) y[j] *= a;
}
#endif  // LMKIT_ARM64

inline bool use_avx2() {
#if LMKIT_X86
  return cpu_has_avx2_fma();
#else
  return false;
#endif
}

int64_t row_grain(int64_t V) { return std::max<int64_t>(1, kGrainElems / std::max<int64_t>(V, 1)); }

}  // namespace

float crossentropy_row_max(const float* x, int64_t n) {
#if LMKIT_X86
  if (use_avx2()) return max_avx2(x, n);
#endif
#if LMKIT_ARM64
  if (cpu_use_neon()) return max_neon(x, n);
#endif
  return max_generic(x, n);
}

float crossentropy_row_exp(float* y, const float* x, int64_t n, float shift) {
#if LMKIT_X86
  if (use_avx2()) return exp_avx2<true>(y, x, n, shift);
#endif
#if LMKIT_ARM64
  if (cpu_use_neon()) return exp_neon<true>(y, x, n, shift);
#endif
  return exp_generic<true>(y, x, n, shift);
}

float crossentropy_row_sum_exp(const float* x, int64_t n, float shift) {
#if LMKIT_X86
  if (use_avx2()) return exp_avx2<false>(nullptr, x, n, shift);
#endif
#if LMKIT_ARM64
  if (cpu_use_neon()) return exp_neon<false>(nullptr, x, n, shift);
#endif
  return exp_generic<false>(nullptr, x, n, shift);
}

void crossentropy_row_scale(float* y, int64_t n, float a) {
#if LMKIT_X86
  if (use_avx2()) return scale_avx2(y, n, a);
#endif
#if LMKIT_ARM64
  if (cpu_use_neon()) return scale_neon(y, n, a);
#endif
  scale_generic(y, n, a);
}

void crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int64_t N, int64_t V,
                          int64_t ignore_index) {
  if (N <= 0) return;
  parallel_for(N, row_grain(V), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const int64_t t = targets[n];
      if (t == ignore_index) {
        losses[n] = 0.0f;
        continue;
      }
      const float* x = logits + n * V;
      const float m = crossentropy_row_max(x, V);
      const float s = crossentropy_row_sum_exp(x, V, m);
      losses[n] = static_cast<float>(std::log(static_cast<double>(s)) + (static_cast<double>(m) - x[t]));
    }
  });
}

void crossentropy_forward_backward(float* losses, float* dlogits, const float* logits, const int32_t* targets,
                                   int64_t N, int64_t V, int64_t ignore_index, float grad_scale) {
  if (N <= 0) return;
  parallel_for(N, row_grain(V), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const int64_t t = targets[n];
      float* d = dlogits + n * V;
      if (t == ignore_index) {
        losses[n] = 0.0f;
        std::memset(d, 0, sizeof(float) * static_cast<size_t>(V));
        continue;
      }
      const float* x = logits + n * V;
      const float xt = x[t];  // before pass 2 may overwrite it
      const float m = crossentropy_row_max(x, V);
      const float s = crossentropy_row_exp(d, x, V, m);
      losses[n] = static_cast<float>(std::log(static_cast<double>(s)) + (static_cast<double>(m) - xt));
      crossentropy_row_scale(d, V, grad_scale / s);
      d[t] -= grad_scale;
    }
  });
}

void crossentropy_backward(float* dlogits, int64_t n, float upstream) {
  if (n <= 0 || upstream == 1.0f) return;
  const int64_t block = 1 << 14;
  const int64_t nb = (n + block - 1) / block;
  parallel_for(nb, 4, [&](int64_t b0, int64_t b1) {
    const int64_t j0 = b0 * block, j1 = std::min(n, b1 * block);
    crossentropy_row_scale(dlogits + j0, j1 - j0, upstream);
  });
}

}  // namespace cpu
}  // namespace lmkit
