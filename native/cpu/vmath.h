// lmkit CPU vector math shared by several kernel families.
#pragma once
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

#if LMKIT_X86
// exp(x) for 8 floats (AVX2/FMA: call only when lmkit::cpu_has_avx2_fma()); used by the cross-entropy,
// softmax and LSTM kernels.
// x = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-6 polynomial (Cephes expf coefficients,
// ~1 ulp), times 2^n built in the exponent bits. x < ln(FLT_MIN) gives 0 (also -inf),
// x > ln(FLT_MAX) gives +inf, NaN stays NaN.
LMKIT_TARGET_AVX2 inline __m256 exp8_avx2(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.33654475f);  // ln(FLT_MIN)
  const __m256 hi = _mm256_set1_ps(88.72283905f);   // ln(FLT_MAX)
  const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  const __m256 over = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);
  const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, lo), _mm256_set1_ps(88.3762626647949f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  y = _mm256_andnot_ps(under, y);
  y = _mm256_blendv_ps(y, _mm256_set1_ps(std::numeric_limits<float>::infinity()), over);
  return _mm256_blendv_ps(y, x, nan);
}
#endif

#if LMKIT_ARM64
// exp(x) for 4 floats (NEON): the same reduction, polynomial and limits as exp8_avx2, with
// the same fused multiply-adds, so both give the same bits for the same input.
inline float32x4_t exp4_neon(float32x4_t x) {
  const float32x4_t lo = vdupq_n_f32(-87.33654475f);  // ln(FLT_MIN)
  const float32x4_t hi = vdupq_n_f32(88.72283905f);   // ln(FLT_MAX)
  const uint32x4_t under = vcltq_f32(x, lo);
  const uint32x4_t over = vcgtq_f32(x, hi);
  const uint32x4_t nan = vmvnq_u32(vceqq_f32(x, x));
  const float32x4_t xc = vminq_f32(vmaxq_f32(x, lo), vdupq_n_f32(88.3762626647949f));
  const float32x4_t n = vrndnq_f32(vmulq_f32(xc, vdupq_n_f32(1.44269504088896341f)));
  float32x4_t r = vfmsq_f32(xc, n, vdupq_n_f32(0.693359375f));
  r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
  float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
  p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
  p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
  p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
  // n is integral and NaN lanes are replaced below, so truncation is exact here.
  const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
  float32x4_t y = vmulq_f32(p, vreinterpretq_f32_s32(e));
  y = vbslq_f32(under, vdupq_n_f32(0.0f), y);
  y = vbslq_f32(over, vdupq_n_f32(std::numeric_limits<float>::infinity()), y);
  return vbslq_f32(nan, x, y);
}
#endif

}  // namespace cpu
}  // namespace lmkit
