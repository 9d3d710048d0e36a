// lmkit CPU kernels: reductions.
//
// An axis reduction sees its input as (outer, R, inner): the reduced axis in the middle,
// everything before it flattened into `outer`, everything after into `inner` (a sum over
// all elements is outer = inner = 1).
//
//   sum_axis_forward(out, inp, outer, R, inner, scale)
//     out (outer, inner) = scale * sum over r of inp (outer, R, inner)         (=)
//     scale = 1 for sum, 1/R for mean. R == 0 gives zeros.
//   sum_axis_backward(dinp, dout, outer, R, inner, scale)
//     dinp (outer, R, inner) = scale * dout (outer, inner) broadcast over R    (=)
//   max_axis_forward(out, idx, inp, outer, R, inner)          R >= 1
//     out (outer, inner) = max over r; idx (outer, inner) int32 = its r (the first one
//     on ties; a NaN wins over numbers, so NaN propagates)                       (=)
//   max_axis_backward(dinp, dout, idx, outer, R, inner)
//     dinp (outer, R, inner) = 0 except dinp[o, idx[o,i], i] = dout[o,i]        (=)
//   sum_to_shape(out, inp, ndim, in_shape, out_shape)
//     The gradient reduction of NumPy broadcasting: inp is dense (in_shape), out is dense
//     (out_shape), both of rank ndim <= kMaxDims, out_shape[d] in {1, in_shape[d]};
//     out = inp summed over every d where out_shape[d] == 1 != in_shape[d]       (=)
//
// Accuracy: sums accumulate in double (several vector lanes), so a sum of 10^7 floats is
// as exact as its float result can be. Threads split outer/inner, or R when those are small.
#pragma once
#include <cstdint>

namespace lmkit {
namespace cpu {

void sum_axis_forward(float* out, const float* inp, int64_t outer, int64_t R, int64_t inner, float scale);
void sum_axis_backward(float* dinp, const float* dout, int64_t outer, int64_t R, int64_t inner, float scale);
void max_axis_forward(float* out, int32_t* idx, const float* inp, int64_t outer, int64_t R, int64_t inner);
void max_axis_backward(float* dinp, const float* dout, const int32_t* idx, int64_t outer, int64_t R,
                       int64_t inner);
void sum_to_shape(float* out, const float* inp, int ndim, const int64_t* in_shape, const int64_t* out_shape);

}  // namespace cpu
}  // namespace lmkit
