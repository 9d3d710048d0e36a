// lmkit CPU kernels: point-wise activations over n contiguous floats.
//
//   <act>_forward(out, inp, n)              out = act(inp)                 (=)
//   <act>_backward(dinp, dout, saved, n)    dinp = dout * act'(...)        (=, activation gradient)
//
// `saved` is what the derivative is cheapest from:
//   tanh:    saved = out   dinp = dout * (1 - out^2)
//   sigmoid: saved = out   dinp = dout * out * (1 - out)
//   relu:    saved = inp   dinp = inp > 0 ? dout : 0
//   gelu:    saved = inp   tanh approximation (GPT-2):
//            gelu(x) = 0.5 x (1 + tanh(k (x + 0.044715 x^3))), k = sqrt(2/pi),
//            computed as x * sigmoid(2u), u = k (x + 0.044715 x^3) (same function, no
//            cancellation for negative x)
//   silu:    saved = inp   silu(x) = x * sigmoid(x)
// All are branch-free and vectorised (AVX2/FMA twin picked at run time); tanh, sigmoid
// and silu are accurate to a few float ulps (relative error < 1e-6 away from underflow),
// gelu too for x > -5 (below, the float rounding of x^3 limits it to ~1e-5 relative on
// values under 1e-10). NaN propagates.
#pragma once
#include <cstdint>

#include "elementwise.h"

namespace lmkit {
namespace cpu {

void tanh_forward(float* out, const float* inp, int64_t n);
void tanh_backward(float* dinp, const float* dout, const float* out, int64_t n);
void sigmoid_forward(float* out, const float* inp, int64_t n);
void sigmoid_backward(float* dinp, const float* dout, const float* out, int64_t n);
void relu_forward(float* out, const float* inp, int64_t n);
void relu_backward(float* dinp, const float* dout, const float* inp, int64_t n);
void gelu_forward(float* out, const float* inp, int64_t n);
void gelu_backward(float* dinp, const float* dout, const float* inp, int64_t n);
void silu_forward(float* out, const float* inp, int64_t n);
void silu_backward(float* dinp, const float* dout, const float* inp, int64_t n);

// Scalar versions, the arithmetic of the kernels: inline and branch-free, so that other
// kernels' loops calling them still vectorise (e.g. LSTM gates).
__attribute__((always_inline)) inline float sigmoid_f32(float x) { return 1.0f / (1.0f + exp_f32(-x)); }

__attribute__((always_inline)) inline float tanh_f32(float x) {
  const float ax = detail::u2f(detail::f2u(x) & 0x7FFFFFFFu);
  // |x| < 0.4: odd Taylor polynomial through x^13 (truncation < 2e-9 relative).
  const float x2 = ax * ax;
  float p = 21844.0f / 6081075.0f;
  p = p * x2 - 1382.0f / 155925.0f;
  p = p * x2 + 62.0f / 2835.0f;
  p = p * x2 - 17.0f / 315.0f;
  p = p * x2 + 2.0f / 15.0f;
  p = p * x2 - 1.0f / 3.0f;
  const float small = ax + ax * x2 * p;
  // Otherwise (1 - e) / (1 + e) with e = exp(-2|x|) in (0, 0.45]: no cancellation.
  const float e = exp_f32(-2.0f * ax);
  const float large = (1.0f - e) / (1.0f + e);
  const float t = detail::select(ax < 0.4f, small, large);
  return detail::u2f(detail::f2u(t) | (detail::f2u(x) & 0x80000000u));
}

}  // namespace cpu
}  // namespace lmkit
