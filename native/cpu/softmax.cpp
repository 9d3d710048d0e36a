// Softmax / log-softmax over the last dimension. See softmax.h for shapes and semantics.
//
// Each row is independent, so rows are split over threads and results never depend on
// the thread count. Row kernels: a portable one (std::exp), an AVX2/FMA one (x86) and a NEON
// one (aarch64), both with a vectorised Cephes-style exp (about 1 ulp on the range used here),
// picked at run time.
#include "softmax.h"
#include "vmath.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common.h"

#if LMKIT_X86
#include <immintrin.h>
#endif
#if LMKIT_ARM64
#include <arm_neon.h>
#endif

namespace lmkit {
namespace cpu {
namespace {

// Rows per task: aim for ~32K elements per chunk so that small calls stay on one thread.
inline int64_t row_grain(int64_t C) { return std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(C, 1)); }

// ---------------------------------------------------------------- portable row kernels

float row_max(const float* x, int64_t C) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < C; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

void softmax_row(float* o, const float* x, int64_t C) {
  const float m = row_max(x, C);
  float sum = 0.f;
  for (int64_t i = 0; i < C; ++i) {
    const float e = std::exp(x[i] - m);
    o[i] = e;
    sum += e;
  }
  const float inv = 1.f / sum;
  for (int64_t i = 0; i < C; ++i) o[i] *= inv;
}

void log_softmax_row(float* o, const float* x, int64_t C) {
  const float m = row_max(x, C);
  float sum = 0.f;
  for (int64_t i = 0; i < C; ++i) sum += std::exp(x[i] - m);
  const float shift = m + std::log(sum);
  for (int64_t i = 0; i < C; ++i) o[i] = x[i] - shift;
}

void softmax_bwd_row(float* dx, const float* dy, const float* y, int64_t C) {
  float s = 0.f;
  for (int64_t i = 0; i < C; ++i) s += dy[i] * y[i];
  for (int64_t i = 0; i < C; ++i) dx[i] = y[i] * (dy[i] - s);
}

void log_softmax_bwd_row(float* dx, const float* dy, const float* y, int64_t C) {
  float s = 0.f;
  for (int64_t i = 0; i < C; ++i) s += dy[i];
  for (int64_t i = 0; i < C; ++i) dx[i] = dy[i] - std::exp(y[i]) * s;
}

// ---------------------------------------------------------------- AVX2/FMA row kernels
#if LMKIT_X86

LMKIT_TARGET_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

LMKIT_TARGET_AVX2 inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Lanes [0, rem) set, rem in [0, 8].
LMKIT_TARGET_AVX2 inline __m256i tail_mask(int64_t rem) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(rem)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

LMKIT_TARGET_AVX2 float row_max_avx2(const float* x, int64_t C) {
  __m256 m0 = _mm256_set1_ps(-std::numeric_limits<float>::infinity()), m1 = m0;
  int64_t i = 0;
  for (; i + 16 <= C; i += 16) {
    m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
    m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
  }
  for (; i + 8 <= C; i += 8) m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
  float m = hmax(_mm256_max_ps(m0, m1));
  for (; i < C; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// o[i] = exp(x[i] - m); returns the sum. o may be null (sum only) and may alias x.
LMKIT_TARGET_AVX2 float exp_shift_sum_avx2(float* o, const float* x, float m, int64_t C) {
  const __m256 vm = _mm256_set1_ps(m);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= C; i += 8) {
    const __m256 e = exp8_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
    if (o) _mm256_storeu_ps(o + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  if (i < C) {
    const __m256i mask = tail_mask(C - i);
    const __m256 e = _mm256_and_ps(_mm256_castsi256_ps(mask), exp8_avx2(_mm256_sub_ps(_mm256_maskload_ps(x + i, mask), vm)));
    if (o) _mm256_maskstore_ps(o + i, mask, e);
    acc = _mm256_add_ps(acc, e);
  }
  return hsum(acc);
}

LMKIT_TARGET_AVX2 void softmax_row_avx2(float* o, const float* x, int64_t C) {
  const float m = row_max_avx2(x, C);
  const float sum = exp_shift_sum_avx2(o, x, m, C);
  const __m256 inv = _mm256_set1_ps(1.f / sum);
  int64_t i = 0;
  for (; i + 8 <= C; i += 8) _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_loadu_ps(o + i), inv));
  const float sinv = 1.f / sum;
  for (; i < C; ++i) o[i] *= sinv;
}

LMKIT_TARGET_AVX2 void log_softmax_row_avx2(float* o, const float* x, int64_t C) {
  const float m = row_max_avx2(x, C);
  const float shift = m + std::log(exp_shift_sum_avx2(nullptr, x, m, C));
  const __m256 vs = _mm256_set1_ps(shift);
  int64_t i = 0;
  for (; i + 8 <= C; i += 8) _mm256_storeu_ps(o + i, _mm256_sub_ps(_mm256_loadu_ps(x + i), vs));
  for (; i < C; ++i) o[i] = x[i] - shift;
}

LMKIT_TARGET_AVX2 void softmax_bwd_row_avx2(float* dx, const float* dy, const float* y, int64_t C) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0;
  int64_t i = 0;
  for (; i + 16 <= C; i += 16) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(dy + i), _mm256_loadu_ps(y + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(dy + i + 8), _mm256_loadu_ps(y + i + 8), a1);
  }
  for (; i + 8 <= C; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(dy + i), _mm256_loadu_ps(y + i), a0);
  float s = hsum(_mm256_add_ps(a0, a1));
  for (; i < C; ++i) s += dy[i] * y[i];
  const __m256 vs = _mm256_set1_ps(s);
  for (i = 0; i + 8 <= C; i += 8) {
    const __m256 yv = _mm256_loadu_ps(y + i);
    _mm256_storeu_ps(dx + i, _mm256_mul_ps(yv, _mm256_sub_ps(_mm256_loadu_ps(dy + i), vs)));
  }
  for (; i < C; ++i) dx[i] = y[i] * (dy[i] - s);
}

LMKIT_TARGET_AVX2 void log_softmax_bwd_row_avx2(float* dx, const float* dy, const float* y, int64_t C) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0;
  int64_t i = 0;
  for (; i + 16 <= C; i += 16) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(dy + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(dy + i + 8));
  }
  for (; i + 8 <= C; i += 8) a0 = _mm256_add_ps(a0, _mm256_loadu_ps(dy + i));
  float s = hsum(_mm256_add_ps(a0, a1));
  for (; i < C; ++i) s += dy[i];
  const __m256 vs = _mm256_set1_ps(s);
  for (i = 0; i + 8 <= C; i += 8) {
    _mm256_storeu_ps(dx + i, _mm256_fnmadd_ps(exp8_avx2(_mm256_loadu_ps(y + i)), vs, _mm256_loadu_ps(dy + i)));
  }
  if (i < C) {
    const __m256i mask = tail_mask(C - i);
    const __m256 e = exp8_avx2(_mm256_maskload_ps(y + i, mask));
    _mm256_maskstore_ps(dx + i, mask, _mm256_fnmadd_ps(e, vs, _mm256_maskload_ps(dy + i, mask)));
  }
}

