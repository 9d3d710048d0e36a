// LSTM cell pointwise forward/backward. See lstm.h.
//
// The activations run over contiguous row segments (the gate blocks, then c): with AVX2/FMA
// sigmoid and tanh are built on exp8_avx2 (8 lanes), otherwise on std::exp/std::tanh. The
// backward is one fused AVX2 pass per row (NEON on aarch64: the same code at 4 lanes, on exp4_neon) (its scalar loop, with run-time null checks inside, did
// not vectorize: 2x slower).
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

#if LMKIT_ARM64
// NEON (aarch64): sigmoid and tanh as the AVX2 ones, 4 lanes, on exp4_neon.
inline float32x4_t sigmoid4(float32x4_t x) {
  const float32x4_t one = vdupq_n_f32(1.0f);
  const float32x4_t e = exp4_neon(vnegq_f32(x));  // exp(-x): 0 .. inf
  return vdivq_f32(one, vaddq_f32(one, e));
}

inline float32x4_t tanh4(float32x4_t x) {
  const float32x4_t one = vdupq_n_f32(1.0f);
  const float32x4_t ax = vabsq_f32(x);
  const float32x4_t e = exp4_neon(vmulq_f32(ax, vdupq_n_f32(-2.0f)));
  float32x4_t t = vdivq_f32(vsubq_f32(one, e), vaddq_f32(one, e));
  const uint32x4_t sign = vdupq_n_u32(0x80000000u);
  t = vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(t), vandq_u32(sign, vreinterpretq_u32_f32(x))));
  // |x| < 0.125: x + x^3 (-1/3 + x^2 (2/15 + x^2 (-17/315))).
  const float32x4_t x2 = vmulq_f32(x, x);
  float32x4_t p = vfmaq_f32(vdupq_n_f32(2.0f / 15.0f), x2, vdupq_n_f32(-17.0f / 315.0f));
  p = vfmaq_f32(vdupq_n_f32(-1.0f / 3.0f), x2, p);
  p = vfmaq_f32(x, vmulq_f32(x, x2), p);
  const uint32x4_t small = vcltq_f32(ax, vdupq_n_f32(0.125f));
  return vbslq_f32(small, p, t);
}

void sigmoid_neon(float* y, const float* x, int64_t n) {
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) vst1q_f32(y + j, sigmoid4(vld1q_f32(x + j)));
  for (; j < n; ++j) y[j] = sigmoid1(x[j]);
}

void tanh_neon(float* y, const float* x, int64_t n) {
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) vst1q_f32(y + j, tanh4(vld1q_f32(x + j)));
  for (; j < n; ++j) y[j] = std::tanh(x[j]);
}
#endif

// y[j] = sigmoid(x[j]) / tanh(x[j]); y may alias x.
void sigmoid_row(float* y, const float* x, int64_t n) {
#if LMKIT_X86
  if (cpu_has_avx2_fma()) return sigmoid_avx2(y, x, n);
#endif
#if LMKIT_ARM64
  if (cpu_use_neon()) return sigmoid_neon(y, x, n);
#endif
  sigmoid_generic(y, x, n);
}
void tanh_row(float* y, const float* x, int64_t n) {
#if LMKIT_X86
  if (cpu_has_avx2_fma()) return tanh_avx2(y, x, n);
#endif
#if LMKIT_ARM64
  if (cpu_use_neon()) return tanh_neon(y, x, n);
#endif
  tanh_generic(y, x, n);
}

// Backward of rows [b0, b1). The AVX2 version makes one pass per row (tanh(c) stays in registers);
// the generic one stores tanh(c) first, then runs the scalar loop. Both round every operation in
// the order the scalar loop writes it (no FMA contraction), so given the same tanh(c) they give the
// same bits; the dc_next / dc_prev null checks are template parameters, which leaves the loops
// free of branches (vectorizable).
struct BwdArgs {
  float* dgates_pre;
  float* dc_prev;
  const float *dh, *dc_next, *gates, *c, *c_prev;
  int64_t H;
};
using BwdRows = void (*)(const BwdArgs&, int64_t, int64_t);

