// lmkit CPU kernels: point-wise activations (see activations.h).
#include "activations.h"

namespace lmkit {
namespace cpu {
namespace {

// Elements per thread chunk: these loops do a few dozen flops per element.
constexpr int64_t kGrain = 1 << 13;
constexpr int64_t kGrainCheap = 1 << 15;

constexpr float kGeluK = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float kGeluC = 0.044715f;

using detail::map1;
using detail::map2;

}  // namespace

void tanh_forward(float* out, const float* inp, int64_t n) {
  map1(out, inp, n, kGrain, [](float x) { return tanh_f32(x); });
}
void tanh_backward(float* dinp, const float* dout, const float* out, int64_t n) {
  map2(dinp, dout, out, n, kGrainCheap, [](float g, float y) { return g * (1.0f - y * y); });
}

void sigmoid_forward(float* out, const float* inp, int64_t n) {
  map1(out, inp, n, kGrain, [](float x) { return sigmoid_f32(x); });
}
void sigmoid_backward(float* dinp, const float* dout, const float* out, int64_t n) {
  map2(dinp, dout, out, n, kGrainCheap, [](float g, float y) { return g * y * (1.0f - y); });
}

void relu_forward(float* out, const float* inp, int64_t n) {
  // x < 0 ? 0 : x keeps NaN.
  map1(out, inp, n, kGrainCheap, [](float x) { return detail::select(x < 0.0f, 0.0f, x); });
}
void relu_backward(float* dinp, const float* dout, const float* inp, int64_t n) {
  map2(dinp, dout, inp, n, kGrainCheap, [](float g, float x) { return detail::select(x > 0.0f, g, 0.0f); });
}

void gelu_forward(float* out, const float* inp, int64_t n) {
  map1(out, inp, n, kGrain, [](float x) {
    const float u = kGeluK * (x + kGeluC * x * x * x);
    return x / (1.0f + exp_f32(-2.0f * u));
  });
}
void gelu_backward(float* dinp, const float* dout, const float* inp, int64_t n) {
  // d/dx [x * s(2u)] = s + 2 x s (1 - s) u',  u' = k (1 + 3c x^2).
  map2(dinp, dout, inp, n, kGrain, [](float g, float x) {
    const float x2 = x * x;
    const float u = kGeluK * (x + kGeluC * x2 * x);
    const float du = kGeluK * (1.0f + 3.0f * kGeluC * x2);
    const float s = 1.0f / (1.0f + exp_f32(-2.0f * u));
    return g * (s + 2.0f * x * s * (1.0f - s) * du);
  });
}

void silu_forward(float* out, const float* inp, int64_t n) {
  map1(out, inp, n, kGrain, [](float x) { return x / (1.0f + exp_f32(-x)); });
}
void silu_backward(float* dinp, const float* dout, const float* inp, int64_t n) {
  map2(dinp, dout, inp, n, kGrain, [](float g, float x) {
    const float s = sigmoid_f32(x);
    return g * s * (1.0f + x * (1.0f - s));
  });
}

}  // namespace cpu
}  // namespace lmkit
