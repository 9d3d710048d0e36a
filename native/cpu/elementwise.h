// lmkit CPU kernels: element-wise arithmetic.
//
// Binary ops with NumPy broadcasting (one generic strided kernel):
//   binary_forward(op, out, a, b, ndim, shape, a_strides, b_strides)
//     out:  (shape...) dense row-major, written (=)
//     a, b: read at element offset sum_d idx[d] * x_strides[d]; a stride of 0 broadcasts
//           that dimension. ndim in [0, kMaxDims]; ndim == 0 is a scalar.
//   Dimensions are collapsed first, so same-shape operands run as one flat loop and
//   (N,C) op (C) (bias add) as N contiguous rows against one row.
//   The gradients of broadcast operands are reduced with sum_to_shape (reduce.h).
//
// Unary ops (n elements, all outputs overwritten (=), including the *_backward inputs'
// gradients, which are activation gradients):
//   affine_forward(out, inp, n, alpha, beta)     out = alpha*inp + beta   (neg, addScalar, mulScalar)
//   exp_forward(out, inp, n)                      out = exp(inp)
//   exp_backward(dinp, dout, out, n)              dinp = dout * out
//   log_forward(out, inp, n)                      out = log(inp)
//   log_backward(dinp, dout, inp, n)              dinp = dout / inp
//   sqrt_forward(out, inp, n)                     out = sqrt(inp)
//   sqrt_backward(dinp, dout, out, n)             dinp = dout * 0.5 / out
//   pow_scalar_forward(out, inp, n, p)            out = inp^p   (p == 2: square, exact)
//   pow_scalar_backward(dinp, dout, inp, n, p)    dinp = dout * p * inp^(p-1)
// In place (accumulates):
//   axpy(y, x, n, alpha)                          y += alpha * x   (autograd engine, optimizers)
//
// exp uses exp_f32 below: branch-free, vectorisable, max relative error ~2 ulp over the
// whole float range (overflow to +inf, gradual underflow to 0, NaN propagates).
#pragma once
#include <cstdint>
#include <cstring>

#include "common.h"

namespace lmkit {
namespace cpu {

constexpr int kMaxDims = 6;

enum class BinaryOp : int { Add = 0, Sub = 1, Mul = 2, Div = 3 };

void binary_forward(BinaryOp op, float* out, const float* a, const float* b, int ndim, const int64_t* shape,
                    const int64_t* a_strides, const int64_t* b_strides);

void affine_forward(float* out, const float* inp, int64_t n, float alpha, float beta);
void axpy(float* y, const float* x, int64_t n, float alpha);

void exp_forward(float* out, const float* inp, int64_t n);
void exp_backward(float* dinp, const float* dout, const float* out, int64_t n);
void log_forward(float* out, const float* inp, int64_t n);
void log_backward(float* dinp, const float* dout, const float* inp, int64_t n);
void sqrt_forward(float* out, const float* inp, int64_t n);
void sqrt_backward(float* dinp, const float* dout, const float* out, int64_t n);
void pow_scalar_forward(float* out, const float* inp, int64_t n, float p);
void pow_scalar_backward(float* dinp, const float* dout, const float* inp, int64_t n, float p);

// ---- helpers shared with the other point-wise kernels (activations) -------------------

namespace detail {

__attribute__((always_inline)) inline uint32_t f2u(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
__attribute__((always_inline)) inline float u2f(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
// c ? a : b as a bit mask: g++ 12 does not if-convert a float `?:` whose result feeds
// more arithmetic (the loop then stays scalar); this form always vectorises.
__attribute__((always_inline)) inline float select(bool c, float a, float b) {
  const uint32_t m = 0u - static_cast<uint32_t>(c);
  return u2f((f2u(a) & m) | (f2u(b) & ~m));
}

// out[i] = f(in[i]) over [0, n), threaded; the AVX2 twin is picked at run time.
template <class F>
inline void map_loop(float* out, const float* in, int64_t b, int64_t e, F f) {
  for (int64_t i = b; i < e; ++i) out[i] = f(in[i]);
}
template <class F>
LMKIT_TARGET_AVX2 void map_loop_avx2(float* out, const float* in, int64_t b, int64_t e, F f) {
  for (int64_t i = b; i < e; ++i) out[i] = f(in[i]);
}
template <class F>
void map1(float* out, const float* in, int64_t n, int64_t grain, F f) {
  const bool avx2 = cpu_has_avx2_fma();
  parallel_for(n, grain, [&](int64_t b, int64_t e) {
    if (avx2) {
      map_loop_avx2(out, in, b, e, f);
    } else {
      map_loop(out, in, b, e, f);
    }
  });
}

// out[i] = f(x[i], y[i]) over [0, n), threaded.
template <class F>
inline void zip_loop(float* out, const float* x, const float* y, int64_t b, int64_t e, F f) {
  for (int64_t i = b; i < e; ++i) out[i] = f(x[i], y[i]);
}
template <class F>
LMKIT_TARGET_AVX2 void zip_loop_avx2(float* out, const float* x, const float* y, int64_t b, int64_t e, F f) {
  for (int64_t i = b; i < e; ++i) out[i] = f(x[i], y[i]);
}
template <class F>
void map2(float* out, const float* x, const float* y, int64_t n, int64_t grain, F f) {
  const bool avx2 = cpu_has_avx2_fma();
  parallel_for(n, grain, [&](int64_t b, int64_t e) {
    if (avx2) {
      zip_loop_avx2(out, x, y, b, e, f);
    } else {
      zip_loop(out, x, y, b, e, f);
    }
  });
}

}  // namespace detail

// exp(x) for float, branch-free (selects only) so that loops calling it vectorise.
// x = n*ln2 + r, |r| <= ln2/2; exp(r) by a degree-7 Taylor polynomial (truncation
// error < 5e-9); 2^n applied as two factors so that results near the overflow and
// underflow limits round correctly (gradual underflow to 0, overflow to +inf).
__attribute__((always_inline)) inline float exp_f32(float x) {
  // Clamp (NaN compares false everywhere and passes through unchanged).
  float xc = detail::select(x < -104.0f, -104.0f, x);
  xc = detail::select(xc > 89.0f, 89.0f, xc);
  // Round x*log2(e) to the nearest integer with the 1.5*2^23 trick; its bits hold n.
  const float shifted = xc * 1.44269504088896341f + 12582912.0f;
  const float nf = shifted - 12582912.0f;
  const int32_t n = static_cast<int32_t>(detail::f2u(shifted) - 0x4B400000u);
  // Cody-Waite reduction: ln2 = C1 + C2 with C1 exact in 9 bits.
  float r = xc - nf * 0.693359375f;
  r = r + nf * 2.12194440e-4f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t n1 = n / 2;
  const int32_t n2 = n - n1;
  const float s1 = detail::u2f(static_cast<uint32_t>(n1 + 127) << 23);
  const float s2 = detail::u2f(static_cast<uint32_t>(n2 + 127) << 23);
  return (p * s1) * s2;
}

}  // namespace cpu
}  // namespace lmkit
