// Bindings of the crossentropy family (native/cpu/crossentropy.h).
#include <limits>

#include "../cpu/crossentropy.h"
#ifdef LMKIT_WITH_CUDA
#include <vector>

#include "../cuda/crossentropy.h"
#endif
#include "args.h"
#include "registry.h"

namespace lmkit {
namespace napi {
namespace {

// Checks targets (each in [0, V) or == ignore) and counts the rows that are not ignored.
int64_t count_valid(const Args& a, const int32_t* targets, int64_t N, int64_t V, int64_t ignore) {
  a.check_ids_ignore(targets, N, V, ignore, "targets");
#ifdef LMKIT_WITH_CUDA
  std::vector<int32_t> host;  // device targets: count on a host copy (waits for the stream)
  if (a.on_cuda() && N > 0) {
    host.resize(static_cast<size_t>(N));
    a.copy_to_host(host.data(), targets, N);
    targets = host.data();
  }
#endif
  int64_t valid = 0;
  for (int64_t n = 0; n < N; ++n) valid += targets[n] != ignore;
  return valid;
}

int64_t read_ignore(const Args& a, size_t i) {
  const int64_t ig = a.integer(i, "ignoreIndex");
  if (ig < std::numeric_limits<int32_t>::min() || ig > std::numeric_limits<int32_t>::max()) {
    a.range_error("ignoreIndex must be an int32, got " + std::to_string(ig));
  }
  return ig;
}

// Sum (or mean over the valid rows) of losses; 0 when no row is valid.
double reduce(const Args& a, const float* losses, int64_t N, int64_t valid, bool mean) {
#ifdef LMKIT_WITH_CUDA
  std::vector<float> host;  // device losses: reduced on a host copy, in double as on CPU (waits)
  if (a.on_cuda() && N > 0) {
    host.resize(static_cast<size_t>(N));
    a.copy_to_host(host.data(), losses, N);
    losses = host.data();
  }
#else
  (void)a;
#endif
  double s = 0.0;
  for (int64_t n = 0; n < N; ++n) s += losses[n];
  if (!mean) return s;
  return valid > 0 ? s / static_cast<double>(valid) : 0.0;
}

// crossentropy_forward(losses, logits, targets, N, V, ignoreIndex, mean) -> reduced loss
Napi::Value CrossentropyForward(const Napi::CallbackInfo& info) {
  Args a(info, "crossentropy_forward", 7);
  LMKIT_CUDA_ALLOW(a);
  const int64_t N = a.dim(3, "N"), V = a.pdim(4, "V");
  const int64_t ignore = read_ignore(a, 5);
  const bool mean = a.boolean(6, "mean");
  float* losses = a.f32(0, "losses", N);
  const float* logits = a.f32(1, "logits", a.mul(N, V));
  const int32_t* targets = a.i32(2, "targets", N);
  if (N > 0 && losses == logits) a.range_error("losses must not alias logits");
  const int64_t valid = count_valid(a, targets, N, V, ignore);
#ifdef LMKIT_WITH_CUDA
  if (a.on_cuda()) {
    a.check_cuda(cuda::crossentropy_forward(losses, logits, targets, N, V, ignore));
  } else
#endif
  cpu::crossentropy_forward(losses, logits, targets, N, V, ignore);
  return Napi::Number::New(info.Env(), reduce(a, losses, N, valid, mean));
}

// crossentropy_forward_backward(losses, dlogits, logits, targets, N, V, ignoreIndex, mean, gradScale)
//   -> reduced loss. dlogits may be the logits storage itself (in place).
Napi::Value CrossentropyForwardBackward(const Napi::CallbackInfo& info) {
  Args a(info, "crossentropy_forward_backward", 9);
  LMKIT_CUDA_ALLOW(a);
  const int64_t N = a.dim(4, "N"), V = a.pdim(5, "V");
  const int64_t ignore = read_ignore(a, 6);
  const bool mean = a.boolean(7, "mean");
  const double grad_scale = a.number(8, "gradScale");
  float* losses = a.f32(0, "losses", N);
  float* dlogits = a.f32(1, "dlogits", a.mul(N, V));
  const float* logits = a.f32(2, "logits", a.mul(N, V));
  const int32_t* targets = a.i32(3, "targets", N);
  if (N > 0 && (losses == logits || losses == dlogits)) a.range_error("losses must not alias logits or dlogits");
  const int64_t valid = count_valid(a, targets, N, V, ignore);
  const double scale = mean ? (valid > 0 ? grad_scale / static_cast<double>(valid) : 0.0) : grad_scale;
#ifdef LMKIT_WITH_CUDA
  if (a.on_cuda()) {
    a.check_cuda(cuda::crossentropy_forward_backward(losses, dlogits, logits, targets, N, V, ignore,
                                                     static_cast<float>(scale)));
  } else
#endif
  cpu::crossentropy_forward_backward(losses, dlogits, logits, targets, N, V, ignore, static_cast<float>(scale));
  return Napi::Number::New(info.Env(), reduce(a, losses, N, valid, mean));
}

// crossentropy_backward(dlogits, n, upstream): dlogits *= upstream, in place.
Napi::Value CrossentropyBackward(const Napi::CallbackInfo& info) {
  Args a(info, "crossentropy_backward", 3);
  LMKIT_CUDA_ALLOW(a);
  const int64_t n = a.dim(1, "n");
  const double upstream = a.any_number(2, "upstream");
  float* dlogits = a.f32(0, "dlogits", n);
  LMKIT_CUDA_CALL(a, cuda::crossentropy_backward(dlogits, n, static_cast<float>(upstream)));
  cpu::crossentropy_backward(dlogits, n, static_cast<float>(upstream));
  return info.Env().Undefined();
}

}  // namespace

LMKIT_REGISTER_OPS(crossentropy, [](Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "crossentropy_forward", CrossentropyForward);
  export_fn(env, exports, "crossentropy_forward_backward", CrossentropyForwardBackward);
  export_fn(env, exports, "crossentropy_backward", CrossentropyBackward);
});

}  // namespace napi
}  // namespace lmkit
