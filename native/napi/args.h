// Argument checking for op bindings. Every exported op reads its arguments through an
// Args object; any mismatch throws a JS TypeError/RangeError whose message names the op
// and the argument, so a bad call never reaches a kernel.
//
//   Napi::Value EmbeddingForward(const Napi::CallbackInfo& info) {
//     Args a(info, "embedding_forward", 6);          // exactly 6 arguments
//     int64_t N = a.dim(3, "N"), V = a.dim(4, "V"), C = a.dim(5, "C");
//     float* out = a.f32(0, "out", a.mul(N, C));      // float32 storage of exactly N*C
//     const int32_t* ids = a.i32(1, "ids", N);
//     const float* table = a.f32(2, "table", a.mul(V, C));
//     a.check_ids(ids, N, V, "ids");                  // RangeError on an id outside [0, V)
//     cpu::embedding_forward(out, ids, table, N, V, C);
//     return info.Env().Undefined();
//   }
#pragma once
#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "../cpu/common.h"
#include "storage.h"

namespace lmkit {
namespace napi {

// Largest element count one tensor may have (2^40): keeps every size product in int64.
constexpr int64_t kMaxNumel = int64_t(1) << 40;

class Args {
 public:
  // nargs < 0: at least -nargs arguments (for optional trailing ones); kAnyArgs: no check.
  static constexpr int kAnyArgs = -(1 << 30);
  Args(const Napi::CallbackInfo& info, const char* op, int nargs);

  Napi::Env env() const { return info_.Env(); }
  size_t length() const { return info_.Length(); }
  bool has(size_t i) const { return i < info_.Length() && !info_[i].IsUndefined() && !info_[i].IsNull(); }

  // A non-negative integer size (0 <= v <= kMaxNumel).
  int64_t dim(size_t i, const char* name) const;
  // A strictly positive integer size.
  int64_t pdim(size_t i, const char* name) const;
  // Any integer (may be negative), e.g. ignore_index, seeds.
  int64_t integer(size_t i, const char* name) const;
  // A finite number.
  double number(size_t i, const char* name) const;
  // A number that may be non-finite.
  double any_number(size_t i, const char* name) const;
  bool boolean(size_t i, const char* name) const;

  // An array of at most `max_len` integers in [lo, hi], read into dst; returns its length.
  int int_array(size_t i, const char* name, int64_t* dst, int max_len, int64_t lo, int64_t hi) const;

  // Overflow-checked product of sizes (throws RangeError past kMaxNumel).
  int64_t mul(int64_t a, int64_t b) const;
  int64_t mul(int64_t a, int64_t b, int64_t c) const { return mul(mul(a, b), c); }
  int64_t mul(int64_t a, int64_t b, int64_t c, int64_t d) const { return mul(mul(a, b, c), d); }

  // A live Storage of the given dtype holding exactly `numel` elements.
  float* f32(size_t i, const char* name, int64_t numel) const;
  int32_t* i32(size_t i, const char* name, int64_t numel) const;
  // Same, but null/undefined is allowed and gives nullptr (optional outputs/inputs).
  float* f32_opt(size_t i, const char* name, int64_t numel) const;
  int32_t* i32_opt(size_t i, const char* name, int64_t numel) const;
  // A live Storage of any size/dtype (for ops that check sizes themselves).
  Storage* storage(size_t i, const char* name) const;

  // RangeError if any non-null pointer of `outs` appears more than once in `all` (outputs must
  // not alias each other or the inputs: kernels use __restrict).
  void check_no_alias(std::initializer_list<const void*> outs, std::initializer_list<const void*> all) const;

  // RangeError naming the two arguments if two non-null entries are the same storage.
  void check_distinct(std::initializer_list<std::pair<const void*, const char*>> named) const;

  // RangeError unless every ids[k] is in [0, limit). `ignore` values are skipped when allowed.
  void check_ids(const int32_t* ids, int64_t n, int64_t limit, const char* name) const;
  void check_ids_ignore(const int32_t* ids, int64_t n, int64_t limit, int64_t ignore, const char* name) const;

#ifdef LMKIT_WITH_CUDA
  // CUDA addon only (see docs/cuda.md). A binding that has a CUDA kernel calls allow_cuda()
  // (LMKIT_CUDA_ALLOW) before reading storages; the first storage read fixes the device of
  // the call and every later one must be on the same device (Error otherwise). A binding
  // without allow_cuda() refuses device storages with an Error that says so.
  void allow_cuda() { allow_cuda_ = true; }
  bool on_cuda() const { return dev_ == 1; }
  // Throws an Error naming the op when err (a cudaError_t) is not cudaSuccess.
  void check_cuda(int err) const;
  // Copies n int32/float elements of a device storage to the host (waits).
  void copy_to_host(void* dst, const void* src, int64_t n) const;
#endif

  [[noreturn]] void type_error(const std::string& msg) const;
  [[noreturn]] void range_error(const std::string& msg) const;
  [[noreturn]] void error(const std::string& msg) const;

 private:
  Storage* storage_checked(size_t i, const char* name, DType dt, int64_t numel, bool optional) const;
  const Napi::CallbackInfo& info_;
  const char* op_;
  // Denormals flush to zero for the span of the call (see native/cpu/common.h).
  FlushDenormals ftz_;
#ifdef LMKIT_WITH_CUDA
  bool allow_cuda_ = false;
  mutable int dev_ = -1;  // device of the storages read so far: -1 none yet, 0 cpu, 1 cuda
#endif
};

// Dispatch to a CUDA kernel in a binding (expand to nothing in the CPU-only build):
//   Args a(info, "relu_forward", 3);
//   LMKIT_CUDA_ALLOW(a);
//   ... read arguments ...
//   LMKIT_CUDA_CALL(a, cuda::relu_forward(out, inp, n));  // returns undefined when on cuda
//   cpu::relu_forward(out, inp, n);
#ifdef LMKIT_WITH_CUDA
#define LMKIT_CUDA_ALLOW(a) (a).allow_cuda()
#define LMKIT_CUDA_CALL(a, expr)                 \
  do {                                           \
    if ((a).on_cuda()) {                         \
      (a).check_cuda(static_cast<int>(expr));    \
      return (a).env().Undefined();              \
    }                                            \
  } while (0)
// `, cuda::fn` (an extra argument naming the CUDA kernel), or nothing in the CPU-only build.
#define LMKIT_DEV(fn) , cuda::fn
#else
#define LMKIT_DEV(fn)
#define LMKIT_CUDA_ALLOW(a) ((void)0)
#define LMKIT_CUDA_CALL(a, expr) ((void)0)
#endif

// Registers fn as exports[name].
void export_fn(Napi::Env env, Napi::Object exports, const char* name, Napi::Function::Callback fn);

}  // namespace napi
}  // namespace lmkit
