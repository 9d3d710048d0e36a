// Bindings of the norm family (native/cpu/norm.h): LayerNorm and RMSNorm over the last
// dimension. x/out/dout/dinp are (N, C), weight/bias/dweight/dbias (C), mean/rstd (N).
// out may be the same storage as inp and dinp the same as dout; every other pair of
// storages must differ.
#include <cfloat>
#include <initializer_list>
#include <string>

#include "../cpu/norm.h"
#ifdef LMKIT_WITH_CUDA
#include "../cuda/norm.h"
#endif
#include "args.h"
#include "registry.h"

namespace lmkit {
namespace napi {
namespace {

float read_eps(const Args& a, size_t i) {
  const double eps = a.number(i, "eps");
  if (eps < 0.0 || eps > FLT_MAX) a.range_error("eps must be in [0, FLT_MAX], got " + std::to_string(eps));
  return static_cast<float>(eps);
}

// layernorm_forward(out, mean | null, rstd | null, inp, weight, bias | null, N, C, eps)
Napi::Value LayernormForward(const Napi::CallbackInfo& info) {
  Args a(info, "layernorm_forward", 9);
  LMKIT_CUDA_ALLOW(a);
  const int64_t N = a.dim(6, "N"), C = a.pdim(7, "C");
  const float eps = read_eps(a, 8);
  const int64_t NC = a.mul(N, C);
  float* out = a.f32(0, "out", NC);
  float* mean = a.f32_opt(1, "mean", N);
  float* rstd = a.f32_opt(2, "rstd", N);
  const float* inp = a.f32(3, "inp", NC);
  const float* weight = a.f32(4, "weight", C);
  const float* bias = a.f32_opt(5, "bias", C);
  a.check_distinct({{out, "out"}, {mean, "mean"}, {rstd, "rstd"}, {weight, "weight"}, {bias, "bias"}});
  a.check_distinct({{inp, "inp"}, {mean, "mean"}, {rstd, "rstd"}});
  LMKIT_CUDA_CALL(a, cuda::layernorm_forward(out, mean, rstd, inp, weight, bias, N, C, eps));
  cpu::layernorm_forward(out, mean, rstd, inp, weight, bias, N, C, eps);
  return info.Env().Undefined();
}

// layernorm_backward(dinp, dweight, dbias | null, dout, inp, weight, mean, rstd, N, C)
Napi::Value LayernormBackward(const Napi::CallbackInfo& info) {
  Args a(info, "layernorm_backward", 10);
  LMKIT_CUDA_ALLOW(a);
  const int64_t N = a.dim(8, "N"), C = a.pdim(9, "C");
  const int64_t NC = a.mul(N, C);
  float* dinp = a.f32(0, "dinp", NC);
  float* dweight = a.f32(1, "dweight", C);
  float* dbias = a.f32_opt(2, "dbias", C);
  const float* dout = a.f32(3, "dout", NC);
  const float* inp = a.f32(4, "inp", NC);
  const float* weight = a.f32(5, "weight", C);
  const float* mean = a.f32(6, "mean", N);
  const float* rstd = a.f32(7, "rstd", N);
  a.check_distinct({{dinp, "dinp"}, {dweight, "dweight"}, {dbias, "dbias"}, {inp, "inp"}, {weight, "weight"},
                     {mean, "mean"}, {rstd, "rstd"}});
  a.check_distinct({{dweight, "dweight"}, {dbias, "dbias"}, {dout, "dout"}});
  LMKIT_CUDA_CALL(a, cuda::layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C));
  cpu::layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
  return info.Env().Undefined();
}

// rmsnorm_forward(out, rstd | null, inp, weight, N, C, eps)
Napi::Value RmsnormForward(const Napi::CallbackInfo& info) {
  Args a(info, "rmsnorm_forward", 7);
  LMKIT_CUDA_ALLOW(a);
  const int64_t N = a.dim(4, "N"), C = a.pdim(5, "C");
  const float eps = read_eps(a, 6);
  const int64_t NC = a.mul(N, C);
  float* out = a.f32(0, "out", NC);
  float* rstd = a.f32_opt(1, "rstd", N);
  const float* inp = a.f32(2, "inp", NC);
  const float* weight = a.f32(3, "weight", C);
  a.check_distinct({{out, "out"}, {rstd, "rstd"}, {weight, "weight"}});
  a.check_distinct({{inp, "inp"}, {rstd, "rstd"}});
  LMKIT_CUDA_CALL(a, cuda::rmsnorm_forward(out, rstd, inp, weight, N, C, eps));
  cpu::rmsnorm_forward(out, rstd, inp, weight, N, C, eps);
  return info.Env().Undefined();
}

// rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, C)
Napi::Value RmsnormBackward(const Napi::CallbackInfo& info) {
  Args a(info, "rmsnorm_backward", 8);
  LMKIT_CUDA_ALLOW(a);
  const int64_t N = a.dim(6, "N"), C = a.pdim(7, "C");
  const int64_t NC = a.mul(N, C);
  float* dinp = a.f32(0, "dinp", NC);
  float* dweight = a.f32(1, "dweight", C);
  const float* dout = a.f32(2, "dout", NC);
  const float* inp = a.f32(3, "inp", NC);
  const float* weight = a.f32(4, "weight", C);
  const float* rstd = a.f32(5, "rstd", N);
  a.check_distinct({{dinp, "dinp"}, {dweight, "dweight"}, {inp, "inp"}, {weight, "weight"}, {rstd, "rstd"}});
  a.check_distinct({{dweight, "dweight"}, {dout, "dout"}});
  LMKIT_CUDA_CALL(a, cuda::rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, C));
  cpu::rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, C);
  return info.Env().Undefined();
}

}  // namespace

LMKIT_REGISTER_OPS(norm, [](Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "layernorm_forward", LayernormForward);
  export_fn(env, exports, "layernorm_backward", LayernormBackward);
  export_fn(env, exports, "rmsnorm_forward", RmsnormForward);
  export_fn(env, exports, "rmsnorm_backward", RmsnormBackward);
});

}  // namespace napi
}  // namespace lmkit
