// Bindings of the dropout family (native/cpu/dropout.h). Tensors are flat float32 of n
// elements; the keep mask is an int32 storage of ceil(n / 32) words, one bit per element.
// out may be the same storage as inp, dinp the same as dout.
#include <string>

#include "../cpu/dropout.h"
#ifdef LMKIT_WITH_CUDA
#include "../cuda/dropout.h"
#endif
#include "args.h"
#include "registry.h"

namespace lmkit {
namespace napi {
namespace {

double read_p(const Args& a, size_t i) {
  const double p = a.number(i, "p");
  if (!(p >= 0.0 && p < 1.0)) a.range_error("p must be in [0, 1), got " + std::to_string(p));
  return p;
}

// dropout_forward(out, mask, inp, n, p, seed): seed is any integer (|seed| <= 2^53).
Napi::Value DropoutForward(const Napi::CallbackInfo& info) {
  Args a(info, "dropout_forward", 6);
  LMKIT_CUDA_ALLOW(a);
  const int64_t n = a.dim(3, "n");
  const double p = read_p(a, 4);
  const int64_t seed = a.integer(5, "seed");
  float* out = a.f32(0, "out", n);
  int32_t* mask = a.i32(1, "mask", cpu::dropout_mask_words(n));
  const float* inp = a.f32(2, "inp", n);
  LMKIT_CUDA_CALL(a, cuda::dropout_forward(out, reinterpret_cast<uint32_t*>(mask), inp, n, p, static_cast<uint64_t>(seed)));
  cpu::dropout_forward(out, reinterpret_cast<uint32_t*>(mask), inp, n, p, static_cast<uint64_t>(seed));
  return info.Env().Undefined();
}

// dropout_backward(dinp, dout, mask, n, p)
Napi::Value DropoutBackward(const Napi::CallbackInfo& info) {
  Args a(info, "dropout_backward", 5);
  LMKIT_CUDA_ALLOW(a);
  const int64_t n = a.dim(3, "n");
  const double p = read_p(a, 4);
  float* dinp = a.f32(0, "dinp", n);
  const float* dout = a.f32(1, "dout", n);
  const int32_t* mask = a.i32(2, "mask", cpu::dropout_mask_words(n));
  LMKIT_CUDA_CALL(a, cuda::dropout_backward(dinp, dout, reinterpret_cast<const uint32_t*>(mask), n, p));
  cpu::dropout_backward(dinp, dout, reinterpret_cast<const uint32_t*>(mask), n, p);
  return info.Env().Undefined();
}

}  // namespace

LMKIT_REGISTER_OPS(dropout, [](Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "dropout_forward", DropoutForward);
  export_fn(env, exports, "dropout_backward", DropoutBackward);
});

}  // namespace napi
}  // namespace lmkit
