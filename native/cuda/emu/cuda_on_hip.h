// lmkit emulated CUDA backend: the CUDA runtime names and device intrinsics that native/cuda
// uses, mapped onto the HIP-CPU runtime (../shared/third_party/hip-cpu, header-only, MIT), so
// that the very same .cu sources compile with g++ as C++17 and their kernels run on the CPU.
// Project-owned; included through the stand-in headers in include/ (cuda_runtime.h,
// cuda_runtime_api.h). Only the build with LMKIT_CUDA_EMULATED uses it. See docs/cuda.md,
// "The emulated CUDA backend", for what this does and does not prove.
//
// What differs from HIP-CPU's own behaviour, on purpose:
// - Warps are 32 lanes, as on NVIDIA GPUs (HIP-CPU's warpSize is 64 and has no _sync
//   intrinsics). __shfl_xor_sync / __shfl_sync / __ballot_sync exchange values between the 32
//   lanes of each warp of the block (lane = flat thread index % 32) with CUDA's rules for
//   `width` and for lanes outside the mask. They are built on the block barrier (a value
//   board per block, one barrier to publish, one to release it), so they are STRICTER than a GPU:
//   every thread of the block must reach the same shuffles in the same order, not just the
//   32 lanes of one warp. Kernels whose warps run a warp-level loop a different number of
//   times are therefore tested at sizes where every warp loops equally (docs/cuda.md).
// - cudaMallocAsync is a synchronous allocation and cudaFreeAsync waits for the stream
//   first (HIP-CPU's hipMallocAsync writes the pointer later, on the stream's thread).
//   Memory pools do not exist; their calls succeed and do nothing.
// - cudaGetLastError reports launch-configuration errors detected by LMKIT_LAUNCH
//   (launch_emu.h); HIP-CPU's hipGetLastError always succeeds.
// - cudaDriverGetVersion reports 0: there is no driver.
#pragma once
#include <hip/hip_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "launch_emu.h"

// HIP-CPU marks kernels and device functions `simd` (vector clones of every kernel): slower
// to compile, nothing gained for a correctness build, and a warning per functor argument.
#undef __device__
#define __device__
#undef __global__
#define __global__

// ---- types and constants -------------------------------------------------------------------
using cudaError_t = hipError_t;
using cudaStream_t = hipStream_t;
using cudaDeviceProp = hipDeviceProp_t;
using cudaMemcpyKind = hipMemcpyKind;
struct lmkit_emu_mem_pool;
using cudaMemPool_t = lmkit_emu_mem_pool*;
enum cudaMemPoolAttr { cudaMemPoolAttrReleaseThreshold = 4 };

constexpr cudaError_t cudaSuccess = hipSuccess;
constexpr cudaError_t cudaErrorInvalidValue = hipErrorInvalidValue;
constexpr cudaError_t cudaErrorMemoryAllocation = hipErrorOutOfMemory;
constexpr cudaError_t cudaErrorInvalidConfiguration = hipErrorInvalidConfiguration;
constexpr cudaError_t cudaErrorInsufficientDriver = hipErrorInsufficientDriver;
constexpr cudaError_t cudaErrorNoDevice = hipErrorNoDevice;
constexpr cudaError_t cudaErrorInvalidDevice = hipErrorInvalidDevice;
constexpr cudaError_t cudaErrorLaunchFailure = hipErrorLaunchFailure;
constexpr cudaError_t cudaErrorIllegalAddress = hipErrorIllegalAddress;
constexpr cudaError_t cudaErrorNotSupported = hipErrorNotSupported;

constexpr cudaMemcpyKind cudaMemcpyHostToHost = hipMemcpyHostToHost;
constexpr cudaMemcpyKind cudaMemcpyHostToDevice = hipMemcpyHostToDevice;
constexpr cudaMemcpyKind cudaMemcpyDeviceToHost = hipMemcpyDeviceToHost;
constexpr cudaMemcpyKind cudaMemcpyDeviceToDevice = hipMemcpyDeviceToDevice;
constexpr unsigned cudaStreamNonBlocking = hipStreamNonBlocking;

