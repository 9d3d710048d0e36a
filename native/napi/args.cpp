#include "args.h"

#include <cmath>
#include <sstream>

#ifdef LMKIT_WITH_CUDA
#include <vector>

#include "../cuda/runtime.h"
#endif

namespace lmkit {
namespace napi {

Args::Args(const Napi::CallbackInfo& info, const char* op, int nargs) : info_(info), op_(op) {
  const size_t n = info.Length();
  if (nargs >= 0 && n != static_cast<size_t>(nargs)) {
    type_error("expected " + std::to_string(nargs) + " arguments, got " + std::to_string(n));
  }
  if (nargs < 0 && nargs != kAnyArgs && n < static_cast<size_t>(-nargs)) {
    type_error("expected at least " + std::to_string(-nargs) + " arguments, got " + std::to_string(n));
  }
}

void Args::type_error(const std::string& msg) const {
  throw Napi::TypeError::New(info_.Env(), std::string(op_) + ": " + msg);
}
void Args::range_error(const std::string& msg) const {
  throw Napi::RangeError::New(info_.Env(), std::string(op_) + ": " + msg);
}
void Args::error(const std::string& msg) const {
  throw Napi::Error::New(info_.Env(), std::string(op_) + ": " + msg);
}

double Args::any_number(size_t i, const char* name) const {
  if (i >= info_.Length() || !info_[i].IsNumber()) type_error(std::string(name) + " must be a number");
  return info_[i].As<Napi::Number>().DoubleValue();
}

double Args::number(size_t i, const char* name) const {
  double v = any_number(i, name);
  if (!std::isfinite(v)) range_error(std::string(name) + " must be finite, got " + std::to_string(v));
  return v;
}

int64_t Args::integer(size_t i, const char* name) const {
  double v = number(i, name);
  if (v != std::floor(v) || std::fabs(v) > 9007199254740991.0) {
    range_error(std::string(name) + " must be an integer, got " + std::to_string(v));
  }
  return static_cast<int64_t>(v);
}

int64_t Args::dim(size_t i, const char* name) const {
  int64_t v = integer(i, name);
  if (v < 0) range_error(std::string(name) + " must be >= 0, got " + std::to_string(v));
  if (v > kMaxNumel) range_error(std::string(name) + " is too large: " + std::to_string(v));
  return v;
}

int64_t Args::pdim(size_t i, const char* name) const {
  int64_t v = dim(i, name);
  if (v == 0) range_error(std::string(name) + " must be > 0");
  return v;
}

bool Args::boolean(size_t i, const char* name) const {
  if (i >= info_.Length() || !info_[i].IsBoolean()) type_error(std::string(name) + " must be a boolean");
  return info_[i].As<Napi::Boolean>().Value();
}

int Args::int_array(size_t i, const char* name, int64_t* dst, int max_len, int64_t lo, int64_t hi) const {
  if (i >= info_.Length() || !info_[i].IsArray()) type_error(std::string(name) + " must be an array of integers");
  Napi::Array arr = info_[i].As<Napi::Array>();
  const uint32_t n = arr.Length();
  if (n > static_cast<uint32_t>(max_len)) {
    range_error(std::string(name) + " has " + std::to_string(n) + " entries; at most " + std::to_string(max_len) +
                " are supported");
  }
  for (uint32_t k = 0; k < n; ++k) {
    Napi::Value v = arr.Get(k);
    if (!v.IsNumber()) type_error(std::string(name) + "[" + std::to_string(k) + "] must be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d == std::floor(d)) || d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
      range_error(std::string(name) + "[" + std::to_string(k) + "] must be an integer in [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "], got " + std::to_string(d));
    }
    dst[k] = static_cast<int64_t>(d);
  }
  return static_cast<int>(n);
}

int64_t Args::mul(int64_t a, int64_t b) const {
  int64_t r;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r) || r > kMaxNumel) {
    range_error("size " + std::to_string(a) + " x " + std::to_string(b) + " is too large");
  }
  return r;
}

Storage* Args::storage(size_t i, const char* name) const {
  if (i >= info_.Length() || !info_[i].IsObject()) type_error(std::string(name) + " must be a tensor storage");
  Napi::Object o = info_[i].As<Napi::Object>();
  if (!o.InstanceOf(Storage::Constructor(info_.Env()))) type_error(std::string(name) + " must be a tensor storage");
  // An object that only inherits from Storage.prototype (Object.create) has no native
  // data: napi_unwrap fails on it. Check the status here instead of Storage::Unwrap, which
  // would throw a bare "Invalid argument" that names neither the op nor the argument.
  void* raw = nullptr;
  if (napi_unwrap(info_.Env(), o, &raw) != napi_ok || raw == nullptr) {
    type_error(std::string(name) + " must be a tensor storage");
  }
  Storage* s = static_cast<Storage*>(raw);
  if (s->disposed()) error(std::string(name) + " has been disposed");
#ifdef LMKIT_WITH_CUDA
  const int dev = s->on_cuda() ? 1 : 0;
  if (dev == 1 && !allow_cuda_) {
    error(std::string(name) + " is on the cuda device, but this op has no CUDA kernel yet (move the tensor with .to('cpu'))");
  }
  if (dev_ >= 0 && dev != dev_) {
    error(std::string(name) + " is on " + (dev ? "cuda" : "cpu") + " but an earlier argument is on " +
          (dev_ ? "cuda" : "cpu") + ": all tensors of one op must be on the same device");
  }
  dev_ = dev;
#endif
  return s;
}

