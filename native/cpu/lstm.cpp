// LSTM cell pointwise forward/backward. See lstm.h.
//
// The activations run over contiguous row segments (the gate blocks, then c): with AVX2/FMA
// sigmoid and tanh are built on exp8_avx2 (8 lanes), otherwise on std::exp/std::tanh.
// The AVX2 tanh uses an odd polynomial for |x| < 0.125 (no cancellation near 0) and
// (1 - e^{-2|x|}) / (1 + e^{-2|x|}) with the sign of x elsewhere (a few ulp).
#include "lstm.h"

#include <algorithm>
#include <cmath>

#include "common.h"
#include "vmath.h"  // exp8_avx2

namespace lmkit {
namespace cpu {

namespace {

// Rows per chunk: about this many cell elements.
constexpr int64_t kGrainElems = 1 << 12;

inline float sigmoid1(float x) { return 1.0f / (1.0f + std::exp(-x)); }

void sigmoid_generic(float* y, const float* x, int64_t n) {
  for (int64_t j = 0; j < n; ++j) y[j] = sigmoid1(x[j]);
}
void tanh_generic(float* y, const float* x, int64_t n) {
  for (int64_t j = 0; j < n; ++j) y[j] = std::tanh(x[j]);
}

#if LMKIT_X86
LMKIT_TARGET_AVX2 inline __m256 sigmoid8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = exp8_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x));  // exp(-x): 0 .. inf
  return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

LMKIT_TARGET_AVX2 inline __m256 tanh8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 ax = _mm256_andnot_ps(sign, x);
  const __m256 e = exp8_avx2(_mm256_mul_ps(ax, _mm256_set1_ps(-2.0f)));
  __m256 t = _mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e));
  t = _mm256_or_ps(t, _mm256_and_ps(sign, x));  // copysign(t, x)
  // |x| < 0.125: x + x^3 (-1/3 + x^2 (2/15 + x^2 (-17/315))), relative error < 1e-8.
  const __m256 x2 = _mm256_mul_ps(x, x);
  __m256 p = _mm256_fmadd_ps(x2, _mm256_set1_ps(-17.0f / 315.0f), _mm256_set1_ps(2.0f / 15.0f));
  p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(-1.0f / 3.0f));
  p = _mm256_fmadd_ps(_mm256_mul_ps(x, x2), p, x);
  const __m256 small = _mm256_cmp_ps(ax, _mm256_set1_ps(0.125f), _CMP_LT_OQ);
  return _mm256_blendv_ps(t, p, small);
}

LMKIT_TARGET_AVX2 void sigmoid_avx2(float* y, const float* x, int64_t n) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) _mm256_storeu_ps(y + j, sigmoid8(_mm256_loadu_ps(x + j)));
  for (; j < n; ++j) y[j] = sigmoid1(x[j]);
}

LMKIT_TARGET_AVX2 void tanh_avx2(float* y, const float* x, int64_t n) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) _mm256_storeu_ps(y + j, tanh8(_mm256_loadu_ps(x + j)));
  for (; j < n; ++j) y[j] = std::tanh(x[j]);
}
#endif

// y[j] = sigmoid(x[j]) / tanh(x[j]); y may alias x.
void sigmoid_row(float* y, const float* x, int64_t n) {
#if LMKIT_X86
  if (cpu_has_avx2_fma()) return sigmoid_avx2(y, x, n);
#endif
  sigmoid_generic(y, x, n);
}
void tanh_row(float* y, const float* x, int64_t n) {
#if LMKIT_X86
  if (cpu_has_avx2_fma()) return tanh_avx2(y, x, n);
#endif
  tanh_generic(y, x, n);
}

}  // namespace

void lstm_cell_forward(float* h, float* c, float* gates, const float* gates_pre, const float* c_prev, int64_t B,
                       int64_t H) {
  if (B <= 0 || H <= 0) return;
  const int64_t grain = std::max<int64_t>(1, kGrainElems / H);
  parallel_for(B, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const float* gp = gates_pre + b * 4 * H;
      float* ga = gates + b * 4 * H;
      sigmoid_row(ga, gp, 2 * H);                   // i, f
      tanh_row(ga + 2 * H, gp + 2 * H, H);          // g
      sigmoid_row(ga + 3 * H, gp + 3 * H, H);       // o
      const float* __restrict gi = ga;
      const float* __restrict gf = ga + H;
      const float* __restrict gg = ga + 2 * H;
      const float* __restrict go = ga + 3 * H;
      const float* __restrict cp = c_prev + b * H;
      float* __restrict cb = c + b * H;
      float* __restrict hb = h + b * H;
      for (int64_t j = 0; j < H; ++j) cb[j] = gf[j] * cp[j] + gi[j] * gg[j];
      tanh_row(hb, cb, H);
      for (int64_t j = 0; j < H; ++j) hb[j] *= go[j];
    }
  });
}

void lstm_cell_backward(float* dgates_pre, float* dc_prev, const float* dh, const float* dc_next, const float* gates,
                        const float* c, const float* c_prev, int64_t B, int64_t H) {
  if (B <= 0 || H <= 0) return;
  const int64_t grain = std::max<int64_t>(1, kGrainElems / H);
  parallel_for(B, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      float* dg = dgates_pre + b * 4 * H;
      // tanh(c) goes into the o-slot of dgates_pre first; the loop below reads it, then overwrites it.
      tanh_row(dg + 3 * H, c + b * H, H);
      const float* __restrict ga = gates + b * 4 * H;
      const float* __restrict cp = c_prev + b * H;
      const float* __restrict dhb = dh + b * H;
      const float* __restrict dcn = dc_next ? dc_next + b * H : nullptr;
      float* __restrict dcp = dc_prev ? dc_prev + b * H : nullptr;
      for (int64_t j = 0; j < H; ++j) {
        const float tc = dg[3 * H + j];
        const float i = ga[j], f = ga[H + j], g = ga[2 * H + j], o = ga[3 * H + j];
        const float d = dhb[j];
        float dc = d * o * (1.0f - tc * tc);
        if (dcn) dc += dcn[j];
        dg[j] = dc * g * i * (1.0f - i);
        dg[H + j] = dc * cp[j] * f * (1.0f - f);
        dg[2 * H + j] = dc * i * (1.0f - g * g);
        dg[3 * H + j] = d * tc * o * (1.0f - o);
        if (dcp) dcp[j] = dc * f;
      }
    }
  });
}

}  // namespace cpu
}  // namespace lmkit