// ---- runtime API ---------------------------------------------------------------------------
inline cudaError_t cudaGetLastError() noexcept { return ::lmkit::emu::take_last_error(); }
inline cudaError_t cudaPeekAtLastError() noexcept { return ::lmkit::emu::peek_last_error(); }
inline const char* cudaGetErrorString(cudaError_t e) noexcept {
  switch (e) {  // the CUDA runtime's wording for the errors lmkit reports
    case hipSuccess: return "no error";
    case hipErrorInvalidValue: return "invalid argument";
    case hipErrorOutOfMemory: return "out of memory";
    case hipErrorInvalidConfiguration: return "invalid configuration argument";
    case hipErrorNoDevice: return "no CUDA-capable device is detected";
    case hipErrorInvalidDevice: return "invalid device ordinal";
    case hipErrorLaunchFailure: return "unspecified launch failure";
    case hipErrorIllegalAddress: return "an illegal memory access was encountered";
    default: return hipGetErrorString(e);
  }
}
inline cudaError_t cudaGetDeviceCount(int* n) noexcept { return hipGetDeviceCount(n); }
inline cudaError_t cudaSetDevice(int d) noexcept { return hipSetDevice(d); }
inline cudaError_t cudaDriverGetVersion(int* v) noexcept {
  if (v == nullptr) return cudaErrorInvalidValue;
  *v = 0;  // no driver: the kernels run on the CPU
  return cudaSuccess;
}
inline cudaError_t cudaRuntimeGetVersion(int* v) noexcept { return hipRuntimeGetVersion(v); }
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int d) noexcept {
  const cudaError_t e = hipGetDeviceProperties(p, d);
  if (e == cudaSuccess) std::snprintf(p->name, sizeof p->name, "%s", "HIP-CPU emulated device");
  return e;
}
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags) {
  return hipStreamCreateWithFlags(s, static_cast<hipStreamFlags>(flags));
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t s) { return hipStreamSynchronize(s); }
inline cudaError_t cudaDeviceSynchronize() { return hipDeviceSynchronize(); }

// Stream-ordered allocation, emulated synchronously (see the top of this file).
inline cudaError_t cudaMallocAsync(void** p, size_t bytes, cudaStream_t) {
  if (p == nullptr) return cudaErrorInvalidValue;
  *p = nullptr;
  const cudaError_t e = hipMalloc(p, bytes);
  if (e != cudaSuccess || *p == nullptr) {
    *p = nullptr;
    return cudaErrorMemoryAllocation;
  }
  return cudaSuccess;
}
inline cudaError_t cudaFreeAsync(void* p, cudaStream_t s) {
  if (p == nullptr) return cudaSuccess;
  const cudaError_t e = hipStreamSynchronize(s);  // kernels queued before may still read p
  if (e != cudaSuccess) return e;
  return hipFree(p);
}
inline cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t* pool, int) noexcept {
  *pool = nullptr;
  return cudaSuccess;
}
inline cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t, cudaMemPoolAttr, void*) noexcept { return cudaSuccess; }
inline cudaError_t cudaMemPoolTrimTo(cudaMemPool_t, size_t) noexcept { return cudaSuccess; }

inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s) {
  return hipMemcpyAsync(dst, src, bytes, kind, s);
}
inline cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
                                     size_t height, cudaMemcpyKind kind, cudaStream_t s) {
  return hipMemcpy2DAsync(dst, dpitch, src, spitch, width, height, kind, s);
}
inline cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t s) {
  return hipMemsetAsync(p, value, bytes, s);
}

