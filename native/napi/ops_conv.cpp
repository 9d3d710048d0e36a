// Bindings of the conv family (native/cpu/conv.h).
#include <initializer_list>

#include "../cpu/conv.h"
#ifdef LMKIT_WITH_CUDA
#include "../cuda/conv.h"
#endif
#include "args.h"
#include "registry.h"

namespace lmkit {
namespace napi {
namespace {

// conv_forward(y, x, weight, bias, B, T, C, K)
Napi::Value ConvForward(const Napi::CallbackInfo& info) {
  Args a(info, "conv_forward", 8);
  LMKIT_CUDA_ALLOW(a);
  const int64_t B = a.dim(4, "B"), T = a.dim(5, "T"), C = a.dim(6, "C"), K = a.pdim(7, "K");
  const int64_t BTC = a.mul(B, T, C);
  float* y = a.f32(0, "y", BTC);
  const float* x = a.f32(1, "x", BTC);
  const float* weight = a.f32(2, "weight", a.mul(C, K));
  const float* bias = a.f32(3, "bias", C);
  if (BTC > 0) a.check_no_alias({y}, {y, x, weight, bias});
  LMKIT_CUDA_CALL(a, cuda::conv_forward(y, x, weight, bias, B, T, C, K));
  cpu::conv_forward(y, x, weight, bias, B, T, C, K);
  return info.Env().Undefined();
}

// conv_backward(dx, dweight | null, dbias | null, dy, x, weight, B, T, C, K)
Napi::Value ConvBackward(const Napi::CallbackInfo& info) {
  Args a(info, "conv_backward", 10);
  LMKIT_CUDA_ALLOW(a);
  const int64_t B = a.dim(6, "B"), T = a.dim(7, "T"), C = a.dim(8, "C"), K = a.pdim(9, "K");
  const int64_t BTC = a.mul(B, T, C);
  float* dx = a.f32(0, "dx", BTC);
  float* dweight = a.f32_opt(1, "dweight", a.mul(C, K));
  float* dbias = a.f32_opt(2, "dbias", C);
  const float* dy = a.f32(3, "dy", BTC);
  const float* x = a.f32(4, "x", BTC);
  const float* weight = a.f32(5, "weight", a.mul(C, K));
  if (BTC > 0 || C > 0) a.check_no_alias({dx, dweight, dbias}, {dx, dweight, dbias, dy, x, weight});
  LMKIT_CUDA_CALL(a, cuda::conv_backward(dx, dweight, dbias, dy, x, weight, B, T, C, K));
  cpu::conv_backward(dx, dweight, dbias, dy, x, weight, B, T, C, K);
  return info.Env().Undefined();
}

}  // namespace

LMKIT_REGISTER_OPS(conv, [](Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "conv_forward", ConvForward);
  export_fn(env, exports, "conv_backward", ConvBackward);
});

}  // namespace napi
}  // namespace lmkit
