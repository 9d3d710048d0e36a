// Bindings of the `shape` family (native/cpu/shape.h). Both ops move float32 or int32
// elements (dst and src of the same dtype).
#include <cmath>
#include <string>

#include "../cpu/elementwise.h"  // kMaxDims
#include "../cpu/shape.h"
#ifdef LMKIT_WITH_CUDA
#include "../cuda/shape.h"
#endif
#include "args.h"
#include "registry.h"

namespace lmkit {
namespace napi {
namespace {

void same_dtype(const Args& a, const Storage* dst, const char* dname, const Storage* src, const char* sname) {
  if (dst->dtype() != src->dtype()) {
    a.type_error(std::string(dname) + " is " + dtype_name(dst->dtype()) + " but " + sname + " is " +
                 dtype_name(src->dtype()));
  }
}

// permute(out, inp, shape, perm): shape is inp's shape.
Napi::Value Permute(const Napi::CallbackInfo& info) {
  Args a(info, "permute", 4);
  LMKIT_CUDA_ALLOW(a);
  int64_t shape[cpu::kMaxDims], perm[cpu::kMaxDims];
  const int nd = a.int_array(2, "shape", shape, cpu::kMaxDims, 0, kMaxNumel);
  if (a.int_array(3, "perm", perm, cpu::kMaxDims, 0, cpu::kMaxDims - 1) != nd) {
    a.range_error("perm must have one entry per dimension of shape");
  }
  bool seen[cpu::kMaxDims] = {false};
  for (int d = 0; d < nd; ++d) {
    if (perm[d] >= nd || seen[perm[d]]) a.range_error("perm must be a permutation of [0, " + std::to_string(nd) + ")");
    seen[perm[d]] = true;
  }
  int64_t total = 1;
  for (int d = 0; d < nd; ++d) total = a.mul(total, shape[d]);
  Storage* out = a.storage(0, "out");
  Storage* inp = a.storage(1, "inp");
  same_dtype(a, out, "out", inp, "inp");
  if (out == inp) a.error("out and inp must be different storages");
  for (const Storage* s : {out, inp}) {
    if (s->numel() != total) {
      a.range_error(std::string(s == out ? "out" : "inp") + " must have " + std::to_string(total) + " elements, got " +
                    std::to_string(s->numel()));
    }
  }
  LMKIT_CUDA_CALL(a, cuda::permute(out->data(), inp->data(), nd, shape, perm));
  cpu::permute(out->data(), inp->data(), nd, shape, perm);
  return info.Env().Undefined();
}

// copy_2d(dst, dstOffset, dstLd, src, srcOffset, srcLd, rows, cols):
// dst[dstOffset + r*dstLd + c] = src[srcOffset + r*srcLd + c].
Napi::Value Copy2d(const Napi::CallbackInfo& info) {
  Args a(info, "copy_2d", 8);
  LMKIT_CUDA_ALLOW(a);
  Storage* dst = a.storage(0, "dst");
  const int64_t doff = a.dim(1, "dstOffset"), dld = a.dim(2, "dstLd");
  Storage* src = a.storage(3, "src");
  const int64_t soff = a.dim(4, "srcOffset"), sld = a.dim(5, "srcLd");
  const int64_t rows = a.dim(6, "rows"), cols = a.dim(7, "cols");
  same_dtype(a, dst, "dst", src, "src");
  if (dst == src) a.error("dst and src must be different storages");
  if (rows > 0 && cols > 0) {
    auto check = [&](const Storage* s, const char* name, int64_t off, int64_t ld) {
      if (rows > 1 && ld < cols) {
        a.range_error(std::string(name) + "Ld = " + std::to_string(ld) + " is smaller than cols = " +
                      std::to_string(cols));
      }
      const int64_t last = off + a.mul(rows - 1, ld) + cols;  // one past the last element
      if (last > s->numel()) {
        a.range_error(std::string(name) + " has " + std::to_string(s->numel()) +
                      " elements, the block reaches element " + std::to_string(last - 1));
      }
    };
    check(dst, "dst", doff, dld);
    check(src, "src", soff, sld);
  } else {
    return info.Env().Undefined();
  }
  char* dp = static_cast<char*>(dst->data()) + doff * 4;
  const char* sp = static_cast<const char*>(src->data()) + soff * 4;
  LMKIT_CUDA_CALL(a, cuda::copy_2d(dp, dld, sp, sld, rows, cols));
  cpu::copy_2d(dp, dld, sp, sld, rows, cols);
  return info.Env().Undefined();
}

}  // namespace

LMKIT_REGISTER_OPS(shape, [](Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "permute", Permute);
  export_fn(env, exports, "copy_2d", Copy2d);
});

}  // namespace napi
}  // namespace lmkit