// ---- device intrinsics ---------------------------------------------------------------------
namespace lmkit {
namespace emu {
constexpr unsigned kWarp = 32;  // NVIDIA's warp, not HIP-CPU's 64

inline unsigned flat_thread() noexcept {
  return unsigned(threadIdx.x) + unsigned(blockDim.x) * (unsigned(threadIdx.y) + unsigned(blockDim.y) * unsigned(threadIdx.z));
}
inline unsigned block_threads() noexcept { return unsigned(blockDim.x) * unsigned(blockDim.y) * unsigned(blockDim.z); }

// One value board per block: blocks run on separate host threads and the threads of a block
// are fibers of one host thread, so thread_local storage is per block.
template <class T>
inline T* board() noexcept {
  thread_local T b[1024];
  return b;
}

// Every thread of the block publishes `v`, then reads lane `src` of its own warp.
template <class T>
inline T exchange(T v, unsigned src_lane, bool use_own) noexcept {
  T* b = board<T>();
  const unsigned t = flat_thread();
  b[t] = v;
  __syncthreads();
  const unsigned src = (t & ~(kWarp - 1)) + src_lane;
  const T r = (use_own || src >= block_threads()) ? v : b[src];
  __syncthreads();  // nobody overwrites the board before every thread has read it
  return r;
}
}  // namespace emu
}  // namespace lmkit

// CUDA's __shfl_xor_sync: source lane = lane ^ laneMask; a lane whose source lies in a later
// `width`-segment (or outside the warp) gets its own value back.
template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
inline T __shfl_xor_sync(unsigned /*mask*/, T var, int lane_mask, int width = 32) noexcept {
  const unsigned lane = ::lmkit::emu::flat_thread() & 31u;
  const unsigned w = unsigned(width);
  const unsigned src = lane ^ unsigned(lane_mask);
  const bool own = src >= 32u || (src & ~(w - 1)) > (lane & ~(w - 1));
  return ::lmkit::emu::exchange(var, own ? lane : src, own);
}
// CUDA's __shfl_sync: source lane = srcLane % width within the caller's width-segment.
template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
inline T __shfl_sync(unsigned /*mask*/, T var, int src_lane, int width = 32) noexcept {
  const unsigned lane = ::lmkit::emu::flat_thread() & 31u;
  const unsigned w = unsigned(width);
  const unsigned src = (lane & ~(w - 1)) + (unsigned(src_lane) % w);
  return ::lmkit::emu::exchange(var, src, false);
}
// CUDA's __ballot_sync: bit i = predicate of lane i of this warp, for the lanes in `mask`.
inline unsigned __ballot_sync(unsigned mask, int predicate) noexcept {
  int* b = ::lmkit::emu::board<int>();
  const unsigned t = ::lmkit::emu::flat_thread(), n = ::lmkit::emu::block_threads();
  b[t] = predicate != 0;
  __syncthreads();
  const unsigned base = t & ~31u;
  unsigned bits = 0;
  for (unsigned i = 0; i < 32 && base + i < n; ++i)
    if (((mask >> i) & 1u) && b[base + i]) bits |= 1u << i;
  __syncthreads();
  return bits;
}
// A warp barrier is emulated by the (stricter) block barrier.
inline void __syncwarp(unsigned /*mask*/ = 0xffffffffu) noexcept { __syncthreads(); }

inline float rsqrtf(float x) noexcept { return 1.0f / std::sqrt(x); }
inline float __expf(float x) noexcept { return std::exp(x); }
inline float __logf(float x) noexcept { return std::log(x); }
inline float __fdividef(float x, float y) noexcept { return x / y; }

// CUDA's integer and floating min/max overloads (HIP-CPU has none): the common type of both.
template <class A, class B, std::enable_if_t<std::is_arithmetic_v<A> && std::is_arithmetic_v<B>, int> = 0>
inline std::common_type_t<A, B> min(A a, B b) noexcept {
  using C = std::common_type_t<A, B>;
  return C(b) < C(a) ? C(b) : C(a);
}
template <class A, class B, std::enable_if_t<std::is_arithmetic_v<A> && std::is_arithmetic_v<B>, int> = 0>
inline std::common_type_t<A, B> max(A a, B b) noexcept {
  using C = std::common_type_t<A, B>;
  return C(a) < C(b) ? C(b) : C(a);
}
