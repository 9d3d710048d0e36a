// The addon's entry point: the Storage class, process-level functions (memory, threads,
// build info) and every op family that registered itself with LMKIT_REGISTER_OPS.
#include <napi.h>

#include <vector>

#include "../cpu/common.h"
#include "../cpu/threadpool.h"
#include "args.h"
#include "registry.h"
#include "storage.h"

namespace lmkit {
namespace napi {

namespace {
struct Entry {
  const char* family;
  RegisterFn fn;
};
std::vector<Entry>& entries() {
  static std::vector<Entry> v;
  return v;
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("storages", Napi::Number::New(info.Env(), static_cast<double>(Storage::live_count())));
  o.Set("bytes", Napi::Number::New(info.Env(), static_cast<double>(Storage::live_bytes())));
  o.Set("cachedBytes", Napi::Number::New(info.Env(), static_cast<double>(Storage::cached_bytes())));
  return o;
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  Storage::empty_cache();
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), num_threads()); }

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Args a(info, "setNumThreads", 1);
  int64_t n = a.integer(0, "n");
  if (n < 0 || n > 1024) a.range_error("n must be in [0, 1024] (0 restores the default)");
  set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}
}  // namespace

OpRegistrar::OpRegistrar(const char* family, RegisterFn fn) { entries().push_back({family, fn}); }

void register_all(Napi::Env env, Napi::Object exports) {
  Napi::Array families = Napi::Array::New(env);
  uint32_t k = 0;
  for (const Entry& e : entries()) {
    e.fn(env, exports);
    families.Set(k++, Napi::String::New(env, e.family));
  }
  exports.Set("families", families);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Storage", Storage::Init(env));
  export_fn(env, exports, "memory", Memory);
  export_fn(env, exports, "emptyCache", EmptyCache);
  export_fn(env, exports, "numThreads", GetNumThreads);
  export_fn(env, exports, "setNumThreads", SetNumThreads);
  exports.Set("backend", Napi::String::New(env, "cpu"));
  exports.Set("avx2", Napi::Boolean::New(env, cpu_has_avx2_fma()));
  register_all(env, exports);
  return exports;
}

}  // namespace napi
}  // namespace lmkit

static Napi::Object InitLmkit(Napi::Env env, Napi::Object exports) { return lmkit::napi::Init(env, exports); }

NODE_API_MODULE(lmkit, InitLmkit)
