// Bindings shared by the pointwise families (activations, elementwise): a unary kernel
// `F(out, inp, n)` and its backward `G(dinp, dout, saved, n)` exported with full checks.
#pragma once
#include <napi.h>

#include <cstdint>

#include "args.h"

#ifdef LMKIT_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace lmkit {
namespace napi {

using UnaryFn = void (*)(float*, const float*, int64_t);
using UnaryBwFn = void (*)(float*, const float*, const float*, int64_t);

// CUDA addon: the templates take the CUDA kernel as a second parameter (LMKIT_DEV(fn) in the
// callers, args.h, expands to `, cuda::fn` there and to nothing in the CPU-only build).
#ifdef LMKIT_WITH_CUDA
using CudaUnaryFn = cudaError_t (*)(float*, const float*, int64_t);
using CudaUnaryBwFn = cudaError_t (*)(float*, const float*, const float*, int64_t);
#define LMKIT_POINTWISE_TPARAMS(F, G, FT, GT) FT F, GT G = nullptr
#else
#define LMKIT_POINTWISE_TPARAMS(F, G, FT, GT) FT F
#endif

// <op>_forward(out, inp, n)
template <LMKIT_POINTWISE_TPARAMS(F, G, UnaryFn, CudaUnaryFn)>
Napi::Value UnaryForward(const Napi::CallbackInfo& info, const char* op) {
  Args a(info, op, 3);
#ifdef LMKIT_WITH_CUDA
  if (G != nullptr) a.allow_cuda();
#endif
  const int64_t n = a.dim(2, "n");
  float* out = a.f32(0, "out", n);
  const float* inp = a.f32(1, "inp", n);
#ifdef LMKIT_WITH_CUDA
  if (G != nullptr) LMKIT_CUDA_CALL(a, G(out, inp, n));
#endif
  F(out, inp, n);
  return info.Env().Undefined();
}

// <op>_backward(dinp, dout, saved, n); `saved` names what the backward reads (inp or out).
template <LMKIT_POINTWISE_TPARAMS(F, G, UnaryBwFn, CudaUnaryBwFn)>
Napi::Value UnaryBackward(const Napi::CallbackInfo& info, const char* op, const char* saved) {
  Args a(info, op, 4);
#ifdef LMKIT_WITH_CUDA
  if (G != nullptr) a.allow_cuda();
#endif
  const int64_t n = a.dim(3, "n");
  float* dinp = a.f32(0, "dinp", n);
  const float* dout = a.f32(1, "dout", n);
  const float* s = a.f32(2, saved, n);
#ifdef LMKIT_WITH_CUDA
  if (G != nullptr) LMKIT_CUDA_CALL(a, G(dinp, dout, s, n));
#endif
  F(dinp, dout, s, n);
  return info.Env().Undefined();
}

}  // namespace napi
}  // namespace lmkit
