// lmkit CUDA kernel family: activations (same contract as native/cpu/activations.h).
// Forward: out = f(inp). Backward OVERWRITES dinp = dout * f'(.), from `out` (tanh,
// sigmoid) or `inp` (relu, gelu, silu), as on CPU. GELU is the tanh approximation.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace lmkit {
namespace cuda {
cudaError_t tanh_forward(float* out, const float* inp, int64_t n);                         // (n) (n)
cudaError_t tanh_backward(float* dinp, const float* dout, const float* out, int64_t n);    // (n) (n) (n)
cudaError_t sigmoid_forward(float* out, const float* inp, int64_t n);
cudaError_t sigmoid_backward(float* dinp, const float* dout, const float* out, int64_t n);
cudaError_t relu_forward(float* out, const float* inp, int64_t n);
cudaError_t relu_backward(float* dinp, const float* dout, const float* inp, int64_t n);
cudaError_t gelu_forward(float* out, const float* inp, int64_t n);
cudaError_t gelu_backward(float* dinp, const float* dout, const float* inp, int64_t n);
cudaError_t silu_forward(float* out, const float* inp, int64_t n);
cudaError_t silu_backward(float* dinp, const float* dout, const float* inp, int64_t n);
}  // namespace cuda
}  // namespace lmkit
