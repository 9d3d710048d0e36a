// lmkit CUDA kernel family: elementwise / broadcast arithmetic (contract of
// native/cpu/elementwise.h). binary_forward walks `shape` (row-major, up to kMaxDims dims)
// and reads a and b through their own strides (0 on broadcast dims).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace lmkit {
namespace cuda {
constexpr int kMaxDims = 6;  // as cpu::kMaxDims
enum class BinaryOp : int { Add = 0, Sub = 1, Mul = 2, Div = 3 };  // as cpu::BinaryOp

cudaError_t binary_forward(BinaryOp op, float* out, const float* a, const float* b, int ndim, const int64_t* shape,
                           const int64_t* a_strides, const int64_t* b_strides);
cudaError_t affine_forward(float* out, const float* inp, int64_t n, float alpha, float beta);  // out = alpha*inp + beta
cudaError_t axpy(float* y, const float* x, int64_t n, float alpha);                            // y += alpha*x
cudaError_t exp_forward(float* out, const float* inp, int64_t n);
cudaError_t exp_backward(float* dinp, const float* dout, const float* out, int64_t n);
cudaError_t log_forward(float* out, const float* inp, int64_t n);
cudaError_t log_backward(float* dinp, const float* dout, const float* inp, int64_t n);
cudaError_t sqrt_forward(float* out, const float* inp, int64_t n);
cudaError_t sqrt_backward(float* dinp, const float* dout, const float* out, int64_t n);
cudaError_t pow_scalar_forward(float* out, const float* inp, int64_t n, float p);
cudaError_t pow_scalar_backward(float* dinp, const float* dout, const float* inp, int64_t n, float p);
}  // namespace cuda
}  // namespace lmkit
