// lmkit CUDA kernel family: reductions (contract of native/cpu/reduce.h).
// sum_axis: inp viewed as (outer, R, inner); out (outer, inner) = scale * sum over R.
// Backward OVERWRITES dinp. sum_to_shape sums inp (in_shape) down to out_shape (each
// out_shape[d] is 1 or in_shape[d]). Accumulation is in float (the CPU uses double in places:
// compare with a relative tolerance).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace lmkit {
namespace cuda {
cudaError_t sum_axis_forward(float* out, const float* inp, int64_t outer, int64_t R, int64_t inner, float scale);
cudaError_t sum_axis_backward(float* dinp, const float* dout, int64_t outer, int64_t R, int64_t inner, float scale);
cudaError_t max_axis_forward(float* out, int32_t* idx, const float* inp, int64_t outer, int64_t R, int64_t inner);
cudaError_t max_axis_backward(float* dinp, const float* dout, const int32_t* idx, int64_t outer, int64_t R,
                              int64_t inner);
cudaError_t sum_to_shape(float* out, const float* inp, int ndim, const int64_t* in_shape, const int64_t* out_shape);
}  // namespace cuda
}  // namespace lmkit
