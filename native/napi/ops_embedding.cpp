// Bindings of the embedding family (native/cpu/embedding.h).
#include "../cpu/embedding.h"
#ifdef LMKIT_WITH_CUDA
#include "../cuda/embedding.h"
#endif
#include "args.h"
#include "registry.h"

namespace lmkit {
namespace napi {
namespace {

// embedding_forward(out, ids, table, N, V, C)
Napi::Value EmbeddingForward(const Napi::CallbackInfo& info) {
  Args a(info, "embedding_forward", 6);
  LMKIT_CUDA_ALLOW(a);
  const int64_t N = a.dim(3, "N"), V = a.pdim(4, "V"), C = a.dim(5, "C");
  float* out = a.f32(0, "out", a.mul(N, C));
  const int32_t* ids = a.i32(1, "ids", N);
  const float* table = a.f32(2, "table", a.mul(V, C));
  if (N * C > 0 && out == table) a.range_error("out must not alias table");
  a.check_ids(ids, N, V, "ids");
  LMKIT_CUDA_CALL(a, cuda::embedding_forward(out, ids, table, N, V, C));
  cpu::embedding_forward(out, ids, table, N, V, C);
  return info.Env().Undefined();
}

// embedding_backward(dtable, dout, ids, N, V, C): dtable += scatter_add(dout, ids)
Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  Args a(info, "embedding_backward", 6);
  LMKIT_CUDA_ALLOW(a);
  const int64_t N = a.dim(3, "N"), V = a.pdim(4, "V"), C = a.dim(5, "C");
  float* dtable = a.f32(0, "dtable", a.mul(V, C));
  const float* dout = a.f32(1, "dout", a.mul(N, C));
  const int32_t* ids = a.i32(2, "ids", N);
  if (N * C > 0 && dtable == dout) a.range_error("dtable must not alias dout");
  a.check_ids(ids, N, V, "ids");
  LMKIT_CUDA_CALL(a, cuda::embedding_backward(dtable, dout, ids, N, V, C));
  cpu::embedding_backward(dtable, dout, ids, N, V, C);
  return info.Env().Undefined();
}

}  // namespace

LMKIT_REGISTER_OPS(embedding, [](Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "embedding_forward", EmbeddingForward);
  export_fn(env, exports, "embedding_backward", EmbeddingBackward);
});

}  // namespace napi
}  // namespace lmkit
