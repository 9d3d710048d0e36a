// lmkit CUDA kernel family: batched matrix multiply (contract of native/cpu/matmul.h).
// out (batch,M,N) = op(a) (batch,M,K) @ op(b) (batch,K,N); a is stored (batch,K,M) if
// transA, b (batch,N,K) if transB. Backward OVERWRITES da/db, or ACCUMULATES with
// matmul_backward_accumulate; either may be nullptr.
// Two engines: cuBLAS (cublasSgemmStridedBatched through dlopen, TF32 tensor cores unless
// LMKIT_CUDA_TF32=0) when it loaded and the sizes fit in int; else the own tiled SGEMM
// (64x64 tiles, shared memory, fp32 FMA). LMKIT_CUBLAS=0 forces the own kernel.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace lmkit {
namespace cuda {
cudaError_t matmul_forward(float* out, const float* a, const float* b, int64_t batch, int64_t M, int64_t N, int64_t K,
                           bool transA, bool transB);
cudaError_t matmul_backward(float* da, float* db, const float* dout, const float* a, const float* b, int64_t batch,
                            int64_t M, int64_t N, int64_t K, bool transA, bool transB);
cudaError_t matmul_backward_accumulate(float* da, float* db, const float* dout, const float* a, const float* b,
                                       int64_t batch, int64_t M, int64_t N, int64_t K, bool transA, bool transB);
// C (batch,M,N) = alpha * op(A) @ op(B) + beta * C, row-major; beta == 0 never reads C.
// use_cublas: false forces the own kernel (tests compare the two engines).
cudaError_t gemm(float* C, const float* A, const float* B, int64_t batch, int64_t M, int64_t N, int64_t K, bool transA,
                 bool transB, float alpha, float beta, bool use_cublas = true);
// "cublas <version> (<file>)" or "own SGEMM kernel (<why cuBLAS is not used>)".
const char* sgemm_backend();
}  // namespace cuda
}  // namespace lmkit