Storage* Args::storage_checked(size_t i, const char* name, DType dt, int64_t numel, bool optional) const {
  if (optional && !has(i)) return nullptr;
  Storage* s = storage(i, name);
  if (s->dtype() != dt) {
    type_error(std::string(name) + " must be " + dtype_name(dt) + ", got " + dtype_name(s->dtype()));
  }
  if (s->numel() != numel) {
    range_error(std::string(name) + " must have " + std::to_string(numel) + " elements, got " +
                std::to_string(s->numel()));
  }
  return s;
}

float* Args::f32(size_t i, const char* name, int64_t numel) const {
  return static_cast<float*>(storage_checked(i, name, DType::F32, numel, false)->data());
}
int32_t* Args::i32(size_t i, const char* name, int64_t numel) const {
  return static_cast<int32_t*>(storage_checked(i, name, DType::I32, numel, false)->data());
}
float* Args::f32_opt(size_t i, const char* name, int64_t numel) const {
  Storage* s = storage_checked(i, name, DType::F32, numel, true);
  return s ? static_cast<float*>(s->data()) : nullptr;
}
int32_t* Args::i32_opt(size_t i, const char* name, int64_t numel) const {
  Storage* s = storage_checked(i, name, DType::I32, numel, true);
  return s ? static_cast<int32_t*>(s->data()) : nullptr;
}

void Args::check_no_alias(std::initializer_list<const void*> outs, std::initializer_list<const void*> all) const {
  for (const void* o : outs) {
    if (o == nullptr) continue;
    int same = 0;
    for (const void* p : all) same += (p == o);
    if (same > 1) range_error("output buffers must not alias each other or the inputs");
  }
}

void Args::check_distinct(std::initializer_list<std::pair<const void*, const char*>> named) const {
  for (auto i = named.begin(); i != named.end(); ++i) {
    if (i->first == nullptr) continue;
    for (auto j = i + 1; j != named.end(); ++j) {
      if (j->first == i->first) range_error(std::string(i->second) + " and " + j->second + " must be different storages");
    }
  }
}

#ifdef LMKIT_WITH_CUDA
void Args::check_cuda(int err) const {
  if (err != cudaSuccess) error(std::string("CUDA error: ") + cudaGetErrorString(static_cast<cudaError_t>(err)));
}
void Args::copy_to_host(void* dst, const void* src, int64_t n) const {
  check_cuda(cuda::memcpy_d2h(dst, src, static_cast<size_t>(n) * 4));
}
#endif

void Args::check_ids(const int32_t* ids, int64_t n, int64_t limit, const char* name) const {
#ifdef LMKIT_WITH_CUDA
  // Device ids are checked on a host copy (this waits for the stream).
  std::vector<int32_t> host;
  if (on_cuda() && n > 0) {
    host.resize(static_cast<size_t>(n));
    copy_to_host(host.data(), ids, n);
    ids = host.data();
  }
#endif
  for (int64_t k = 0; k < n; ++k) {
    if (ids[k] < 0 || ids[k] >= limit) {
      std::ostringstream m;
      m << name << "[" << k << "] = " << ids[k] << " is out of range [0, " << limit << ")";
      range_error(m.str());
    }
  }
}

void Args::check_ids_ignore(const int32_t* ids, int64_t n, int64_t limit, int64_t ignore, const char* name) const {
#ifdef LMKIT_WITH_CUDA
  std::vector<int32_t> host;
  if (on_cuda() && n > 0) {
    host.resize(static_cast<size_t>(n));
    copy_to_host(host.data(), ids, n);
    ids = host.data();
  }
#endif
  for (int64_t k = 0; k < n; ++k) {
    if (ids[k] == ignore) continue;
    if (ids[k] < 0 || ids[k] >= limit) {
      std::ostringstream m;
      m << name << "[" << k << "] = " << ids[k] << " is out of range [0, " << limit << ")"
        << " and is not the ignore index " << ignore;
      range_error(m.str());
    }
  }
}

void export_fn(Napi::Env env, Napi::Object exports, const char* name, Napi::Function::Callback fn) {
  exports.Set(name, Napi::Function::New(env, fn, name));
}

}  // namespace napi
}  // namespace lmkit
