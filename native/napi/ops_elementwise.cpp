// Bindings of the `elementwise` family (native/cpu/elementwise.h).
#include <cmath>
#include <string>

#include "../cpu/elementwise.h"
#ifdef LMKIT_WITH_CUDA
#include "../cuda/elementwise.h"
#endif
#include "args.h"
#include "pointwise.h"
#include "registry.h"

namespace lmkit {
namespace napi {
namespace {

// binary_forward(op, out, a, b, shape, aStrides, bStrides)
Napi::Value BinaryForward(const Napi::CallbackInfo& info) {
  Args a(info, "binary_forward", 7);
  LMKIT_CUDA_ALLOW(a);
  if (!info[0].IsString()) a.type_error("op must be one of 'add', 'sub', 'mul', 'div'");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  cpu::BinaryOp op;
  if (name == "add") {
    op = cpu::BinaryOp::Add;
  } else if (name == "sub") {
    op = cpu::BinaryOp::Sub;
  } else if (name == "mul") {
    op = cpu::BinaryOp::Mul;
  } else if (name == "div") {
    op = cpu::BinaryOp::Div;
  } else {
    a.range_error("op must be one of 'add', 'sub', 'mul', 'div', got '" + name + "'");
  }
  int64_t shape[cpu::kMaxDims], sa[cpu::kMaxDims], sb[cpu::kMaxDims];
  const int nd = a.int_array(4, "shape", shape, cpu::kMaxDims, 0, kMaxNumel);
  if (a.int_array(5, "aStrides", sa, cpu::kMaxDims, 0, kMaxNumel) != nd) {
    a.range_error("aStrides must have one entry per dimension of shape");
  }
  if (a.int_array(6, "bStrides", sb, cpu::kMaxDims, 0, kMaxNumel) != nd) {
    a.range_error("bStrides must have one entry per dimension of shape");
  }
  int64_t total = 1;
  for (int d = 0; d < nd; ++d) total = a.mul(total, shape[d]);
  float* out = a.f32(1, "out", total);
  // Operands: every offset reached, sum of (shape[d]-1)*stride[d], must lie inside the storage.
  auto reach = [&](const int64_t* st) {
    int64_t r = 0;
    for (int d = 0; d < nd; ++d) r += a.mul(shape[d] - 1, st[d]);
    return r;
  };
  Storage* as = a.storage(2, "a");
  Storage* bs = a.storage(3, "b");
  if (as->dtype() != DType::F32) a.type_error(std::string("a must be float32, got ") + dtype_name(as->dtype()));
  if (bs->dtype() != DType::F32) a.type_error(std::string("b must be float32, got ") + dtype_name(bs->dtype()));
  if (total > 0) {
    const int64_t ra = reach(sa), rb = reach(sb);
    if (ra >= as->numel()) {
      a.range_error("a has " + std::to_string(as->numel()) + " elements, the strides reach element " +
                    std::to_string(ra));
    }
    if (rb >= bs->numel()) {
      a.range_error("b has " + std::to_string(bs->numel()) + " elements, the strides reach element " +
                    std::to_string(rb));
    }
  }
  LMKIT_CUDA_CALL(a, cuda::binary_forward(static_cast<cuda::BinaryOp>(static_cast<int>(op)), out,
                                          static_cast<const float*>(as->data()), static_cast<const float*>(bs->data()),
                                          nd, shape, sa, sb));
  cpu::binary_forward(op, out, static_cast<const float*>(as->data()), static_cast<const float*>(bs->data()), nd, shape,
                      sa, sb);
  return info.Env().Undefined();
}

// affine_forward(out, inp, n, alpha, beta)
Napi::Value AffineForward(const Napi::CallbackInfo& info) {
  Args a(info, "affine_forward", 5);
  LMKIT_CUDA_ALLOW(a);
  const int64_t n = a.dim(2, "n");
  float* out = a.f32(0, "out", n);
  const float* inp = a.f32(1, "inp", n);
  // Non-finite alpha / beta are allowed: x * Infinity is arithmetic, not a bad call.
  const float alpha = static_cast<float>(a.any_number(3, "alpha")), beta = static_cast<float>(a.any_number(4, "beta"));
  LMKIT_CUDA_CALL(a, cuda::affine_forward(out, inp, n, alpha, beta));
  cpu::affine_forward(out, inp, n, alpha, beta);
  return info.Env().Undefined();
}

// axpy(y, x, n, alpha): y += alpha * x
Napi::Value Axpy(const Napi::CallbackInfo& info) {
  Args a(info, "axpy", 4);
  LMKIT_CUDA_ALLOW(a);
  const int64_t n = a.dim(2, "n");
  float* y = a.f32(0, "y", n);
  const float* x = a.f32(1, "x", n);
  const float alpha = static_cast<float>(a.number(3, "alpha"));
  LMKIT_CUDA_CALL(a, cuda::axpy(y, x, n, alpha));
  cpu::axpy(y, x, n, alpha);
  return info.Env().Undefined();
}

Napi::Value ExpForward(const Napi::CallbackInfo& info) { return UnaryForward<cpu::exp_forward LMKIT_DEV(exp_forward)>(info, "exp_forward"); }
Napi::Value ExpBackward(const Napi::CallbackInfo& info) {
  return UnaryBackward<cpu::exp_backward LMKIT_DEV(exp_backward)>(info, "exp_backward", "out");
}
Napi::Value LogForward(const Napi::CallbackInfo& info) { return UnaryForward<cpu::log_forward LMKIT_DEV(log_forward)>(info, "log_forward"); }
Napi::Value LogBackward(const Napi::CallbackInfo& info) {
  return UnaryBackward<cpu::log_backward LMKIT_DEV(log_backward)>(info, "log_backward", "inp");
}
Napi::Value SqrtForward(const Napi::CallbackInfo& info) {
  return UnaryForward<cpu::sqrt_forward LMKIT_DEV(sqrt_forward)>(info, "sqrt_forward");
}
Napi::Value SqrtBackward(const Napi::CallbackInfo& info) {
  return UnaryBackward<cpu::sqrt_backward LMKIT_DEV(sqrt_backward)>(info, "sqrt_backward", "out");
}

// pow_scalar_forward(out, inp, n, p)
Napi::Value PowScalarForward(const Napi::CallbackInfo& info) {
  Args a(info, "pow_scalar_forward", 4);
  LMKIT_CUDA_ALLOW(a);
  const int64_t n = a.dim(2, "n");
  float* out = a.f32(0, "out", n);
  const float* inp = a.f32(1, "inp", n);
  const float p = static_cast<float>(a.number(3, "p"));
  LMKIT_CUDA_CALL(a, cuda::pow_scalar_forward(out, inp, n, p));
  cpu::pow_scalar_forward(out, inp, n, p);
  return info.Env().Undefined();
}

// pow_scalar_backward(dinp, dout, inp, n, p)
Napi::Value PowScalarBackward(const Napi::CallbackInfo& info) {
  Args a(info, "pow_scalar_backward", 5);
  LMKIT_CUDA_ALLOW(a);
  const int64_t n = a.dim(3, "n");
  float* dinp = a.f32(0, "dinp", n);
  const float* dout = a.f32(1, "dout", n);
  const float* inp = a.f32(2, "inp", n);
  const float p = static_cast<float>(a.number(4, "p"));
  LMKIT_CUDA_CALL(a, cuda::pow_scalar_backward(dinp, dout, inp, n, p));
  cpu::pow_scalar_backward(dinp, dout, inp, n, p);
  return info.Env().Undefined();
}

}  // namespace

LMKIT_REGISTER_OPS(elementwise, [](Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "binary_forward", BinaryForward);
  export_fn(env, exports, "affine_forward", AffineForward);
  export_fn(env, exports, "axpy", Axpy);
  export_fn(env, exports, "exp_forward", ExpForward);
  export_fn(env, exports, "exp_backward", ExpBackward);
  export_fn(env, exports, "log_forward", LogForward);
  export_fn(env, exports, "log_backward", LogBackward);
  export_fn(env, exports, "sqrt_forward", SqrtForward);
  export_fn(env, exports, "sqrt_backward", SqrtBackward);
  export_fn(env, exports, "pow_scalar_forward", PowScalarForward);
  export_fn(env, exports, "pow_scalar_backward", PowScalarBackward);
});

}  // namespace napi
}  // namespace lmkit
