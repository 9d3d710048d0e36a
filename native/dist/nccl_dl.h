// NCCL through dlopen, like native/cuda/cublas_dl.cpp does for cuBLAS: no NCCL header or
// library at build time, the few functions lmkit needs declared here by hand. Looked for in
// $LMKIT_NCCL (a file), then libnccl.so.2 on the loader's path, then $LMKIT_NCCL_DIR and the
// copy inside PyTorch's wheel (site-packages/nvidia/nccl/lib, given by $LMKIT_NCCL_DIR or found by
// the TypeScript side). libcudart is dlopened the same way for the stream calls. Never run on a
// GPU in CI (compile only); see docs/distributed.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace lmkit {
namespace dist {
namespace nccl {

// ABI-stable pieces of nccl.h (NCCL 2.x).
struct UniqueId {
  char internal[128];
};
using Comm = struct ncclComm*;
using Stream = void*;  // cudaStream_t
using Result = int;    // ncclResult_t: 0 = ncclSuccess
constexpr int kFloat32 = 7;  // ncclFloat32
constexpr int kSum = 0;      // ncclSum

struct Api {
  Result (*getVersion)(int*) = nullptr;
  Result (*getUniqueId)(UniqueId*) = nullptr;
  Result (*commInitRank)(Comm*, int, UniqueId, int) = nullptr;
  Result (*allReduce)(const void*, void*, size_t, int, int, Comm, Stream) = nullptr;
  Result (*broadcast)(const void*, void*, size_t, int, int, Comm, Stream) = nullptr;
  Result (*commDestroy)(Comm) = nullptr;
  Result (*commAbort)(Comm) = nullptr;
  Result (*groupStart)() = nullptr;
  Result (*groupEnd)() = nullptr;
  const char* (*getErrorString)(Result) = nullptr;
  // From libcudart.
  int (*setDevice)(int) = nullptr;
  int (*streamSynchronize)(Stream) = nullptr;
};

// Loads NCCL and cudart once; null (with `error()` saying why) when either is missing.
const Api* api();
const std::string& path();
const std::string& error();
// NCCL's version code (e.g. 22304 for 2.23.4), 0 when not loaded.
int version();

}  // namespace nccl
}  // namespace dist
}  // namespace lmkit
