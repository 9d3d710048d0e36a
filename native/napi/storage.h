// Storage: a JS handle that owns one block of native memory (float32 or int32).
//
// JS: new Storage('float32' | 'int32', numel, zero = true)  — zero-filled unless zero is false
//     (then the contents are unspecified: the caller overwrites every element).
//     s.dtype, s.numel, s.bytes, s.disposed
//     s.dispose()                       — frees now (idempotent); later use throws
//     s.write(typedArray, offset = 0)   — copies in  (Float32Array for float32, Int32Array for int32)
//     s.read(offset = 0, count = numel-offset) — copies out into a new typed array
//     s.fill(value), s.copyFrom(other)
//     s.addFrom(other, alpha = 1)       — this += alpha * other (float32; the autograd engine accumulates with it)
//     s.scale(alpha)                    — this *= alpha (float32)
// CUDA addon only (LMKIT_WITH_CUDA; see docs/cuda.md):
//     new Storage(dtype, numel, zero = true, device = 'cpu' | 'cuda') — 'cuda' allocates device
//     memory (stream-ordered, native/cuda/runtime.h); s.device is 'cpu' or 'cuda'. write/read
//     copy host<->device, copyFrom copies between any two devices (Tensor.to), fill/addFrom/
//     scale run on the storage's device. Device bytes are counted apart (memory().deviceBytes)
//     and are not reported to V8.
// The bytes are reported to V8 with napi_adjust_external_memory, in steps of 256 MB per
// environment (see ExternalMemory in storage.cpp), so GC pressure follows real growth.
#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>

namespace lmkit {
namespace napi {

struct ExternalMemory;

enum class DType : int { F32 = 0, I32 = 1 };

const char* dtype_name(DType d);

class Storage : public Napi::ObjectWrap<Storage> {
 public:
  // Defines the class for this environment (main thread or a worker) and keeps its
  // constructor in the environment's instance data.
  static Napi::Function Init(Napi::Env env);
  // The Storage constructor of `env` (for instanceof checks).
  static Napi::Function Constructor(Napi::Env env);

  explicit Storage(const Napi::CallbackInfo& info);
  ~Storage() override;

  bool disposed() const { return data_ == nullptr; }
  DType dtype() const { return dtype_; }
  int64_t numel() const { return numel_; }
  void* data() const { return data_; }
#ifdef LMKIT_WITH_CUDA
  bool on_cuda() const { return cuda_; }
  static int64_t device_live_count();
  static int64_t device_live_bytes();
#endif

  // Process-wide accounting, read by memory().
  static int64_t live_count();
  static int64_t live_bytes();
  // Bytes of freed blocks kept for reuse (see BlockCache in storage.cpp), and freeing them.
  static int64_t cached_bytes();
  static void empty_cache();

 private:
  void release(napi_env env);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value ReadInto(const Napi::CallbackInfo& info);
  Napi::Value Fill(const Napi::CallbackInfo& info);
  Napi::Value CopyFrom(const Napi::CallbackInfo& info);
  Napi::Value AddFrom(const Napi::CallbackInfo& info);
  Napi::Value Scale(const Napi::CallbackInfo& info);
  Napi::Value GetDType(const Napi::CallbackInfo& info);
  Napi::Value GetNumel(const Napi::CallbackInfo& info);
  Napi::Value GetBytes(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
#ifdef LMKIT_WITH_CUDA
  Napi::Value GetDevice(const Napi::CallbackInfo& info);
  Napi::Value DevicePointer(const Napi::CallbackInfo& info);
  bool cuda_ = false;  // data_ is device memory
#endif

  void* data_ = nullptr;
  int64_t numel_ = 0;
  DType dtype_ = DType::F32;
  napi_env env_ = nullptr;
  std::shared_ptr<ExternalMemory> memory_;  // this environment's accounting (outlives it if needed)
};

}  // namespace napi
}  // namespace lmkit
