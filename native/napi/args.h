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

  [[noreturn]] void type_error(const std::string& msg) const;
  [[noreturn]] void range_error(const std::string& msg) const;
  [[noreturn]] void error(const std::string& msg) const;

 private:
  Storage* storage_checked(size_t i, const char* name, DType dt, int64_t numel, bool optional) const;
  const Napi::CallbackInfo& info_;
  const char* op_;
  // Denormals flush to zero for the span of the call (see native/cpu/common.h).
  FlushDenormals ftz_;
};

// Registers fn as exports[name].
void export_fn(Napi::Env env, Napi::Object exports, const char* name, Napi::Function::Callback fn);

}  // namespace napi
}  // namespace lmkit
