// lmkit CUDA backend: the one kernel launch form of native/cuda.
//
//   LMKIT_LAUNCH(kernel, grid, block, shmem, stream)(args...);
//
// Under nvcc it is exactly `kernel<<<grid, block, shmem, stream>>>(args...)`. Under the
// emulated build (LMKIT_CUDA_EMULATED: g++ + HIP-CPU, see emu/cuda_on_hip.h and docs/cuda.md),
// which cannot parse `<<<...>>>`, it becomes a launch through HIP-CPU that also checks the
// launch configuration as the CUDA runtime does and counts the launch (coverage report).
// The kernel sources are the same for both; only this macro differs.
#pragma once

#if defined(LMKIT_CUDA_EMULATED)
#include <utility>

#include "emu/launch_emu.h"
#define LMKIT_LAUNCH(kernel, grid, block, shmem, strm)                                              \
  ::lmkit::emu::make_launch(__FILE__, #kernel, (grid), (block), (shmem), (strm), [](auto&&... lmkit_xs) { \
    kernel(std::forward<decltype(lmkit_xs)>(lmkit_xs)...);                                          \
  })
#else
#define LMKIT_LAUNCH(kernel, grid, block, shmem, strm) kernel<<<(grid), (block), (shmem), (strm)>>>
#endif
