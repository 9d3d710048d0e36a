// Bindings of the matmul family (native/cpu/matmul.h).
#include "../cpu/gemm.h"
#ifdef LMKIT_WITH_CUDA
#include "../cuda/matmul.h"
#endif
#include "../cpu/matmul.h"
#include "args.h"
#include "registry.h"

namespace lmkit {
namespace napi {
namespace {

struct MatmulSizes {
  int64_t batch, M, N, K;
  bool transA, transB;
};

// Arguments (from index `first`): batch, M, N, K, transA, transB.
MatmulSizes read_sizes(const Args& a, size_t first) {
  MatmulSizes s{};
  s.batch = a.dim(first, "batch");
  s.M = a.dim(first + 1, "M");
  s.N = a.dim(first + 2, "N");
  s.K = a.dim(first + 3, "K");
  s.transA = a.boolean(first + 4, "transA");
  s.transB = a.boolean(first + 5, "transB");
  return s;
}

// matmul_forward(out, a, b, batch, M, N, K, transA, transB)
Napi::Value MatmulForward(const Napi::CallbackInfo& info) {
  Args a(info, "matmul_forward", 9);
  LMKIT_CUDA_ALLOW(a);
  const MatmulSizes s = read_sizes(a, 3);
  float* out = a.f32(0, "out", a.mul(s.batch, s.M, s.N));
  const float* x = a.f32(1, "a", a.mul(s.batch, s.M, s.K));
  const float* w = a.f32(2, "b", a.mul(s.batch, s.K, s.N));
  if (out == x || out == w) a.range_error("out must not alias an input");
  LMKIT_CUDA_CALL(a, cuda::matmul_forward(out, x, w, s.batch, s.M, s.N, s.K, s.transA, s.transB));
  cpu::matmul_forward(out, x, w, s.batch, s.M, s.N, s.K, s.transA, s.transB);
  return info.Env().Undefined();
}

// matmul_backward(da | null, db | null, dout, a, b, batch, M, N, K, transA, transB, accumulate)
Napi::Value MatmulBackward(const Napi::CallbackInfo& info) {
  Args a(info, "matmul_backward", 12);
  LMKIT_CUDA_ALLOW(a);
  const MatmulSizes s = read_sizes(a, 5);
  const bool accumulate = a.boolean(11, "accumulate");
  float* da = a.f32_opt(0, "da", a.mul(s.batch, s.M, s.K));
  float* db = a.f32_opt(1, "db", a.mul(s.batch, s.K, s.N));
  const float* dout = a.f32(2, "dout", a.mul(s.batch, s.M, s.N));
  const float* x = a.f32(3, "a", a.mul(s.batch, s.M, s.K));
  const float* w = a.f32(4, "b", a.mul(s.batch, s.K, s.N));
  for (const float* g : {static_cast<const float*>(da), static_cast<const float*>(db)}) {
    if (g != nullptr && (g == dout || g == x || g == w)) a.range_error("gradient outputs must not alias inputs");
  }
  if (da != nullptr && da == db) a.range_error("da and db must be different storages");
  LMKIT_CUDA_CALL(a, accumulate ? cuda::matmul_backward_accumulate(da, db, dout, x, w, s.batch, s.M, s.N, s.K, s.transA,
                                                                     s.transB)
                                : cuda::matmul_backward(da, db, dout, x, w, s.batch, s.M, s.N, s.K, s.transA, s.transB));
  if (accumulate) {
    cpu::matmul_backward_accumulate(da, db, dout, x, w, s.batch, s.M, s.N, s.K, s.transA, s.transB);
  } else {
    cpu::matmul_backward(da, db, dout, x, w, s.batch, s.M, s.N, s.K, s.transA, s.transB);
  }
  return info.Env().Undefined();
}

Napi::Value SgemmBackend(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), cpu::sgemm_backend());
}

}  // namespace

LMKIT_REGISTER_OPS(matmul, [](Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "matmul_forward", MatmulForward);
  export_fn(env, exports, "matmul_backward", MatmulBackward);
  export_fn(env, exports, "sgemm_backend", SgemmBackend);
});

}  // namespace napi
}  // namespace lmkit
