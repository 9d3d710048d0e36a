// lmkit CUDA kernel family: embedding. See embedding.h. Never run on a GPU yet.
#include "common.cuh"
#include "embedding.h"

namespace lmkit {
namespace cuda {
namespace {
__global__ void emb_fwd(float* out, const int32_t* ids, const float* table, int64_t N, int64_t C) {
  LMKIT_GRID_STRIDE(i, N * C) {
    const int64_t n = i / C, c = i - n * C;
    out[i] = table[int64_t(ids[n]) * C + c];
  }
}
__global__ void emb_bwd(float* dtable, const float* dout, const int32_t* ids, int64_t N, int64_t C) {
  LMKIT_GRID_STRIDE(i, N * C) {
    const int64_t n = i / C, c = i - n * C;
    atomicAdd(dtable + int64_t(ids[n]) * C + c, dout[i]);
  }
}
}  // namespace

cudaError_t embedding_forward(float* out, const int32_t* ids, const float* table, int64_t N, int64_t /*V*/, int64_t C) {
  if (N * C == 0) return cudaSuccess;
  LMKIT_LAUNCH(emb_fwd, grid_for(N * C, kThreads), kThreads, 0, stream())(out, ids, table, N, C);
  return cudaGetLastError();
}
cudaError_t embedding_backward(float* dtable, const float* dout, const int32_t* ids, int64_t N, int64_t /*V*/, int64_t C) {
  if (N * C == 0) return cudaSuccess;
  LMKIT_LAUNCH(emb_bwd, grid_for(N * C, kThreads), kThreads, 0, stream())(dtable, dout, ids, N, C);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace lmkit
