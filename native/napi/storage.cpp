#include "storage.h"

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <climits>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>
#include <limits>
#include <memory>
#include <string>

#include <unistd.h>

#include "../cpu/threadpool.h"
#include "args.h"

#ifdef LMKIT_WITH_CUDA
#include "../cuda/elementwise.h"
#include "../cuda/runtime.h"
#endif

namespace lmkit {
namespace napi {

namespace {
std::atomic<int64_t> g_live_count{0};
std::atomic<int64_t> g_live_bytes{0};
#ifdef LMKIT_WITH_CUDA
std::atomic<int64_t> g_dev_count{0};
std::atomic<int64_t> g_dev_bytes{0};
#endif

size_t elem_size(DType) { return 4; }  // float32 and int32 are both 4 bytes

// LMKIT_POISON_EMPTY=1 fills uninitialised storages with NaN (the test suite sets it), so
// an op that reads memory it never wrote shows up as NaN instead of passing by luck.
bool poison_empty() {
  static const bool on = [] {
    const char* s = std::getenv("LMKIT_POISON_EMPTY");
    return s != nullptr && s[0] == '1';
  }();
  return on;
}

// Block sizes as allocated: 64-byte multiples below 64 KiB; from 64 KiB up, eight size classes
// per power of two (multiples of a power of two >= 4 KiB). A buffer that grows by a little each
// step -- a KV cache concatenated one token at a time -- then lands in the class of the block
// it freed the step before instead of filling the cache with sizes never asked for again. A
// block is at most 12.5% larger than asked; the pages past the request are not touched here.
size_t block_size(size_t bytes) {
  if (bytes == 0) bytes = 64;  // a live storage always has a non-null pointer
  if (bytes < (size_t(64) << 10)) return (bytes + 63) / 64 * 64;
  size_t top = size_t(64) << 10;
  while (top <= bytes / 2) top *= 2;  // top: the largest power of two <= bytes
  const size_t step = top / 8;
  return (bytes + step - 1) / step * step;
}

// Freed blocks of 64 KiB and more are kept for reuse, by exact block size, up to a bound
// (LMKIT_CACHE_MB, default 1024; 0 turns it off). A training step frees and allocates the
// same large activations every step; reusing them avoids returning pages to the kernel and
// faulting them in again (zeroed) on the next step.
class BlockCache {
 public:
  static BlockCache& get() {
    static BlockCache* c = new BlockCache();  // leaked: storages may be finalised at exit
    return *c;
  }
  void* take(size_t size) {
    if (size < kMin) return nullptr;
    std::lock_guard<std::mutex> lk(m_);
    auto it = free_.find(size);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    cached_ -= size;
    return p;
  }
  void give(void* p, size_t size) {
    if (size >= kMin) {
      std::lock_guard<std::mutex> lk(m_);
      if (cached_ + size <= limit_) {
        free_[size].push_back(p);
        cached_ += size;
        return;
      }
    }
    std::free(p);
  }
  void clear() {
    std::lock_guard<std::mutex> lk(m_);
    for (auto& kv : free_) {
      for (void* p : kv.second) std::free(p);
    }
    free_.clear();
    cached_ = 0;
  }
  size_t cached() {
    std::lock_guard<std::mutex> lk(m_);
    return cached_;
  }