// Elements j in [j0, H) of row b, scalar; tanh(c) must already be in the o-slot of dgates_pre
// (the loop reads it, then overwrites it). Not inlined: compiled for the baseline target, so the
// AVX2 caller's tail gets no FMA contraction either. The four gate blocks of the dgates_pre row
// are passed as four restrict pointers, so the loop vectorizes without alias checks.
template <bool kDcNext, bool kDcPrev>
__attribute__((noinline)) void bwd_scalar(float* __restrict di, float* __restrict df, float* __restrict dgg,
                                          float* __restrict dgo, float* __restrict dcp, const float* __restrict ga,
                                          const float* __restrict cp, const float* __restrict dhb,
                                          const float* __restrict dcn, int64_t H, int64_t j0) {
  for (int64_t j = j0; j < H; ++j) {
    const float tc = dgo[j];
    const float i = ga[j], f = ga[H + j], g = ga[2 * H + j], o = ga[3 * H + j];
    const float d = dhb[j];
    float dc = d * o * (1.0f - tc * tc);
    if (kDcNext) dc += dcn[j];
    di[j] = dc * g * i * (1.0f - i);
    df[j] = dc * cp[j] * f * (1.0f - f);
    dgg[j] = dc * i * (1.0f - g * g);
    dgo[j] = d * tc * o * (1.0f - o);
    if (kDcPrev) dcp[j] = dc * f;
  }
}

template <bool kDcNext, bool kDcPrev>
inline void bwd_scalar_row(const BwdArgs& a, int64_t b, int64_t j0) {
  const int64_t H = a.H;
  float* dg = a.dgates_pre + b * 4 * H;
  bwd_scalar<kDcNext, kDcPrev>(dg, dg + H, dg + 2 * H, dg + 3 * H, kDcPrev ? a.dc_prev + b * H : nullptr,
                               a.gates + b * 4 * H, a.c_prev + b * H, a.dh + b * H,
                               kDcNext ? a.dc_next + b * H : nullptr, H, j0);
}

template <bool kDcNext, bool kDcPrev>
void bwd_rows(const BwdArgs& a, int64_t b0, int64_t b1) {
  const int64_t H = a.H;
  for (int64_t b = b0; b < b1; ++b) {
    // tanh(c) goes into the o-slot of dgates_pre first; the loop reads it, then overwrites it.
    tanh_row(a.dgates_pre + b * 4 * H + 3 * H, a.c + b * H, H);
    bwd_scalar_row<kDcNext, kDcPrev>(a, b, 0);
  }
}

#if LMKIT_X86
// An opaque copy of v: the compiler cannot fuse the product that made v into a following add or
// subtract (GCC contracts _mm256_mul_ps + _mm256_add_ps into an FMA in AVX2/FMA code), so the
// vector loop rounds exactly as the scalar one.
LMKIT_TARGET_AVX2 inline __m256 rounded(__m256 v) {
  __asm__("" : "+x"(v));
  return v;
}

template <bool kDcNext, bool kDcPrev>
LMKIT_TARGET_AVX2 void bwd_rows_avx2(const BwdArgs& a, int64_t b0, int64_t b1) {
  const int64_t H = a.H;
  const __m256 one = _mm256_set1_ps(1.0f);
  for (int64_t b = b0; b < b1; ++b) {
    const float* ga = a.gates + b * 4 * H;
    const float* cb = a.c + b * H;
    const float* cp = a.c_prev + b * H;
    const float* dhb = a.dh + b * H;
    const float* dcn = kDcNext ? a.dc_next + b * H : nullptr;
    float* dg = a.dgates_pre + b * 4 * H;
    float* dcp = kDcPrev ? a.dc_prev + b * H : nullptr;
    int64_t j = 0;
    for (; j + 8 <= H; j += 8) {
      const __m256 tc = tanh8(_mm256_loadu_ps(cb + j));
      const __m256 i = _mm256_loadu_ps(ga + j), f = _mm256_loadu_ps(ga + H + j);
      const __m256 g = _mm256_loadu_ps(ga + 2 * H + j), o = _mm256_loadu_ps(ga + 3 * H + j);
      const __m256 d = _mm256_loadu_ps(dhb + j);
      __m256 dc = _mm256_mul_ps(_mm256_mul_ps(d, o), _mm256_sub_ps(one, rounded(_mm256_mul_ps(tc, tc))));
      if (kDcNext) dc = _mm256_add_ps(rounded(dc), _mm256_loadu_ps(dcn + j));
      _mm256_storeu_ps(dg + j, _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(dc, g), i), _mm256_sub_ps(one, i)));
      _mm256_storeu_ps(dg + H + j, _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(dc, _mm256_loadu_ps(cp + j)), f),
                                                 _mm256_sub_ps(one, f)));
      _mm256_storeu_ps(dg + 2 * H + j,
                       _mm256_mul_ps(_mm256_mul_ps(dc, i), _mm256_sub_ps(one, rounded(_mm256_mul_ps(g, g)))));
      _mm256_storeu_ps(dg + 3 * H + j, _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(d, tc), o), _mm256_sub_ps(one, o)));
      if (kDcPrev) _mm256_storeu_ps(dcp + j, _mm256_mul_ps(dc, f));
    }
    if (j < H) {  // the tail as tanh_row's: std::tanh
      for (int64_t k = j; k < H; ++k) dg[3 * H + k] = std::tanh(cb[k]);
      bwd_scalar_row<kDcNext, kDcPrev>(a, b, j);
    }
  }
}
#endif

