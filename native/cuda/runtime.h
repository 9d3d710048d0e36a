// lmkit CUDA backend: device, stream and memory management (host-side API).
//
// NOTE: written without a GPU (no session so far had one); it compiles in CI but has never
// run on a device. See docs/cuda.md.
//
// - One device per process for now: LMKIT_CUDA_DEVICE (default 0). Each device gets one
//   non-blocking stream; every kernel and copy of lmkit goes to that stream, so kernels are
//   ordered without host synchronisation. The host waits only when it reads a value back
//   (Storage.read, the loss returned by crossentropy, id checks).
// - Memory is stream-ordered: cudaMallocAsync/cudaFreeAsync from the device's default memory
//   pool, whose release threshold is raised so freed blocks stay cached in the pool
//   (LMKIT_CUDA_POOL_KEEP_MB, default: keep everything; emptyCache() trims it).
// - Every function returns a cudaError_t (never throws, never aborts); the napi layer turns a
//   failure into a JS Error with cudaGetErrorString.
// - The CUDA runtime is linked statically (it loads libcuda.so.1 itself on first use), so
//   the addon loads where there is no driver; device_count() is then 0 and init_error()
//   says why.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace lmkit {
namespace cuda {

// Devices visible to this process; 0 without a driver or a GPU (never fails).
int device_count();
// Why device_count() is 0 (the runtime's error string), or "" when a device is visible.
std::string init_error();

// Selects the device, creates its stream and configures its memory pool (once). All other
// functions call it; it returns the same error on every call after a failure.
cudaError_t ensure_init();
// The device in use (LMKIT_CUDA_DEVICE, default 0) and its stream (valid after ensure_init()).
int device();
cudaStream_t stream();

// Stream-ordered allocation; bytes == 0 gives a small non-null block.
cudaError_t malloc_async(void** p, size_t bytes);
cudaError_t free_async(void* p);
// Returns pooled memory above `keep_bytes` to the driver (synchronises the stream).
cudaError_t trim_pool(size_t keep_bytes);

// Copies. h2d/d2h wait for completion (the host buffer belongs to JS and may move or be
// freed after the call); d2d is stream-ordered and does not wait.
cudaError_t memcpy_h2d(void* dst, const void* src, size_t bytes);
cudaError_t memcpy_d2h(void* dst, const void* src, size_t bytes);
cudaError_t memcpy_d2d(void* dst, const void* src, size_t bytes);
cudaError_t memset_async(void* p, int value, size_t bytes);
// Waits for the stream; reports errors of earlier asynchronous kernels.
cudaError_t synchronize();

// Fills n 32-bit words with `bits` (a float's or an int32's bit pattern).
cudaError_t fill32(void* p, uint32_t bits, int64_t n);
// y *= alpha  (n floats)
cudaError_t scale(float* y, int64_t n, float alpha);

struct DeviceInfo {
  std::string name;
  int major = 0, minor = 0;           // compute capability
  size_t total_memory = 0;            // bytes
  int driver_version = 0;             // e.g. 12040 for 12.4 (0 without a driver)
  int runtime_version = 0;            // the statically linked runtime
  int multiprocessors = 0;
};
cudaError_t device_info(DeviceInfo* out);

// The most blocks one launch's 1-D grid gets: LMKIT_CUDA_MAX_BLOCKS when set (>= 1; read once),
// else `fallback`. The kernels loop (grid-stride over elements, LMKIT_ROW_STRIDE over rows), so a
// smaller grid only means more rounds per block; tests set it small to make those loops turn.
int64_t max_blocks(int64_t fallback);

// Blocks of a 1-D grid of `threads`-wide blocks covering n elements (capped; kernels use
// grid-stride loops).
inline unsigned grid_for(int64_t n, int threads) {
  int64_t b = (n + threads - 1) / threads;
  const int64_t cap = max_blocks(65535 * 8);
  if (b < 1) b = 1;
  if (b > cap) b = cap;
  return static_cast<unsigned>(b);
}

}  // namespace cuda
}  // namespace lmkit
