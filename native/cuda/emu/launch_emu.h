// lmkit emulated CUDA backend: the launch behind LMKIT_LAUNCH (launch.cuh) when the CUDA
// sources are compiled by g++ against HIP-CPU (LMKIT_CUDA_EMULATED). Not used by nvcc.
//
// A launch here does what the CUDA runtime does before a kernel runs: it checks the
// configuration (block <= 1024 threads, grid dimensions within CUDA's limits, static shared
// memory) and, when it is invalid, records cudaErrorInvalidConfiguration for the next
// cudaGetLastError() instead of running anything (HIP-CPU itself would abort the process).
// Each launch is counted per "<file>:<kernel>" (emuLaunchCounts() in the addon), so the test
// suite can prove that every launch site of native/cuda ran.
#pragma once
#include <hip/hip_runtime.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace lmkit {
namespace emu {

void count_launch(const char* file, const char* kernel) noexcept;
// A copy of the counters: "<file>:<kernel>" -> launches.
std::map<std::string, uint64_t> launch_counts();
void reset_launch_counts() noexcept;

// The error the next cudaGetLastError() returns (and clears); cudaSuccess when none.
void set_last_error(hipError_t e) noexcept;
hipError_t take_last_error() noexcept;
hipError_t peek_last_error() noexcept;

// CUDA's launch limits (compute capability 8.x/9.x): block x,y <= 1024, z <= 64, threads
// <= 1024; grid x < 2^31, y,z <= 65535; 48 KiB of dynamic shared memory without opt-in.
bool valid_config(const dim3& grid, const dim3& block, size_t shmem) noexcept;

template <class K>
struct Launch {
  const char* file;
  const char* name;
  dim3 grid, block;
  size_t shmem;
  hipStream_t stream;
  K kernel;

  template <class... A>
  void operator()(A&&... args) const {
    count_launch(file, name);
    if (!valid_config(grid, block, shmem)) {
      set_last_error(hipErrorInvalidConfiguration);
      return;
    }
    const K k = kernel;  // hipLaunchKernelGGL captures by value; `kernel` is a member of a temporary
    const dim3 g = grid, b = block;
    hipLaunchKernelGGL(k, g, b, static_cast<std::uint32_t>(shmem), stream, std::forward<A>(args)...);
  }
};

inline dim3 to_dim3(const dim3& d) { return d; }
inline dim3 to_dim3(unsigned v) { return dim3(v); }
inline dim3 to_dim3(int v) { return dim3(static_cast<unsigned>(v < 0 ? 0 : v)); }

template <class G, class B, class K>
Launch<K> make_launch(const char* file, const char* name, const G& grid, const B& block, size_t shmem, hipStream_t stream,
                      K kernel) {
  return Launch<K>{file, name, to_dim3(grid), to_dim3(block), shmem, stream, kernel};
}

}  // namespace emu
}  // namespace lmkit
