// The addon's entry point: the Storage class, process-level functions (memory, threads,
// build info) and every op family that registered itself with LMKIT_REGISTER_OPS.
#include <napi.h>

#include <cstdint>
#include <vector>

#include "../cpu/common.h"
#include "../cpu/threadpool.h"
#include "args.h"
#include "registry.h"
#include "storage.h"

#ifdef LMKIT_WITH_CUDA
#include "../cuda/cublas_dl.h"
#include "../cuda/matmul.h"
#include "../cuda/runtime.h"
#endif
#ifdef LMKIT_CUDA_EMULATED
#include "../cuda/emu/launch_emu.h"
#endif

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
#ifdef LMKIT_WITH_CUDA
  o.Set("deviceStorages", Napi::Number::New(info.Env(), static_cast<double>(Storage::device_live_count())));
  o.Set("deviceBytes", Napi::Number::New(info.Env(), static_cast<double>(Storage::device_live_bytes())));
#endif
  return o;
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  Storage::empty_cache();
#ifdef LMKIT_WITH_CUDA
  if (cuda::device_count() > 0) cuda::trim_pool(0);
#endif
  return info.Env().Undefined();
}

#ifdef LMKIT_WITH_CUDA
// deviceCount(): CUDA devices visible (0 without a driver or GPU; never throws).
Napi::Value DeviceCount(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), cuda::device_count()); }

// cudaInfo(): what `lmkit info` prints about the CUDA backend. Initialises the device (and
// tries to load cuBLAS) when one is visible.
Napi::Value CudaInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const int n = cuda::device_count();
  o.Set("deviceCount", Napi::Number::New(env, n));
  cuda::DeviceInfo d;
  const cudaError_t e = n > 0 ? cuda::device_info(&d) : cudaErrorNoDevice;
  if (n == 0) {
    cudaDriverGetVersion(&d.driver_version);
    cudaRuntimeGetVersion(&d.runtime_version);
  }
  o.Set("driverVersion", Napi::Number::New(env, d.driver_version));
  o.Set("runtimeVersion", Napi::Number::New(env, d.runtime_version));
  if (e != cudaSuccess) {
    o.Set("error", Napi::String::New(env, n == 0 ? cuda::init_error() : std::string(cudaGetErrorString(e))));
    o.Set("cublas", Napi::Boolean::New(env, false));
    return o;
  }
  o.Set("device", Napi::Number::New(env, cuda::device()));
  o.Set("name", Napi::String::New(env, d.name));
  o.Set("computeCapability", Napi::String::New(env, std::to_string(d.major) + "." + std::to_string(d.minor)));
  o.Set("totalMemory", Napi::Number::New(env, static_cast<double>(d.total_memory)));
  o.Set("multiprocessors", Napi::Number::New(env, d.multiprocessors));
  // Only dlopen here: the cuBLAS handle is created by the first matmul (not at import time).
  const bool cublas = cuda::cublas::available();
  o.Set("cublas", Napi::Boolean::New(env, cublas));
  o.Set("cublasPath", Napi::String::New(env, cuda::cublas::loaded_path()));
  o.Set("cublasVersion", Napi::Number::New(env, cuda::cublas::version()));  // 0 until the handle exists
  if (!cublas) o.Set("cublasError", Napi::String::New(env, cuda::cublas::load_error()));
  o.Set("sgemm", Napi::String::New(env, cuda::sgemm_backend()));
  return o;
}

// cudaSynchronize(): waits for the lmkit stream; throws on an earlier asynchronous error.
// cudaStream(): lmkit's stream (cudaStream_t) as a bigint, and the device it is on, for another
// module whose work must be ordered with lmkit's kernels (lmkit_gloo.node's NCCL collectives).
Napi::Value CudaStream(const Napi::CallbackInfo& info) {
  Args a(info, "cudaStream", 0);
  a.check_cuda(cuda::ensure_init());
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("stream", Napi::BigInt::New(info.Env(), static_cast<uint64_t>(reinterpret_cast<uintptr_t>(cuda::stream()))));
  o.Set("device", Napi::Number::New(info.Env(), cuda::device()));
  return o;
}

Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  Args a(info, "cudaSynchronize", 0);
  a.check_cuda(cuda::synchronize());
  return info.Env().Undefined();
}

