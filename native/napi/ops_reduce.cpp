// Bindings of the `reduce` family (native/cpu/reduce.h).
#include <cmath>
#include <string>

#include "../cpu/elementwise.h"  // kMaxDims
#include "../cpu/reduce.h"
#ifdef LMKIT_WITH_CUDA
#include "../cuda/reduce.h"
#endif
#include "args.h"
#include "registry.h"

namespace lmkit {
namespace napi {
namespace {

// sum_axis_forward(out, inp, outer, R, inner, scale)
Napi::Value SumAxisForward(const Napi::CallbackInfo& info) {
  Args a(info, "sum_axis_forward", 6);
  LMKIT_CUDA_ALLOW(a);
  const int64_t outer = a.dim(2, "outer"), R = a.dim(3, "R"), inner = a.dim(4, "inner");
  float* out = a.f32(0, "out", a.mul(outer, inner));
  const float* inp = a.f32(1, "inp", a.mul(outer, R, inner));
  const float scale = static_cast<float>(a.number(5, "scale"));
  LMKIT_CUDA_CALL(a, cuda::sum_axis_forward(out, inp, outer, R, inner, scale));
  cpu::sum_axis_forward(out, inp, outer, R, inner, scale);
  return info.Env().Undefined();
}

// sum_axis_backward(dinp, dout, outer, R, inner, scale)
Napi::Value SumAxisBackward(const Napi::CallbackInfo& info) {
  Args a(info, "sum_axis_backward", 6);
  LMKIT_CUDA_ALLOW(a);
  const int64_t outer = a.dim(2, "outer"), R = a.dim(3, "R"), inner = a.dim(4, "inner");
  float* dinp = a.f32(0, "dinp", a.mul(outer, R, inner));
  const float* dout = a.f32(1, "dout", a.mul(outer, inner));
  const float scale = static_cast<float>(a.number(5, "scale"));
  LMKIT_CUDA_CALL(a, cuda::sum_axis_backward(dinp, dout, outer, R, inner, scale));
  cpu::sum_axis_backward(dinp, dout, outer, R, inner, scale);
  return info.Env().Undefined();
}

// max_axis_forward(out, idx, inp, outer, R, inner)
Napi::Value MaxAxisForward(const Napi::CallbackInfo& info) {
  Args a(info, "max_axis_forward", 6);
  LMKIT_CUDA_ALLOW(a);
  const int64_t outer = a.dim(3, "outer"), R = a.pdim(4, "R"), inner = a.dim(5, "inner");
  if (R > 2147483647) a.range_error("R must fit in int32 (the indices are int32)");
  float* out = a.f32(0, "out", a.mul(outer, inner));
  int32_t* idx = a.i32(1, "idx", a.mul(outer, inner));
  const float* inp = a.f32(2, "inp", a.mul(outer, R, inner));
  LMKIT_CUDA_CALL(a, cuda::max_axis_forward(out, idx, inp, outer, R, inner));
  cpu::max_axis_forward(out, idx, inp, outer, R, inner);
  return info.Env().Undefined();
}

// max_axis_backward(dinp, dout, idx, outer, R, inner)
Napi::Value MaxAxisBackward(const Napi::CallbackInfo& info) {
  Args a(info, "max_axis_backward", 6);
  LMKIT_CUDA_ALLOW(a);
  const int64_t outer = a.dim(3, "outer"), R = a.pdim(4, "R"), inner = a.dim(5, "inner");
  float* dinp = a.f32(0, "dinp", a.mul(outer, R, inner));
  const float* dout = a.f32(1, "dout", a.mul(outer, inner));
  const int32_t* idx = a.i32(2, "idx", a.mul(outer, inner));
  a.check_ids(idx, outer * inner, R, "idx");
  LMKIT_CUDA_CALL(a, cuda::max_axis_backward(dinp, dout, idx, outer, R, inner));
  cpu::max_axis_backward(dinp, dout, idx, outer, R, inner);
  return info.Env().Undefined();
}

// sum_to_shape(out, inp, inShape, outShape): outShape[d] is 1 or inShape[d].
Napi::Value SumToShape(const Napi::CallbackInfo& info) {
  Args a(info, "sum_to_shape", 4);
  LMKIT_CUDA_ALLOW(a);
  int64_t ish[cpu::kMaxDims], osh[cpu::kMaxDims];
  const int nd = a.int_array(2, "inShape", ish, cpu::kMaxDims, 0, kMaxNumel);
  if (a.int_array(3, "outShape", osh, cpu::kMaxDims, 0, kMaxNumel) != nd) {
    a.range_error("outShape must have as many dimensions as inShape");
  }
  int64_t nin = 1, nout = 1;
  for (int d = 0; d < nd; ++d) {
    if (osh[d] != 1 && osh[d] != ish[d]) {
      a.range_error("outShape[" + std::to_string(d) + "] = " + std::to_string(osh[d]) + " must be 1 or inShape[" +
                    std::to_string(d) + "] = " + std::to_string(ish[d]));
    }
    nin = a.mul(nin, ish[d]);
    nout = a.mul(nout, osh[d]);
  }
  float* out = a.f32(0, "out", nout);
  const float* inp = a.f32(1, "inp", nin);
  LMKIT_CUDA_CALL(a, cuda::sum_to_shape(out, inp, nd, ish, osh));
  cpu::sum_to_shape(out, inp, nd, ish, osh);
  return info.Env().Undefined();
}

}  // namespace

LMKIT_REGISTER_OPS(reduce, [](Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "sum_axis_forward", SumAxisForward);
  export_fn(env, exports, "sum_axis_backward", SumAxisBackward);
  export_fn(env, exports, "max_axis_forward", MaxAxisForward);
  export_fn(env, exports, "max_axis_backward", MaxAxisBackward);
  export_fn(env, exports, "sum_to_shape", SumToShape);
});

}  // namespace napi
}  // namespace lmkit