#endif  // LMKIT_X86

// ---------------------------------------------------------------- NEON row kernels (aarch64)
#if LMKIT_ARM64

inline float row_max_neon(const float* x, int64_t C) {
  float32x4_t m0 = vdupq_n_f32(-std::numeric_limits<float>::infinity()), m1 = m0;
  int64_t i = 0;
  for (; i + 8 <= C; i += 8) {
    m0 = vmaxq_f32(m0, vld1q_f32(x + i));
    m1 = vmaxq_f32(m1, vld1q_f32(x + i + 4));
  }
  for (; i + 4 <= C; i += 4) m0 = vmaxq_f32(m0, vld1q_f32(x + i));
  float m = vmaxvq_f32(vmaxq_f32(m0, m1));
  for (; i < C; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// o[i] = exp(x[i] - m); returns the sum. o may be null (sum only) and may alias x. The tail
// goes through exp4_neon too (padded with -inf, whose exp is 0).
inline float exp_shift_sum_neon(float* o, const float* x, float m, int64_t C) {
  const float32x4_t vm = vdupq_n_f32(m);
  float32x4_t acc = vdupq_n_f32(0.f);
  int64_t i = 0;
  for (; i + 4 <= C; i += 4) {
    const float32x4_t e = exp4_neon(vsubq_f32(vld1q_f32(x + i), vm));
    if (o) vst1q_f32(o + i, e);
    acc = vaddq_f32(acc, e);
  }
  if (i < C) {
    float buf[4];
    const int64_t r = C - i;
    for (int64_t k = 0; k < 4; ++k) buf[k] = k < r ? x[i + k] - m : -std::numeric_limits<float>::infinity();
    const float32x4_t e = exp4_neon(vld1q_f32(buf));
    acc = vaddq_f32(acc, e);
    if (o) {
      vst1q_f32(buf, e);
      for (int64_t k = 0; k < r; ++k) o[i + k] = buf[k];
    }
  }
  return vaddvq_f32(acc);
}

void softmax_row_neon(float* o, const float* x, int64_t C) {
  const float m = row_max_neon(x, C);
  const float sum = exp_shift_sum_neon(o, x, m, C);
  const float sinv = 1.f / sum;
  const float32x4_t inv = vdupq_n_f32(sinv);
  int64_t i = 0;
  for (; i + 4 <= C; i += 4) vst1q_f32(o + i, vmulq_f32(vld1q_f32(o + i), inv));
  for (; i < C; ++i) o[i] *= sinv;
}

void log_softmax_row_neon(float* o, const float* x, int64_t C) {
  const float m = row_max_neon(x, C);
  const float shift = m + std::log(exp_shift_sum_neon(nullptr, x, m, C));
  const float32x4_t vs = vdupq_n_f32(shift);
  int64_t i = 0;
  for (; i + 4 <= C; i += 4) vst1q_f32(o + i, vsubq_f32(vld1q_f32(x + i), vs));
  for (; i < C; ++i) o[i] = x[i] - shift;
}

void softmax_bwd_row_neon(float* dx, const float* dy, const float* y, int64_t C) {
  float32x4_t a0 = vdupq_n_f32(0.f), a1 = a0;
  int64_t i = 0;
  for (; i + 8 <= C; i += 8) {
    a0 = vfmaq_f32(a0, vld1q_f32(dy + i), vld1q_f32(y + i));
    a1 = vfmaq_f32(a1, vld1q_f32(dy + i + 4), vld1q_f32(y + i + 4));
  }
  for (; i + 4 <= C; i += 4) a0 = vfmaq_f32(a0, vld1q_f32(dy + i), vld1q_f32(y + i));
  float s = vaddvq_f32(vaddq_f32(a0, a1));
  for (; i < C; ++i) s += dy[i] * y[i];
  const float32x4_t vs = vdupq_n_f32(s);
  for (i = 0; i + 4 <= C; i += 4)
    vst1q_f32(dx + i, vmulq_f32(vld1q_f32(y + i), vsubq_f32(vld1q_f32(dy + i), vs)));
  for (; i < C; ++i) dx[i] = y[i] * (dy[i] - s);
}

void log_softmax_bwd_row_neon(float* dx, const float* dy, const float* y, int64_t C) {
  float32x4_t a0 = vdupq_n_f32(0.f), a1 = a0;
  int64_t i = 0;
  for (; i + 8 <= C; i += 8) {
    a0 = vaddq_f32(a0, vld1q_f32(dy + i));
    a1 = vaddq_f32(a1, vld1q_f32(dy + i + 4));
  }
  for (; i + 4 <= C; i += 4) a0 = vaddq_f32(a0, vld1q_f32(dy + i));
  float s = vaddvq_f32(vaddq_f32(a0, a1));
  for (; i < C; ++i) s += dy[i];
  const float32x4_t vs = vdupq_n_f32(s);
  for (i = 0; i + 4 <= C; i += 4)
    vst1q_f32(dx + i, vfmsq_f32(vld1q_f32(dy + i), exp4_neon(vld1q_f32(y + i)), vs));
  if (i < C) {
    float buf[4] = {0.f, 0.f, 0.f, 0.f};
    const int64_t r = C - i;
    for (int64_t k = 0; k < r; ++k) buf[k] = y[i + k];
    vst1q_f32(buf, exp4_neon(vld1q_f32(buf)));
    for (int64_t k = 0; k < r; ++k) dx[i + k] = std::fma(-buf[k], s, dy[i + k]);
  }
}

#endif  // LMKIT_ARM64

using RowFn = void (*)(float*, const float*, int64_t);
using BwdRowFn = void (*)(float*, const float*, const float*, int64_t);

void run_rows(RowFn fn, float* out, const float* inp, int64_t N, int64_t C) {
  if (N <= 0 || C <= 0) return;
  parallel_for(N, row_grain(C), [=](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) fn(out + n * C, inp + n * C, C);
  });
}

void run_bwd_rows(BwdRowFn fn, float* dinp, const float* dout, const float* y, int64_t N, int64_t C) {
  if (N <= 0 || C <= 0) return;
  parallel_for(N, row_grain(C), [=](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) fn(dinp + n * C, dout + n * C, y + n * C, C);
  });
}

}  // namespace