 private:
  BlockCache() {
    long mb = 1024;
    if (const char* s = std::getenv("LMKIT_CACHE_MB")) mb = std::strtol(s, nullptr, 10);
    limit_ = mb > 0 ? static_cast<size_t>(mb) << 20 : 0;
  }
  static constexpr size_t kMin = size_t(64) << 10;
  std::mutex m_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0;
  size_t limit_ = 0;
};

void* alloc_storage(size_t bytes, bool zero, DType dt) {
  const size_t rounded = block_size(bytes);
  void* p = BlockCache::get().take(rounded);
  if (p == nullptr) p = std::aligned_alloc(64, rounded);
  if (p == nullptr) {
    BlockCache::get().clear();  // memory is short: give back what is cached, try once more
    p = std::aligned_alloc(64, rounded);
  }
  if (p == nullptr) return nullptr;
  if (zero) {
    std::memset(p, 0, bytes);
  } else if (poison_empty()) {
    if (dt == DType::F32) {
      float* f = static_cast<float*>(p);
      for (size_t k = 0; k < rounded / 4; ++k) f[k] = std::numeric_limits<float>::quiet_NaN();
    } else {
      std::memset(p, 0xA5, rounded);
    }
  }
  return p;
}
void free_storage(void* p, size_t bytes) { BlockCache::get().give(p, block_size(bytes)); }
}  // namespace

int64_t Storage::cached_bytes() { return static_cast<int64_t>(BlockCache::get().cached()); }
void Storage::empty_cache() { BlockCache::get().clear(); }

// MemAvailable from /proc/meminfo (Linux), else physical memory; 0 if unknown.
size_t available_memory() {
  if (FILE* f = std::fopen("/proc/meminfo", "r")) {
    char line[256];
    unsigned long long kb = 0;
    while (std::fgets(line, sizeof line, f) != nullptr) {
      if (std::sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    }
    std::fclose(f);
    if (kb > 0) return static_cast<size_t>(kb) * 1024;
  }
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  return pages > 0 && page_size > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page_size) : 0;
}

const char* dtype_name(DType d) { return d == DType::F32 ? "float32" : "int32"; }

// Native bytes are reported to V8 (napi_adjust_external_memory) so that its garbage
// collector weighs tensors that are left to it, but coarsely: only when this environment's
// live bytes have moved by kReportStep since the last report. A training step allocates and
// frees ~100 MB of activations; reporting each of them made V8 start a full mark-compact of
// the whole heap every step or two (its background threads then took the cores from the
// kernels: 2.5x slower steps with the Brown corpus loaded).
struct ExternalMemory {
  static constexpr int64_t kReportStep = int64_t(256) << 20;
  int64_t live = 0;      // bytes held by this environment's storages
  int64_t reported = 0;  // bytes V8 has been told about
  void change(napi_env env, int64_t delta) {
    live += delta;
    if (live > reported + kReportStep || live < reported - kReportStep) {
      int64_t ignored;
      napi_adjust_external_memory(env, live - reported, &ignored);
      reported = live;
    }
  }
};

namespace {
// Per-environment data: each Node thread (main or worker) that loads the addon gets its own.
struct AddonData {
  Napi::FunctionReference storage_ctor;
  std::shared_ptr<ExternalMemory> memory = std::make_shared<ExternalMemory>();
};
}  // namespace

Napi::Function Storage::Constructor(Napi::Env env) { return env.GetInstanceData<AddonData>()->storage_ctor.Value(); }

int64_t Storage::live_count() { return g_live_count.load(); }
int64_t Storage::live_bytes() { return g_live_bytes.load(); }
#ifdef LMKIT_WITH_CUDA
int64_t Storage::device_live_count() { return g_dev_count.load(); }
int64_t Storage::device_live_bytes() { return g_dev_bytes.load(); }

namespace {
// Throws a JS Error naming the call when a CUDA runtime call failed.
void check_cuda(const Args& a, cudaError_t e) {
  if (e != cudaSuccess) a.error(std::string("CUDA error: ") + cudaGetErrorString(e));
}
}  // namespace
#endif

Napi::Function Storage::Init(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "Storage",
                                  {
                                      InstanceMethod("dispose", &Storage::Dispose),
                                      InstanceMethod("write", &Storage::Write),
                                      InstanceMethod("read", &Storage::Read),
                                      InstanceMethod("readInto", &Storage::ReadInto),
                                      InstanceMethod("fill", &Storage::Fill),
                                      InstanceMethod("copyFrom", &Storage::CopyFrom),
                                      InstanceMethod("addFrom", &Storage::AddFrom),
                                      InstanceMethod("scale", &Storage::Scale),
                                      InstanceAccessor("dtype", &Storage::GetDType, nullptr),
                                      InstanceAccessor("numel", &Storage::GetNumel, nullptr),
                                      InstanceAccessor("bytes", &Storage::GetBytes, nullptr),
                                      InstanceAccessor("disposed", &Storage::GetDisposed, nullptr),
#ifdef LMKIT_WITH_CUDA
                                      InstanceAccessor("device", &Storage::GetDevice, nullptr),
                                      InstanceMethod("devicePointer", &Storage::DevicePointer),
#endif
                                  });
  auto* data = new AddonData();
  data->storage_ctor = Napi::Persistent(fn);
  env.SetInstanceData<AddonData>(data);  // freed by Node when the environment ends
  return fn;
}

Storage::Storage(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Storage>(info) {
  Args a(info, "Storage", -2);
  if (!info[0].IsString()) a.type_error("dtype must be 'float32' or 'int32'");
  std::string dt = info[0].As<Napi::String>().Utf8Value();
  if (dt == "float32") {
    dtype_ = DType::F32;
  } else if (dt == "int32") {
    dtype_ = DType::I32;
  } else {
    a.type_error("dtype must be 'float32' or 'int32', got '" + dt + "'");
  }
  numel_ = a.dim(1, "numel");
  const size_t bytes = static_cast<size_t>(numel_) * elem_size(dtype_);
  const bool zero = a.has(2) ? a.boolean(2, "zero") : true;
#ifdef LMKIT_WITH_CUDA
  if (a.has(3)) {
    if (!info[3].IsString()) a.type_error("device must be 'cpu' or 'cuda'");
    const std::string dev = info[3].As<Napi::String>().Utf8Value();
    if (dev == "cuda") {
      cuda_ = true;
    } else if (dev != "cpu") {
      a.type_error("device must be 'cpu' or 'cuda', got '" + dev + "'");
    }
  }
  if (cuda_) {
    void* p = nullptr;
    check_cuda(a, cuda::malloc_async(&p, bytes));
    cudaError_t e = cudaSuccess;
    if (zero) {
      e = cuda::memset_async(p, 0, bytes);
    } else if (poison_empty()) {
      e = cuda::fill32(p, dtype_ == DType::F32 ? 0x7FC00000u : 0xA5A5A5A5u, numel_);
    }
    if (e != cudaSuccess) {
      cuda::free_async(p);
      check_cuda(a, e);
    }
    data_ = p;
    env_ = info.Env();
    memory_ = info.Env().GetInstanceData<AddonData>()->memory;
    g_dev_count.fetch_add(1);
    g_dev_bytes.fetch_add(static_cast<int64_t>(bytes));
    return;
  }
#endif
  // One block larger than the memory available now would only get the process killed by
  // the kernel's OOM killer when its pages are touched: refuse it with an error instead.
  const size_t avail = bytes >= (size_t(256) << 20) ? available_memory() : 0;
  if (avail > 0 && bytes > avail) {
    a.range_error("cannot allocate " + std::to_string(bytes) + " bytes: only " + std::to_string(avail) +
                  " bytes of memory are available");
  }
  data_ = alloc_storage(bytes, zero, dtype_);
  if (data_ == nullptr) {
    a.range_error("cannot allocate " + std::to_string(bytes) + " bytes of host memory");
  }
  env_ = info.Env();
  memory_ = info.Env().GetInstanceData<AddonData>()->memory;
  g_live_count.fetch_add(1);
  g_live_bytes.fetch_add(static_cast<int64_t>(bytes));
  memory_->change(env_, static_cast<int64_t>(bytes));
}

// Adjusting external memory from a finalizer is allowed (no JS is run).
Storage::~Storage() { release(env_); }

void Storage::release(napi_env env) {
  if (data_ == nullptr) return;
  const int64_t bytes = numel_ * static_cast<int64_t>(elem_size(dtype_));
#ifdef LMKIT_WITH_CUDA
  if (cuda_) {
    cuda::free_async(data_);  // an error here (e.g. at process exit) cannot be reported
    data_ = nullptr;
    g_dev_count.fetch_sub(1);
    g_dev_bytes.fetch_sub(bytes);
    return;
  }
#endif
  free_storage(data_, static_cast<size_t>(bytes));
  data_ = nullptr;
  g_live_count.fetch_sub(1);
  g_live_bytes.fetch_sub(bytes);
  memory_->change(env, -bytes);
}

Napi::Value Storage::Dispose(const Napi::CallbackInfo& info) {
  release(info.Env());
  return info.Env().Undefined();
}

Napi::Value Storage::Write(const Napi::CallbackInfo& info) {
  Args a(info, "Storage.write", -1);
  if (disposed()) a.error("storage has been disposed");
  if (!info[0].IsTypedArray()) a.type_error("data must be a Float32Array or Int32Array");
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  const napi_typedarray_type want = dtype_ == DType::F32 ? napi_float32_array : napi_int32_array;
  if (ta.TypedArrayType() != want) {
    a.type_error(std::string("data must be a ") + (dtype_ == DType::F32 ? "Float32Array" : "Int32Array") +
                 " for a " + dtype_name(dtype_) + " storage");
  }
  const int64_t offset = a.has(1) ? a.dim(1, "offset") : 0;
  const int64_t n = static_cast<int64_t>(ta.ElementLength());
  if (offset > numel_ || n > numel_ - offset) {
    a.range_error("writing " + std::to_string(n) + " elements at offset " + std::to_string(offset) +
                  " overflows a storage of " + std::to_string(numel_));
  }
  const uint8_t* src = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
#ifdef LMKIT_WITH_CUDA
  if (cuda_) {
    check_cuda(a, cuda::memcpy_h2d(static_cast<uint8_t*>(data_) + offset * 4, src, static_cast<size_t>(n) * 4));
    return info.Env().Undefined();
  }
#endif
  if (n > 0) std::memcpy(static_cast<uint8_t*>(data_) + offset * 4, src, static_cast<size_t>(n) * 4);
  return info.Env().Undefined();
}

Napi::Value Storage::Read(const Napi::CallbackInfo& info) {
  Args a(info, "Storage.read", Args::kAnyArgs);
  if (disposed()) a.error("storage has been disposed");
  const int64_t offset = a.has(0) ? a.dim(0, "offset") : 0;
  if (offset > numel_) a.range_error("offset " + std::to_string(offset) + " is past the end");
  const int64_t count = a.has(1) ? a.dim(1, "count") : numel_ - offset;
  if (count > numel_ - offset) a.range_error("reading " + std::to_string(count) + " elements overflows");
  Napi::Env env = info.Env();
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, static_cast<size_t>(count) * 4);
#ifdef LMKIT_WITH_CUDA
  if (cuda_) {
    check_cuda(a, cuda::memcpy_d2h(buf.Data(), static_cast<uint8_t*>(data_) + offset * 4, static_cast<size_t>(count) * 4));
  } else
#endif
  if (count > 0) std::memcpy(buf.Data(), static_cast<uint8_t*>(data_) + offset * 4, static_cast<size_t>(count) * 4);
  if (dtype_ == DType::F32) return Napi::Float32Array::New(env, static_cast<size_t>(count), buf, 0);
  return Napi::Int32Array::New(env, static_cast<size_t>(count), buf, 0);
}

// readInto(dst, dstOffset = 0): copies the whole storage into dst at dstOffset (elements), with
// no allocation (lib/dist's gradient buckets reuse one buffer).
Napi::Value Storage::ReadInto(const Napi::CallbackInfo& info) {
  Args a(info, "Storage.readInto", -1);
  if (disposed()) a.error("storage has been disposed");
  if (!info[0].IsTypedArray()) a.type_error("dst must be a Float32Array or Int32Array");
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  const napi_typedarray_type want = dtype_ == DType::F32 ? napi_float32_array : napi_int32_array;
  if (ta.TypedArrayType() != want) {
    a.type_error(std::string("dst must be a ") + (dtype_ == DType::F32 ? "Float32Array" : "Int32Array") + " for a " +
                 dtype_name(dtype_) + " storage");
  }
  const int64_t offset = a.has(1) ? a.dim(1, "dstOffset") : 0;
  const int64_t room = static_cast<int64_t>(ta.ElementLength());
  if (offset > room || numel_ > room - offset) {
    a.range_error("reading " + std::to_string(numel_) + " elements at offset " + std::to_string(offset) + " overflows dst of " +
                  std::to_string(room));
  }
  uint8_t* dst = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset() + offset * 4;
#ifdef LMKIT_WITH_CUDA
  if (cuda_) {
    check_cuda(a, cuda::memcpy_d2h(dst, data_, static_cast<size_t>(numel_) * 4));
    return info.Env().Undefined();
  }
#endif
  if (numel_ > 0) std::memcpy(dst, data_, static_cast<size_t>(numel_) * 4);
  return info.Env().Undefined();
}

Napi::Value Storage::Fill(const Napi::CallbackInfo& info) {
  Args a(info, "Storage.fill", 1);
  if (disposed()) a.error("storage has been disposed");
#ifdef LMKIT_WITH_CUDA
  if (cuda_) {
    uint32_t bits;
    if (dtype_ == DType::F32) {
      const float v = static_cast<float>(a.any_number(0, "value"));
      std::memcpy(&bits, &v, 4);
    } else {
      const int64_t v = a.integer(0, "value");
      if (v < INT32_MIN || v > INT32_MAX) a.range_error("value does not fit in int32");
      const int32_t i = static_cast<int32_t>(v);
      std::memcpy(&bits, &i, 4);
    }
    check_cuda(a, cuda::fill32(data_, bits, numel_));
    return info.Env().Undefined();
  }
#endif
  if (dtype_ == DType::F32) {
    const float v = static_cast<float>(a.any_number(0, "value"));
    float* p = static_cast<float*>(data_);
    for (int64_t k = 0; k < numel_; ++k) p[k] = v;
  } else {
    const int64_t v = a.integer(0, "value");
    if (v < INT32_MIN || v > INT32_MAX) a.range_error("value does not fit in int32");
    int32_t* p = static_cast<int32_t*>(data_);
    for (int64_t k = 0; k < numel_; ++k) p[k] = static_cast<int32_t>(v);
  }
  return info.Env().Undefined();
}

Napi::Value Storage::CopyFrom(const Napi::CallbackInfo& info) {
  Args a(info, "Storage.copyFrom", 1);
#ifdef LMKIT_WITH_CUDA
  a.allow_cuda();
#endif
  if (disposed()) a.error("storage has been disposed");
  Storage* src = a.storage(0, "source");
  if (src->dtype_ != dtype_ || src->numel_ != numel_) {
    a.range_error(std::string("source is ") + dtype_name(src->dtype_) + "[" + std::to_string(src->numel_) +
                  "], destination is " + dtype_name(dtype_) + "[" + std::to_string(numel_) + "]");
  }
#ifdef LMKIT_WITH_CUDA
  // Any pair of devices: this is how Tensor.to('cuda' | 'cpu') moves data.
  if (src != this && numel_ > 0 && (cuda_ || src->cuda_)) {
    const size_t nb = static_cast<size_t>(numel_) * 4;
    if (cuda_ && src->cuda_) {
      check_cuda(a, cuda::memcpy_d2d(data_, src->data_, nb));
    } else if (cuda_) {
      check_cuda(a, cuda::memcpy_h2d(data_, src->data_, nb));
    } else {
      check_cuda(a, cuda::memcpy_d2h(data_, src->data_, nb));
    }
    return info.Env().Undefined();
  }
#endif
  if (src != this && numel_ > 0) std::memcpy(data_, src->data_, static_cast<size_t>(numel_) * 4);
  return info.Env().Undefined();
}

Napi::Value Storage::AddFrom(const Napi::CallbackInfo& info) {
  Args a(info, "Storage.addFrom", -1);
#ifdef LMKIT_WITH_CUDA
  a.allow_cuda();
#endif
  if (disposed()) a.error("storage has been disposed");
  Storage* src = a.storage(0, "source");
  if (dtype_ != DType::F32 || src->dtype_ != DType::F32) a.type_error("addFrom needs float32 storages");
  if (src->numel_ != numel_) {
    a.range_error("source has " + std::to_string(src->numel_) + " elements, destination " + std::to_string(numel_));
  }
  const float alpha = a.has(1) ? static_cast<float>(a.number(1, "alpha")) : 1.0f;
#ifdef LMKIT_WITH_CUDA
  if (cuda_ != src->cuda_) {
    a.error(std::string("source is on ") + (src->cuda_ ? "cuda" : "cpu") + ", destination on " + (cuda_ ? "cuda" : "cpu") +
            ": both must be on the same device");
  }
  if (cuda_) {
    check_cuda(a, cuda::axpy(static_cast<float*>(data_), static_cast<const float*>(src->data_), numel_, alpha));
    return info.Env().Undefined();
  }
#endif
  float* y = static_cast<float*>(data_);
  const float* x = static_cast<const float*>(src->data_);
  parallel_for(numel_, 1 << 16, [=](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) y[k] += alpha * x[k];
  });
  return info.Env().Undefined();
}

