// lmkit CUDA kernel family: permute and strided block copies. See shape.h.
// permute: one thread per output element, index arithmetic over at most 6 dims (a tiled
// transpose through shared memory is on the list of kernels to write). Never run on a GPU yet.
#include "common.cuh"
#include "elementwise.h"
#include "shape.h"

namespace lmkit {
namespace cuda {
namespace {
struct Perm {
  int nd;
  int64_t out_shape[kMaxDims];
  int64_t in_stride[kMaxDims];  // input stride of output dim d
};
__global__ void permute_kernel(uint32_t* out, const uint32_t* inp, int64_t total, Perm p) {
  LMKIT_GRID_STRIDE(i, total) {
    int64_t rem = i, off = 0;
    for (int d = p.nd - 1; d >= 0; --d) {
      const int64_t c = rem % p.out_shape[d];
      rem /= p.out_shape[d];
      off += c * p.in_stride[d];
    }
    out[i] = inp[off];
  }
}
}  // namespace

cudaError_t permute(void* out, const void* inp, int ndim, const int64_t* in_shape, const int64_t* perm) {
  int64_t stride[kMaxDims];
  int64_t s = 1, total = 1;
  for (int d = ndim - 1; d >= 0; --d) {
    stride[d] = s;
    s *= in_shape[d];
  }
  Perm p{};
  p.nd = ndim;
  for (int d = 0; d < ndim; ++d) {
    p.out_shape[d] = in_shape[perm[d]];
    p.in_stride[d] = stride[perm[d]];
    total *= p.out_shape[d];
  }
  if (total == 0) return cudaSuccess;
  LMKIT_LAUNCH(permute_kernel, grid_for(total, kThreads), kThreads, 0, stream())(static_cast<uint32_t*>(out),
                                                                      static_cast<const uint32_t*>(inp), total, p);
  return cudaGetLastError();
}

cudaError_t copy_2d(void* dst, int64_t dst_ld, const void* src, int64_t src_ld, int64_t rows, int64_t cols) {
  if (rows == 0 || cols == 0) return cudaSuccess;
  // A single row may have ld < cols (the binding allows it): pitches only matter past row 0.
  const size_t w = static_cast<size_t>(cols) * 4;
  const size_t dp = rows > 1 ? static_cast<size_t>(dst_ld) * 4 : w;
  const size_t sp = rows > 1 ? static_cast<size_t>(src_ld) * 4 : w;
  return cudaMemcpy2DAsync(dst, dp, src, sp, w, static_cast<size_t>(rows), cudaMemcpyDeviceToDevice, stream());
}

}  // namespace cuda
}  // namespace lmkit
