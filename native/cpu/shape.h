// lmkit CPU kernels: data movement (permute, block copies for concat / split / slice).
//
//   permute(out, inp, ndim, in_shape, perm)
//     inp dense (in_shape), ndim <= kMaxDims, perm a permutation of [0, ndim);
//     out dense with shape out_shape[d] = in_shape[perm[d]],
//     out[i_0..i_{n-1}] = inp[j] where j[perm[d]] = i_d                          (=)
//     Dims are collapsed first; when the innermost output dim is not the innermost input
//     dim the copy is a batch of 2-D transposes, done in cache-sized tiles. The gradient
//     of a permute is the permute by the inverse permutation.
//
//   copy_2d(dst, dst_ld, src, src_ld, rows, cols)
//     dst[r*dst_ld + c] = src[r*src_ld + c] for r < rows, c < cols               (=)
//     A strided block copy: concat is one copy_2d per input into the output, split /
//     slice one per piece, and their gradients the reverse copies (the caller zero-fills
//     the gradient of a slice first). dst and src must not overlap.
#pragma once
#include <cstdint>

namespace lmkit {
namespace cpu {

// Elements are 4 bytes (float32 or int32), moved bit for bit.
void permute(void* out, const void* inp, int ndim, const int64_t* in_shape, const int64_t* perm);
void copy_2d(void* dst, int64_t dst_ld, const void* src, int64_t src_ld, int64_t rows, int64_t cols);

}  // namespace cpu
}  // namespace lmkit