// cuda_gemm_test(C, A, B, batch, M, N, K, transA, transB, useCublas): C = op(A) op(B) with a
// chosen engine (the op suite compares the own kernel with cuBLAS).
Napi::Value CudaGemmTest(const Napi::CallbackInfo& info) {
  Args a(info, "cuda_gemm_test", 10);
  a.allow_cuda();
  const int64_t batch = a.dim(3, "batch"), M = a.dim(4, "M"), N = a.dim(5, "N"), K = a.dim(6, "K");
  const bool tA = a.boolean(7, "transA"), tB = a.boolean(8, "transB"), use = a.boolean(9, "useCublas");
  float* c = a.f32(0, "C", a.mul(batch, M, N));
  const float* x = a.f32(1, "A", a.mul(batch, M, K));
  const float* w = a.f32(2, "B", a.mul(batch, K, N));
  if (!a.on_cuda()) a.error("the storages must be on the cuda device");
  a.check_cuda(cuda::gemm(c, x, w, batch, M, N, K, tA, tB, 1.0f, 0.0f, use));
  return info.Env().Undefined();
}
#endif

#ifdef LMKIT_CUDA_EMULATED
// emuLaunchCounts(): { "<file>:<kernel>": launches } since the addon loaded (or the last reset):
// the emulated suite's proof that every launch site of native/cuda ran.
Napi::Value EmuLaunchCounts(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  for (const auto& kv : emu::launch_counts()) o.Set(kv.first, Napi::Number::New(info.Env(), static_cast<double>(kv.second)));
  return o;
}
Napi::Value EmuResetLaunchCounts(const Napi::CallbackInfo& info) {
  emu::reset_launch_counts();
  return info.Env().Undefined();
}
#endif

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
#ifdef LMKIT_WITH_CUDA
  exports.Set("backend", Napi::String::New(env, "cuda"));
  export_fn(env, exports, "deviceCount", DeviceCount);
  export_fn(env, exports, "cudaInfo", CudaInfo);
  export_fn(env, exports, "cudaSynchronize", CudaSynchronize);
  export_fn(env, exports, "cudaStream", CudaStream);
  export_fn(env, exports, "cuda_gemm_test", CudaGemmTest);
#ifdef LMKIT_CUDA_EMULATED
  // Not a GPU: the CUDA kernels run on the CPU through HIP-CPU (docs/cuda.md).
  exports.Set("emulation", Napi::String::New(env, "HIP-CPU"));
  export_fn(env, exports, "emuLaunchCounts", EmuLaunchCounts);
  export_fn(env, exports, "emuResetLaunchCounts", EmuResetLaunchCounts);
#endif
#else
  exports.Set("backend", Napi::String::New(env, "cpu"));
#endif
  exports.Set("avx2", Napi::Boolean::New(env, cpu_has_avx2_fma()));
  // The CPU kernels' SIMD family: "avx2-fma", "neon" or "generic" (LMKIT_CPU_GENERIC=1, or no SIMD path).
  exports.Set("simd", Napi::String::New(env, cpu_simd_name()));
  exports.Set("arch", Napi::String::New(env, LMKIT_ARM64 ? "arm64" : LMKIT_X86 ? "x64" : "other"));
  register_all(env, exports);
  return exports;
}

}  // namespace napi
}  // namespace lmkit

static Napi::Object InitLmkit(Napi::Env env, Napi::Object exports) { return lmkit::napi::Init(env, exports); }

NODE_API_MODULE(lmkit, InitLmkit)
