// Bindings of the optim family (native/cpu/optim.h): fused, in-place parameter updates.
// param, grad and the state buffers are float32 storages of n elements, all different.
#include <cfloat>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "../cpu/optim.h"
#ifdef LMKIT_WITH_CUDA
#include "../cuda/optim.h"
#endif
#include "args.h"
#include "registry.h"

namespace lmkit {
namespace napi {
namespace {

// A finite float32 hyper-parameter in [lo, hi] (hi_open: [lo, hi)).
float hyper(const Args& a, size_t i, const char* name, double lo, double hi, bool hi_open = false) {
  const double v = a.number(i, name);
  if (v < lo || v > hi || (hi_open && v == hi)) {
    a.range_error(std::string(name) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                  (hi_open ? ")" : "]") + ", got " + std::to_string(v));
  }
  return static_cast<float>(v);
}

// sgd_step(param, velocity | null, grad, n, lr, momentum, weightDecay, nesterov)
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  Args a(info, "sgd_step", 8);
  LMKIT_CUDA_ALLOW(a);
  const int64_t n = a.dim(3, "n");
  const float lr = hyper(a, 4, "lr", 0.0, FLT_MAX);
  const float momentum = hyper(a, 5, "momentum", 0.0, FLT_MAX);
  const float wd = hyper(a, 6, "weightDecay", 0.0, FLT_MAX);
  const bool nesterov = a.boolean(7, "nesterov");
  float* param = a.f32(0, "param", n);
  float* velocity = a.f32_opt(1, "velocity", n);
  const float* grad = a.f32(2, "grad", n);
  if (momentum != 0.f && velocity == nullptr) a.range_error("momentum > 0 needs a velocity buffer");
  if (nesterov && momentum == 0.f) a.range_error("nesterov needs momentum > 0");
  a.check_distinct({{param, "param"}, {velocity, "velocity"}, {grad, "grad"}});
  LMKIT_CUDA_CALL(a, cuda::sgd_step(param, velocity, grad, n, lr, momentum, wd, nesterov));
  cpu::sgd_step(param, velocity, grad, n, lr, momentum, wd, nesterov);
  return info.Env().Undefined();
}

// adamw_step(param, m, v, grad, n, lr, beta1, beta2, eps, weightDecay, step, decoupled)
Napi::Value AdamwStep(const Napi::CallbackInfo& info) {
  Args a(info, "adamw_step", 12);
  LMKIT_CUDA_ALLOW(a);
  const int64_t n = a.dim(4, "n");
  const float lr = hyper(a, 5, "lr", 0.0, FLT_MAX);
  const float beta1 = hyper(a, 6, "beta1", 0.0, 1.0, true);
  const float beta2 = hyper(a, 7, "beta2", 0.0, 1.0, true);
  const float eps = hyper(a, 8, "eps", 0.0, FLT_MAX);
  const float wd = hyper(a, 9, "weightDecay", 0.0, FLT_MAX);
  const int64_t step = a.integer(10, "step");
  if (step < 1) a.range_error("step must be >= 1, got " + std::to_string(step));
  const bool decoupled = a.boolean(11, "decoupled");
  // beta1/beta2 just below 1 may round to 1.0f: keep the bias corrections non-zero.
  if (beta1 >= 1.f || beta2 >= 1.f) a.range_error("beta1 and beta2 must be < 1 in float32");
  float* param = a.f32(0, "param", n);
  float* m = a.f32(1, "m", n);
  float* v = a.f32(2, "v", n);
  const float* grad = a.f32(3, "grad", n);
  a.check_distinct({{param, "param"}, {m, "m"}, {v, "v"}, {grad, "grad"}});
  LMKIT_CUDA_CALL(a, cuda::adamw_step(param, m, v, grad, n, lr, beta1, beta2, eps, wd, step, decoupled));
  cpu::adamw_step(param, m, v, grad, n, lr, beta1, beta2, eps, wd, step, decoupled);
  return info.Env().Undefined();
}

// adafactor_step(param, row | null, col | null, v | null, grad, rows, cols, rho, beta2, eps1, eps2,
//                clip, weightDecay, scaleParameter)
// Factored: row (rows) and col (cols) given, v null. Unfactored: v (rows * cols) given, row/col null.
Napi::Value AdafactorStep(const Napi::CallbackInfo& info) {
  Args a(info, "adafactor_step", 14);
  LMKIT_CUDA_ALLOW(a);
  const int64_t rows = a.dim(5, "rows");
  const int64_t cols = a.dim(6, "cols");
  const int64_t n = a.mul(rows, cols);
  const float rho = hyper(a, 7, "rho", 0.0, FLT_MAX);
  const float beta2 = hyper(a, 8, "beta2", 0.0, 1.0, true);
  const float eps1 = hyper(a, 9, "eps1", 0.0, FLT_MAX);
  const float eps2 = hyper(a, 10, "eps2", 0.0, FLT_MAX);
  const float clip = hyper(a, 11, "clip", 0.0, FLT_MAX);
  const float wd = hyper(a, 12, "weightDecay", 0.0, FLT_MAX);
  const bool scale = a.boolean(13, "scaleParameter");
  if (!(clip > 0.f)) a.range_error("clip must be > 0");
  if (beta2 >= 1.f) a.range_error("beta2 must be < 1 in float32");
  if (!(eps1 > 0.f)) a.range_error("eps1 must be > 0 (and representable in float32)");
  float* param = a.f32(0, "param", n);
  float* row = a.f32_opt(1, "row", rows);
  float* col = a.f32_opt(2, "col", cols);
  float* v = a.f32_opt(3, "v", n);
  const float* grad = a.f32(4, "grad", n);
  const bool factored = row != nullptr || col != nullptr;
  if (factored && (row == nullptr || col == nullptr || v != nullptr)) {
    a.range_error("give either row and col (factored) or v (unfactored)");
  }
  if (!factored && v == nullptr) a.range_error("give either row and col (factored) or v (unfactored)");
  a.check_distinct({{param, "param"}, {row, "row"}, {col, "col"}, {v, "v"}, {grad, "grad"}});
  LMKIT_CUDA_CALL(a, cuda::adafactor_step(param, row, col, v, grad, rows, cols, rho, beta2, eps1, eps2, clip, wd, scale));
  cpu::adafactor_step(param, row, col, v, grad, rows, cols, rho, beta2, eps1, eps2, clip, wd, scale);
  return info.Env().Undefined();
}

// sophia_step(param, m, h, grad, n, lr, beta1, rho, weightDecay, bs, eps)
Napi::Value SophiaStep(const Napi::CallbackInfo& info) {
  Args a(info, "sophia_step", 11);
  LMKIT_CUDA_ALLOW(a);
  const int64_t n = a.dim(4, "n");
  const float lr = hyper(a, 5, "lr", 0.0, FLT_MAX);
  const float beta1 = hyper(a, 6, "beta1", 0.0, 1.0, true);
  const float rho = hyper(a, 7, "rho", 0.0, FLT_MAX);
  const float wd = hyper(a, 8, "weightDecay", 0.0, FLT_MAX);
  const float bs = hyper(a, 9, "bs", 0.0, FLT_MAX);
  const float eps = hyper(a, 10, "eps", 0.0, FLT_MAX);
  if (!(eps > 0.f)) a.range_error("eps must be > 0");
  float* param = a.f32(0, "param", n);
  float* m = a.f32(1, "m", n);
  const float* h = a.f32(2, "h", n);
  const float* grad = a.f32(3, "grad", n);
  a.check_distinct({{param, "param"}, {m, "m"}, {h, "h"}, {grad, "grad"}});
  LMKIT_CUDA_CALL(a, cuda::sophia_step(param, m, h, grad, n, lr, beta1, rho, wd, bs, eps));
  cpu::sophia_step(param, m, h, grad, n, lr, beta1, rho, wd, bs, eps);
  return info.Env().Undefined();
}

// sophia_hessian(h, ghat, n, beta2, scale)
Napi::Value SophiaHessian(const Napi::CallbackInfo& info) {
  Args a(info, "sophia_hessian", 5);
  LMKIT_CUDA_ALLOW(a);
  const int64_t n = a.dim(2, "n");
  const float beta2 = hyper(a, 3, "beta2", 0.0, 1.0, true);
  const float scale = hyper(a, 4, "scale", 0.0, FLT_MAX);
  float* h = a.f32(0, "h", n);
  const float* ghat = a.f32(1, "ghat", n);
  a.check_distinct({{h, "h"}, {ghat, "ghat"}});
  LMKIT_CUDA_CALL(a, cuda::sophia_hessian(h, ghat, n, beta2, scale));
  cpu::sophia_hessian(h, ghat, n, beta2, scale);
  return info.Env().Undefined();
}

// sample_labels(out int32 (N), logits (N, V), N, V, seed)
Napi::Value SampleLabels(const Napi::CallbackInfo& info) {
  Args a(info, "sample_labels", 5);
  LMKIT_CUDA_ALLOW(a);
  const int64_t N = a.dim(2, "N");
  const int64_t V = a.pdim(3, "V");
  const int64_t seed = a.integer(4, "seed");
  if (V > INT32_MAX) a.range_error("V must fit in int32");
  int32_t* out = a.i32(0, "out", N);
  const float* logits = a.f32(1, "logits", a.mul(N, V));
  LMKIT_CUDA_CALL(a, cuda::sample_labels(out, logits, N, V, static_cast<uint64_t>(seed)));
  cpu::sample_labels(out, logits, N, V, static_cast<uint64_t>(seed));
  return info.Env().Undefined();
}

}  // namespace

LMKIT_REGISTER_OPS(optim, [](Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "sgd_step", SgdStep);
  export_fn(env, exports, "adamw_step", AdamwStep);
  export_fn(env, exports, "adafactor_step", AdafactorStep);
  export_fn(env, exports, "sophia_step", SophiaStep);
  export_fn(env, exports, "sophia_hessian", SophiaHessian);
  export_fn(env, exports, "sample_labels", SampleLabels);
});

}  // namespace napi
}  // namespace lmkit
