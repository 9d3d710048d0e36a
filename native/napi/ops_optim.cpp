// Bindings of the optim family (native/cpu/optim.h): fused, in-place parameter updates.
// param, grad and the state buffers are float32 storages of n elements, all different.
#include <cfloat>
#include <initializer_list>
#include <string>

#include "../cpu/optim.h"
#include "args.h"
#include "registry.h"

namespace lmkit {
namespace napi {
namespace {

struct Named {
  const float* p;
  const char* name;
};

void check_distinct(const Args& a, std::initializer_list<Named> list) {
  for (auto i = list.begin(); i != list.end(); ++i) {
    if (i->p == nullptr) continue;
    for (auto j = i + 1; j != list.end(); ++j) {
      if (j->p == i->p) a.range_error(std::string(i->name) + " and " + j->name + " must be different storages");
    }
  }
}

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
  check_distinct(a, {{param, "param"}, {velocity, "velocity"}, {grad, "grad"}});
  cpu::sgd_step(param, velocity, grad, n, lr, momentum, wd, nesterov);
  return info.Env().Undefined();
}

// adamw_step(param, m, v, grad, n, lr, beta1, beta2, eps, weightDecay, step, decoupled)
Napi::Value AdamwStep(const Napi::CallbackInfo& info) {
  Args a(info, "adamw_step", 12);
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
  check_distinct(a, {{param, "param"}, {m, "m"}, {v, "v"}, {grad, "grad"}});
  cpu::adamw_step(param, m, v, grad, n, lr, beta1, beta2, eps, wd, step, decoupled);
  return info.Env().Undefined();
}

}  // namespace

LMKIT_REGISTER_OPS(optim, [](Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "sgd_step", SgdStep);
  export_fn(env, exports, "adamw_step", AdamwStep);
});

}  // namespace napi
}  // namespace lmkit
