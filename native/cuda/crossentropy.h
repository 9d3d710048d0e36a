// lmkit CUDA kernel family: fused softmax cross-entropy (contract of
// native/cpu/crossentropy.h). One block per row. forward_backward writes the row's loss and
// OVERWRITES dlogits = (softmax - onehot) * grad_scale in the same kernel; dlogits may be
// logits itself (in place). Rows whose target == ignore_index get loss 0 and gradient 0.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace lmkit {
namespace cuda {
cudaError_t crossentropy_forward(float* losses,           // (N)
                                 const float* logits,     // (N,V)
                                 const int32_t* targets,  // (N)
                                 int64_t N, int64_t V, int64_t ignore_index);
cudaError_t crossentropy_forward_backward(float* losses,           // (N)
                                          float* dlogits,          // (N,V) = ; may be == logits
                                          const float* logits,     // (N,V)
                                          const int32_t* targets,  // (N)
                                          int64_t N, int64_t V, int64_t ignore_index, float grad_scale);
cudaError_t crossentropy_backward(float* dlogits, int64_t n, float upstream);  // (n) *= upstream
}  // namespace cuda
}  // namespace lmkit