void softmax_forward(float* out, const float* inp, int64_t N, int64_t C) {
#if LMKIT_X86
  if (cpu_has_avx2_fma()) return run_rows(softmax_row_avx2, out, inp, N, C);
#endif
#if LMKIT_ARM64
  if (cpu_use_neon()) return run_rows(softmax_row_neon, out, inp, N, C);
#endif
  run_rows(softmax_row, out, inp, N, C);
}

void softmax_backward(float* dinp, const float* dout, const float* out, int64_t N, int64_t C) {
#if LMKIT_X86
  if (cpu_has_avx2_fma()) return run_bwd_rows(softmax_bwd_row_avx2, dinp, dout, out, N, C);
#endif
#if LMKIT_ARM64
  if (cpu_use_neon()) return run_bwd_rows(softmax_bwd_row_neon, dinp, dout, out, N, C);
#endif
  run_bwd_rows(softmax_bwd_row, dinp, dout, out, N, C);
}

void log_softmax_forward(float* out, const float* inp, int64_t N, int64_t C) {
#if LMKIT_X86
  if (cpu_has_avx2_fma()) return run_rows(log_softmax_row_avx2, out, inp, N, C);
#endif
#if LMKIT_ARM64
  if (cpu_use_neon()) return run_rows(log_softmax_row_neon, out, inp, N, C);
#endif
  run_rows(log_softmax_row, out, inp, N, C);
}

void log_softmax_backward(float* dinp, const float* dout, const float* out, int64_t N, int64_t C) {
#if LMKIT_X86
  if (cpu_has_avx2_fma()) return run_bwd_rows(log_softmax_bwd_row_avx2, dinp, dout, out, N, C);
#endif
#if LMKIT_ARM64
  if (cpu_use_neon()) return run_bwd_rows(log_softmax_bwd_row_neon, dinp, dout, out, N, C);
#endif
  run_bwd_rows(log_softmax_bwd_row, dinp, dout, out, N, C);
}

}  // namespace cpu
}  // namespace lmkit
