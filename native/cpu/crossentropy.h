// Fused softmax-cross-entropy.
//
// logits (N,V), targets (N) int32 in [0,V) or == ignore_index (rows with ignore_index are
// skipped: loss 0, gradient 0). Per row, with a numerically stable log-sum-exp:
//   loss[n] = logsumexp(logits[n,:]) - logits[n, targets[n]]
//
//   crossentropy_forward          : losses (N)  OVERWRITE; logits untouched (evaluation).
//   crossentropy_forward_backward : ONE pass per row writes losses (N) OVERWRITE and
//                                   dlogits (N,V) = (softmax(logits) - onehot(target)) * grad_scale
//                                   OVERWRITE (activation grad). dlogits MAY ALIAS logits: the
//                                   logits buffer is then replaced by its gradient in the same pass,
//                                   no second buffer of the logits' size is needed.
//                                   grad_scale: 1/num_valid for 'mean', 1 for 'sum' (times any
//                                   upstream gradient known in advance); the caller reduces losses.
//   crossentropy_backward         : dlogits (n) *= upstream (in place): rescales the gradient made
//                                   by crossentropy_forward_backward once the upstream grad is known.
//
// Row primitives (used by the kernels above, by attention.cpp and by bench/native/bench_xent.cpp;
// AVX2/FMA when the CPU has it, plain std::exp loops otherwise). exp(-inf) == 0 on both paths, so
// -inf works as a mask value; the AVX2 path also flushes results below FLT_MIN to 0.
#pragma once
#include <cstdint>
#include <limits>

#include "common.h"

#if LMKIT_X86
#include <immintrin.h>
#endif

namespace lmkit {
namespace cpu {

void crossentropy_forward(float* losses,          // (N)
                          const float* logits,    // (N,V)
                          const int32_t* targets, // (N)
                          int64_t N, int64_t V, int64_t ignore_index);

void crossentropy_forward_backward(float* losses,          // (N)
                                   float* dlogits,         // (N,V)  = ; may be == logits
                                   const float* logits,    // (N,V)
                                   const int32_t* targets, // (N)
                                   int64_t N, int64_t V, int64_t ignore_index, float grad_scale);

void crossentropy_backward(float* dlogits,  // (n)  *= upstream
                           int64_t n, float upstream);

// max_j x[j] (-inf for n == 0).
float crossentropy_row_max(const float* x, int64_t n);
// y[j] = exp(x[j] - shift); returns sum_j y[j]. y may alias x.
float crossentropy_row_exp(float* y, const float* x, int64_t n, float shift);
// sum_j exp(x[j] - shift), nothing written.
float crossentropy_row_sum_exp(const float* x, int64_t n, float shift);
// y[j] *= a.
void crossentropy_row_scale(float* y, int64_t n, float a);

#if LMKIT_X86
// exp(x) for 8 floats (AVX2/FMA: call only when lmkit::cpu_has_avx2_fma()); also used by lstm.cpp.
// x = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-6 polynomial (Cephes expf coefficients,
// ~1 ulp), times 2^n built in the exponent bits. x < ln(FLT_MIN) gives 0 (also -inf),
// x > ln(FLT_MAX) gives +inf, NaN stays NaN.
LMKIT_TARGET_AVX2 inline __m256 crossentropy_exp8(__m256 x) {
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

}  // namespace cpu
}  // namespace lmkit
