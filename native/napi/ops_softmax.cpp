// Bindings of the softmax family (native/cpu/softmax.h). All four take (N, C) row-major
// float32 storages; out may be the same storage as inp, dinp the same as dout.
#include "../cpu/softmax.h"
#ifdef LMKIT_WITH_CUDA
#include "../cuda/softmax.h"
#endif
#include "args.h"
#include "registry.h"

namespace lmkit {
namespace napi {
namespace {

using RowsFn = void (*)(float*, const float*, int64_t, int64_t);
using BwdFn = void (*)(float*, const float*, const float*, int64_t, int64_t);
#ifdef LMKIT_WITH_CUDA
using CudaRowsFn = cudaError_t (*)(float*, const float*, int64_t, int64_t);
using CudaBwdFn = cudaError_t (*)(float*, const float*, const float*, int64_t, int64_t);
#endif

// <op>_forward(out, inp, N, C)
#ifdef LMKIT_WITH_CUDA
Napi::Value Forward(const Napi::CallbackInfo& info, const char* op, RowsFn fn, CudaRowsFn dfn) {
#else
Napi::Value Forward(const Napi::CallbackInfo& info, const char* op, RowsFn fn) {
#endif
  Args a(info, op, 4);
  LMKIT_CUDA_ALLOW(a);
  const int64_t N = a.dim(2, "N"), C = a.dim(3, "C");
  const int64_t NC = a.mul(N, C);
  float* out = a.f32(0, "out", NC);
  const float* inp = a.f32(1, "inp", NC);
  LMKIT_CUDA_CALL(a, dfn(out, inp, N, C));
  fn(out, inp, N, C);
  return info.Env().Undefined();
}

// <op>_backward(dinp, dout, out, N, C): `out` is the forward's output.
#ifdef LMKIT_WITH_CUDA
Napi::Value Backward(const Napi::CallbackInfo& info, const char* op, BwdFn fn, CudaBwdFn dfn) {
#else
Napi::Value Backward(const Napi::CallbackInfo& info, const char* op, BwdFn fn) {
#endif
  Args a(info, op, 5);
  LMKIT_CUDA_ALLOW(a);
  const int64_t N = a.dim(3, "N"), C = a.dim(4, "C");
  const int64_t NC = a.mul(N, C);
  float* dinp = a.f32(0, "dinp", NC);
  const float* dout = a.f32(1, "dout", NC);
  const float* out = a.f32(2, "out", NC);
  LMKIT_CUDA_CALL(a, dfn(dinp, dout, out, N, C));
  fn(dinp, dout, out, N, C);
  return info.Env().Undefined();
}

Napi::Value SoftmaxForward(const Napi::CallbackInfo& info) {
  return Forward(info, "softmax_forward", cpu::softmax_forward LMKIT_DEV(softmax_forward));
}
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  return Backward(info, "softmax_backward", cpu::softmax_backward LMKIT_DEV(softmax_backward));
}
Napi::Value LogSoftmaxForward(const Napi::CallbackInfo& info) {
  return Forward(info, "log_softmax_forward", cpu::log_softmax_forward LMKIT_DEV(log_softmax_forward));
}
Napi::Value LogSoftmaxBackward(const Napi::CallbackInfo& info) {
  return Backward(info, "log_softmax_backward", cpu::log_softmax_backward LMKIT_DEV(log_softmax_backward));
}

}  // namespace

LMKIT_REGISTER_OPS(softmax, [](Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "softmax_forward", SoftmaxForward);
  export_fn(env, exports, "softmax_backward", SoftmaxBackward);
  export_fn(env, exports, "log_softmax_forward", LogSoftmaxForward);
  export_fn(env, exports, "log_softmax_backward", LogSoftmaxBackward);
});

}  // namespace napi
}  // namespace lmkit
