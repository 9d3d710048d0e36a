// lmkit CUDA kernel family: softmax / log-softmax over the last dimension (contract of
// native/cpu/softmax.h). out may be inp; dinp may be dout. Backward OVERWRITES dinp.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace lmkit {
namespace cuda {
cudaError_t softmax_forward(float* out, const float* inp, int64_t N, int64_t C);                          // (N,C) (N,C)
cudaError_t softmax_backward(float* dinp, const float* dout, const float* out, int64_t N, int64_t C);      // (N,C) x3
cudaError_t log_softmax_forward(float* out, const float* inp, int64_t N, int64_t C);
cudaError_t log_softmax_backward(float* dinp, const float* dout, const float* out, int64_t N, int64_t C);
}  // namespace cuda
}  // namespace lmkit
