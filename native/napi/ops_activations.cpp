// Bindings of the `activations` family (native/cpu/activations.h).
#include "../cpu/activations.h"
#include "args.h"
#include "registry.h"

namespace lmkit {
namespace napi {
namespace {

using ForwardFn = void (*)(float*, const float*, int64_t);
using BackwardFn = void (*)(float*, const float*, const float*, int64_t);

// <act>_forward(out, inp, n)
template <ForwardFn F>
Napi::Value Forward(const Napi::CallbackInfo& info, const char* op) {
  Args a(info, op, 3);
  const int64_t n = a.dim(2, "n");
  float* out = a.f32(0, "out", n);
  const float* inp = a.f32(1, "inp", n);
  F(out, inp, n);
  return info.Env().Undefined();
}

// <act>_backward(dinp, dout, saved, n); saved is `out` or `inp` (activations.h).
template <BackwardFn F>
Napi::Value Backward(const Napi::CallbackInfo& info, const char* op, const char* saved) {
  Args a(info, op, 4);
  const int64_t n = a.dim(3, "n");
  float* dinp = a.f32(0, "dinp", n);
  const float* dout = a.f32(1, "dout", n);
  const float* s = a.f32(2, saved, n);
  F(dinp, dout, s, n);
  return info.Env().Undefined();
}

#define LMKIT_ACT(name, saved)                                                            \
  Napi::Value name##Forward(const Napi::CallbackInfo& info) {                             \
    return Forward<cpu::name##_forward>(info, #name "_forward");                          \
  }                                                                                       \
  Napi::Value name##Backward(const Napi::CallbackInfo& info) {                            \
    return Backward<cpu::name##_backward>(info, #name "_backward", saved);                \
  }

LMKIT_ACT(tanh, "out")
LMKIT_ACT(sigmoid, "out")
LMKIT_ACT(relu, "inp")
LMKIT_ACT(gelu, "inp")
LMKIT_ACT(silu, "inp")
#undef LMKIT_ACT

}  // namespace

LMKIT_REGISTER_OPS(activations, [](Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "tanh_forward", tanhForward);
  export_fn(env, exports, "tanh_backward", tanhBackward);
  export_fn(env, exports, "sigmoid_forward", sigmoidForward);
  export_fn(env, exports, "sigmoid_backward", sigmoidBackward);
  export_fn(env, exports, "relu_forward", reluForward);
  export_fn(env, exports, "relu_backward", reluBackward);
  export_fn(env, exports, "gelu_forward", geluForward);
  export_fn(env, exports, "gelu_backward", geluBackward);
  export_fn(env, exports, "silu_forward", siluForward);
  export_fn(env, exports, "silu_backward", siluBackward);
});

}  // namespace napi
}  // namespace lmkit