Napi::Value Storage::Scale(const Napi::CallbackInfo& info) {
  Args a(info, "Storage.scale", 1);
  if (disposed()) a.error("storage has been disposed");
  if (dtype_ != DType::F32) a.type_error("scale needs a float32 storage");
  const float alpha = static_cast<float>(a.number(0, "alpha"));
#ifdef LMKIT_WITH_CUDA
  if (cuda_) {
    check_cuda(a, cuda::scale(static_cast<float*>(data_), numel_, alpha));
    return info.Env().Undefined();
  }
#endif
  float* y = static_cast<float*>(data_);
  parallel_for(numel_, 1 << 16, [=](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) y[k] *= alpha;
  });
  return info.Env().Undefined();
}

Napi::Value Storage::GetDType(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), dtype_name(dtype_)); }
Napi::Value Storage::GetNumel(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(numel_)); }
Napi::Value Storage::GetBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), disposed() ? 0.0 : static_cast<double>(numel_ * 4));
}
Napi::Value Storage::GetDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), disposed()); }
#ifdef LMKIT_WITH_CUDA
Napi::Value Storage::GetDevice(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), cuda_ ? "cuda" : "cpu"); }

// devicePointer(): the device address of a CUDA storage, as a bigint, for another module that
// works on lmkit's stream (lmkit_gloo.node's NCCL collectives). Valid until the storage is freed.
Napi::Value Storage::DevicePointer(const Napi::CallbackInfo& info) {
  Args a(info, "Storage.devicePointer", 0);
  if (disposed()) a.error("the storage was disposed");
  if (!cuda_) a.error("the storage is in host memory, not on the CUDA device");
  return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(reinterpret_cast<uintptr_t>(data_)));
}
#endif

}  // namespace napi
}  // namespace lmkit
