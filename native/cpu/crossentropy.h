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
// AVX2/FMA when the CPU has it, NEON on aarch64, plain std::exp loops otherwise). exp(-inf) == 0 on every path, so
// -inf works as a mask value; the AVX2 and NEON paths also flush results below FLT_MIN to 0.
#pragma once
#include <cstdint>
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


}  // namespace cpu
}  // namespace lmkit