#if LMKIT_ARM64
// NEON backward: the AVX2 pass at 4 lanes. Separate multiplies and adds (vmulq/vsubq), so it
// rounds as the scalar loop does; the aarch64 build also compiles with -ffp-contract=off (see
// CMakeLists.txt), so neither these intrinsics nor the scalar tail are fused into FMAs.
template <bool kDcNext, bool kDcPrev>
void bwd_rows_neon(const BwdArgs& a, int64_t b0, int64_t b1) {
  const int64_t H = a.H;
  const float32x4_t one = vdupq_n_f32(1.0f);
  for (int64_t b = b0; b < b1; ++b) {
    const float* ga = a.gates + b * 4 * H;
    const float* cb = a.c + b * H;
    const float* cp = a.c_prev + b * H;
    const float* dhb = a.dh + b * H;
    const float* dcn = kDcNext ? a.dc_next + b * H : nullptr;
    float* dg = a.dgates_pre + b * 4 * H;
    float* dcp = kDcPrev ? a.dc_prev + b * H : nullptr;
    int64_t j = 0;
    for (; j + 4 <= H; j += 4) {
      const float32x4_t tc = tanh4(vld1q_f32(cb + j));
      const float32x4_t i = vld1q_f32(ga + j), f = vld1q_f32(ga + H + j);
      const float32x4_t g = vld1q_f32(ga + 2 * H + j), o = vld1q_f32(ga + 3 * H + j);
      const float32x4_t d = vld1q_f32(dhb + j);
      float32x4_t dc = vmulq_f32(vmulq_f32(d, o), vsubq_f32(one, vmulq_f32(tc, tc)));
      if (kDcNext) dc = vaddq_f32(dc, vld1q_f32(dcn + j));
      vst1q_f32(dg + j, vmulq_f32(vmulq_f32(vmulq_f32(dc, g), i), vsubq_f32(one, i)));
      vst1q_f32(dg + H + j, vmulq_f32(vmulq_f32(vmulq_f32(dc, vld1q_f32(cp + j)), f), vsubq_f32(one, f)));
      vst1q_f32(dg + 2 * H + j, vmulq_f32(vmulq_f32(dc, i), vsubq_f32(one, vmulq_f32(g, g))));
      vst1q_f32(dg + 3 * H + j, vmulq_f32(vmulq_f32(vmulq_f32(d, tc), o), vsubq_f32(one, o)));
      if (kDcPrev) vst1q_f32(dcp + j, vmulq_f32(dc, f));
    }
    if (j < H) {  // the tail as tanh_row's: std::tanh
      for (int64_t k = j; k < H; ++k) dg[3 * H + k] = std::tanh(cb[k]);
      bwd_scalar_row<kDcNext, kDcPrev>(a, b, j);
    }
  }
}
#endif

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
  BwdRows rows = bwd_rows<false, false>;
  if (dc_next) rows = dc_prev ? bwd_rows<true, true> : bwd_rows<true, false>;
  else if (dc_prev) rows = bwd_rows<false, true>;
#if LMKIT_X86
  if (cpu_has_avx2_fma()) {
    rows = bwd_rows_avx2<false, false>;
    if (dc_next) rows = dc_prev ? bwd_rows_avx2<true, true> : bwd_rows_avx2<true, false>;
    else if (dc_prev) rows = bwd_rows_avx2<false, true>;
  }
#endif
#if LMKIT_ARM64
  if (cpu_use_neon()) {
    rows = bwd_rows_neon<false, false>;
    if (dc_next) rows = dc_prev ? bwd_rows_neon<true, true> : bwd_rows_neon<true, false>;
    else if (dc_prev) rows = bwd_rows_neon<false, true>;
  }
#endif
  const BwdArgs a{dgates_pre, dc_prev, dh, dc_next, gates, c, c_prev, H};
  const int64_t grain = std::max<int64_t>(1, kGrainElems / H);
  parallel_for(B, grain, [&](int64_t b0, int64_t b1) { rows(a, b0, b1); });
}

}  // namespace cpu
}  // namespace lmkit
