// Bindings of the attention family (native/cpu/attention.h).
#include <initializer_list>
#include <memory>
#include <new>

#include "../cpu/attention.h"
#ifdef LMKIT_WITH_CUDA
#include "../cuda/attention.h"
#endif
#include "args.h"
#include "registry.h"

namespace lmkit {
namespace napi {
namespace {

struct AttnSizes {
  int64_t B, Tq, Tk, C, NH;
};

// Sizes at [first, first + 5): B, Tq, Tk, C, NH (NH > 0 divides C).
AttnSizes read_sizes(const Args& a, size_t first) {
  AttnSizes s{};
  s.B = a.dim(first, "B");
  s.Tq = a.dim(first + 1, "Tq");
  s.Tk = a.dim(first + 2, "Tk");
  s.C = a.dim(first + 3, "C");
  s.NH = a.pdim(first + 4, "NH");
  if (s.C % s.NH != 0) {
    a.range_error("C (" + std::to_string(s.C) + ") must be a multiple of NH (" + std::to_string(s.NH) + ")");
  }
  return s;
}

// attention_forward(out, probs, q, k, v, mask | null, B, Tq, Tk, C, NH, causal, scale)
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  Args a(info, "attention_forward", 13);
  LMKIT_CUDA_ALLOW(a);
  const AttnSizes s = read_sizes(a, 6);
  const bool causal = a.boolean(11, "causal");
  const double scale = a.number(12, "scale");
  const int64_t nq = a.mul(s.B, s.Tq, s.C), nk = a.mul(s.B, s.Tk, s.C);
  float* out = a.f32(0, "out", nq);
  float* probs = a.f32(1, "probs", a.mul(s.B, s.NH, a.mul(s.Tq, s.Tk)));
  const float* q = a.f32(2, "q", nq);
  const float* k = a.f32(3, "k", nk);
  const float* v = a.f32(4, "v", nk);
  const int32_t* mask = a.i32_opt(5, "mask", a.mul(s.B, s.Tk));
  if (mask) a.check_ids(mask, s.B * s.Tk, 2, "mask");  // values must be 0 or 1
  if (nq > 0 && nk > 0) a.check_no_alias({out, probs}, {out, probs, q, k, v});
  LMKIT_CUDA_CALL(a, cuda::attention_forward(out, probs, q, k, v, mask, s.B, s.Tq, s.Tk, s.C, s.NH, causal,
                                              static_cast<float>(scale)));
  cpu::attention_forward(out, probs, q, k, v, mask, s.B, s.Tq, s.Tk, s.C, s.NH, causal, static_cast<float>(scale));
  return info.Env().Undefined();
}

// attention_backward(dq, dk, dv, dout, q, k, v, probs, B, Tq, Tk, C, NH, scale)
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Args a(info, "attention_backward", 14);
  LMKIT_CUDA_ALLOW(a);
  const AttnSizes s = read_sizes(a, 8);
  const double scale = a.number(13, "scale");
  const int64_t nq = a.mul(s.B, s.Tq, s.C), nk = a.mul(s.B, s.Tk, s.C);
  float* dq = a.f32(0, "dq", nq);
  float* dk = a.f32(1, "dk", nk);
  float* dv = a.f32(2, "dv", nk);
  const float* dout = a.f32(3, "dout", nq);
  const float* q = a.f32(4, "q", nq);
  const float* k = a.f32(5, "k", nk);
  const float* v = a.f32(6, "v", nk);
  const float* probs = a.f32(7, "probs", a.mul(s.B, s.NH, a.mul(s.Tq, s.Tk)));
  if (nq > 0 && nk > 0) a.check_no_alias({dq, dk, dv}, {dq, dk, dv, dout, q, k, v, probs});
  LMKIT_CUDA_CALL(a, cuda::attention_backward(dq, dk, dv, dout, q, k, v, probs, s.B, s.Tq, s.Tk, s.C, s.NH,
                                               static_cast<float>(scale)));
  const int64_t ns = cpu::attention_backward_scratch_size(s.B, s.Tq, s.Tk, s.C, s.NH);
  std::unique_ptr<float[]> scratch(ns > 0 ? new (std::nothrow) float[static_cast<size_t>(ns)] : nullptr);
  if (ns > 0 && !scratch) a.error("out of memory allocating " + std::to_string(ns * 4) + " bytes of scratch");
  cpu::attention_backward(dq, dk, dv, dout, q, k, v, probs, scratch.get(), s.B, s.Tq, s.Tk, s.C, s.NH,
                          static_cast<float>(scale));
  return info.Env().Undefined();
}

}  // namespace

LMKIT_REGISTER_OPS(attention, [](Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "attention_forward", AttentionForward);
  export_fn(env, exports, "attention_backward", AttentionBackward);
});

}  // namespace napi
}  // namespace lmkit
