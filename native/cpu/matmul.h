// lmkit CPU kernel family: batched matrix multiply (forward + backward), built on
// the SGEMM engine in gemm.h. Conventions: see common.h.
#pragma once
#include <cstdint>

#include "common.h"

namespace lmkit {
namespace cpu {

// out (batch,M,N) = op(a) (batch,M,K) @ op(b) (batch,K,N); a is stored (batch,K,M) if transA, b is (batch,N,K) if transB.
void matmul_forward(float* out, const float* a, const float* b, int64_t batch, int64_t M, int64_t N, int64_t K, bool transA, bool transB);
// Gradients OVERWRITE (=) da and db (same storage layout as a and b). Either may be nullptr to skip it.
//   da: (batch,M,K), or (batch,K,M) if transA;  db: (batch,K,N), or (batch,N,K) if transB;
//   dout: (batch,M,N);  a, b: as in matmul_forward.
void matmul_backward(float* da, float* db, const float* dout, const float* a, const float* b, int64_t batch, int64_t M, int64_t N, int64_t K, bool transA, bool transB);
// Same but ACCUMULATES (+=) into da/db (used for parameter gradients).
void matmul_backward_accumulate(float* da, float* db, const float* dout, const float* a, const float* b, int64_t batch, int64_t M, int64_t N, int64_t K, bool transA, bool transB);

}  // namespace cpu
}  // namespace lmkit
