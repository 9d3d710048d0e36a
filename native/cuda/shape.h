// lmkit CUDA kernel family: data movement (contract of native/cpu/shape.h). Elements are
// 4 bytes (float32 or int32), moved bit for bit. All outputs OVERWRITE.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace lmkit {
namespace cuda {
// out[i_0..i_{n-1}] = inp[j], j[perm[d]] = i_d; out_shape[d] = in_shape[perm[d]] (ndim <= 6).
cudaError_t permute(void* out, const void* inp, int ndim, const int64_t* in_shape, const int64_t* perm);
// dst[r*dst_ld + c] = src[r*src_ld + c], r < rows, c < cols (cudaMemcpy2DAsync, device to device).
cudaError_t copy_2d(void* dst, int64_t dst_ld, const void* src, int64_t src_ld, int64_t rows, int64_t cols);
}  // namespace cuda
}  // namespace lmkit
