// Bindings shared by the pointwise families (activations, elementwise): a unary kernel
// `F(out, inp, n)` and its backward `G(dinp, dout, saved, n)` exported with full checks.
#pragma once
#include <napi.h>

#include <cstdint>

#include "args.h"

namespace lmkit {
namespace napi {

using UnaryFn = void (*)(float*, const float*, int64_t);
using UnaryBwFn = void (*)(float*, const float*, const float*, int64_t);

// <op>_forward(out, inp, n)
template <UnaryFn F>
Napi::Value UnaryForward(const Napi::CallbackInfo& info, const char* op) {
  Args a(info, op, 3);
  const int64_t n = a.dim(2, "n");
  float* out = a.f32(0, "out", n);
  const float* inp = a.f32(1, "inp", n);
  F(out, inp, n);
  return info.Env().Undefined();
}

// <op>_backward(dinp, dout, saved, n); `saved` names what the backward reads (inp or out).
template <UnaryBwFn F>
Napi::Value UnaryBackward(const Napi::CallbackInfo& info, const char* op, const char* saved) {
  Args a(info, op, 4);
  const int64_t n = a.dim(3, "n");
  float* dinp = a.f32(0, "dinp", n);
  const float* dout = a.f32(1, "dout", n);
  const float* s = a.f32(2, saved, n);
  F(dinp, dout, s, n);
  return info.Env().Undefined();
}

}  // namespace napi
}  // namespace lmkit
