// lmkit CUDA backend: device, stream and memory pool (see runtime.h). Never run on a GPU yet.
#include "runtime.h"

#include <cuda_runtime.h>

#include "launch.cuh"

#include <cstdlib>
#include <mutex>

namespace lmkit {
namespace cuda {

namespace {
struct State {
  std::once_flag once;
  cudaError_t err = cudaSuccess;
  int dev = 0;
  cudaStream_t stream = nullptr;
};
State& state() {
  static State* s = new State();  // leaked: storages may be freed by finalizers at exit
  return *s;
}

__global__ void fill32_kernel(uint32_t* p, uint32_t bits, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) p[i] = bits;
}
__global__ void scale_kernel(float* y, int64_t n, float alpha) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) y[i] *= alpha;
}
}  // namespace

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so later calls are not confused
    return 0;
  }
  return n;
}

namespace {
std::string cuda_version(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }
}  // namespace

std::string init_error() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    int drv = 0, rt = 0;
    cudaDriverGetVersion(&drv);
    cudaRuntimeGetVersion(&rt);
    if (e == cudaErrorInsufficientDriver && drv == 0) return "no NVIDIA driver found (libcuda.so.1 is not loadable)";
    if (e == cudaErrorInsufficientDriver) {
      return "the NVIDIA driver supports CUDA " + cuda_version(drv) + " but this addon was built with CUDA " + cuda_version(rt) +
             ": rebuild it with an older toolkit (bash scripts/build-cuda.sh) or update the driver";
    }
    return cudaGetErrorString(e);
  }
  return n > 0 ? "" : "no CUDA device is visible";
}

cudaError_t ensure_init() {
  State& s = state();
  std::call_once(s.once, [&s] {
    int n = 0;
    s.err = cudaGetDeviceCount(&n);
    if (s.err != cudaSuccess) return;
    if (n == 0) {
      s.err = cudaErrorNoDevice;
      return;
    }
    if (const char* d = std::getenv("LMKIT_CUDA_DEVICE")) s.dev = std::atoi(d);
    if (s.dev < 0 || s.dev >= n) {
      s.err = cudaErrorInvalidDevice;
      return;
    }
    if ((s.err = cudaSetDevice(s.dev)) != cudaSuccess) return;
    if ((s.err = cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking)) != cudaSuccess) return;
    // Keep freed blocks in the pool (the default threshold 0 returns them at every sync).
    cudaMemPool_t pool;
    if ((s.err = cudaDeviceGetDefaultMemPool(&pool, s.dev)) != cudaSuccess) return;
    uint64_t keep = UINT64_MAX;
    if (const char* k = std::getenv("LMKIT_CUDA_POOL_KEEP_MB")) keep = uint64_t(std::strtoull(k, nullptr, 10)) << 20;
    s.err = cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
  });
  // The device is per host thread: set it on whichever thread calls (cheap when unchanged).
  if (s.err == cudaSuccess) return cudaSetDevice(s.dev);
  return s.err;
}

int64_t max_blocks(int64_t fallback) {
  static const int64_t cap = [] {
    const char* v = std::getenv("LMKIT_CUDA_MAX_BLOCKS");
    const long long n = v != nullptr ? std::atoll(v) : 0;
    return n >= 1 ? int64_t(n) : int64_t(0);
  }();
  return cap >= 1 && cap < fallback ? cap : fallback;
}

int device() { return state().dev; }
cudaStream_t stream() { return state().stream; }

cudaError_t malloc_async(void** p, size_t bytes) {
  cudaError_t e = ensure_init();
  if (e != cudaSuccess) return e;
  return cudaMallocAsync(p, bytes == 0 ? 256 : bytes, stream());
}

cudaError_t free_async(void* p) {
  if (p == nullptr) return cudaSuccess;
  cudaError_t e = ensure_init();
  if (e != cudaSuccess) return e;
  return cudaFreeAsync(p, stream());
}

cudaError_t trim_pool(size_t keep_bytes) {
  cudaError_t e = ensure_init();
  if (e != cudaSuccess) return e;
  if ((e = cudaStreamSynchronize(stream())) != cudaSuccess) return e;
  cudaMemPool_t pool;
  if ((e = cudaDeviceGetDefaultMemPool(&pool, device())) != cudaSuccess) return e;
  return cudaMemPoolTrimTo(pool, keep_bytes);
}

cudaError_t memcpy_h2d(void* dst, const void* src, size_t bytes) {
  cudaError_t e = ensure_init();
  if (e != cudaSuccess || bytes == 0) return e;
  if ((e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream())) != cudaSuccess) return e;
  return cudaStreamSynchronize(stream());
}

cudaError_t memcpy_d2h(void* dst, const void* src, size_t bytes) {
  cudaError_t e = ensure_init();
  if (e != cudaSuccess || bytes == 0) return e;
  if ((e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream())) != cudaSuccess) return e;
  return cudaStreamSynchronize(stream());
}

cudaError_t memcpy_d2d(void* dst, const void* src, size_t bytes) {
  cudaError_t e = ensure_init();
  if (e != cudaSuccess || bytes == 0) return e;
  return cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream());
}

cudaError_t memset_async(void* p, int value, size_t bytes) {
  cudaError_t e = ensure_init();
  if (e != cudaSuccess || bytes == 0) return e;
  return cudaMemsetAsync(p, value, bytes, stream());
}

cudaError_t synchronize() {
  cudaError_t e = ensure_init();
  if (e != cudaSuccess) return e;
  return cudaStreamSynchronize(stream());
}

cudaError_t fill32(void* p, uint32_t bits, int64_t n) {
  cudaError_t e = ensure_init();
  if (e != cudaSuccess || n == 0) return e;
  LMKIT_LAUNCH(fill32_kernel, grid_for(n, 256), 256, 0, stream())(static_cast<uint32_t*>(p), bits, n);
  return cudaGetLastError();
}

cudaError_t scale(float* y, int64_t n, float alpha) {
  cudaError_t e = ensure_init();
  if (e != cudaSuccess || n == 0) return e;
  LMKIT_LAUNCH(scale_kernel, grid_for(n, 256), 256, 0, stream())(y, n, alpha);
  return cudaGetLastError();
}

cudaError_t device_info(DeviceInfo* out) {
  cudaDriverGetVersion(&out->driver_version);  // 0 without a driver; not an error
  cudaRuntimeGetVersion(&out->runtime_version);
  cudaError_t e = ensure_init();
  if (e != cudaSuccess) return e;
  cudaDeviceProp p;
  if ((e = cudaGetDeviceProperties(&p, device())) != cudaSuccess) return e;
  out->name = p.name;
  out->major = p.major;
  out->minor = p.minor;
  out->total_memory = p.totalGlobalMem;
  out->multiprocessors = p.multiProcessorCount;
  return cudaSuccess;
}

}  // namespace cuda
}  // namespace lmkit
