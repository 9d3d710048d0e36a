// lmkit CPU matmul family: every case maps onto one strided-batched SGEMM whose
// transposes are absorbed by the GEMM packing (no explicit transposes, no copies).
#include "matmul.h"

#include "gemm.h"

namespace lmkit {
namespace cpu {
namespace {

// da, db = gradients of out = op(a) @ op(b); C = 1*product + beta*C.
void matmul_grads(float* da, float* db, const float* dout, const float* a, const float* b, int64_t batch, int64_t M,
                  int64_t N, int64_t K, bool tA, bool tB, float beta) {
  const int64_t sa = M * K, sb = K * N, so = M * N;
  if (da != nullptr) {
    if (!tA) {
      // da (M,K) = dout (M,N) @ op(b)^T (N,K); op(b)^T is b^T (b stored (K,N)) or b (stored (N,K)).
      sgemm_strided_batched(false, !tB, M, K, N, 1.0f, dout, N, so, b, tB ? K : N, sb, beta, da, K, sa, batch);
    } else {
      // da (K,M) = op(b) (K,N) @ dout^T (N,M).
      sgemm_strided_batched(tB, true, K, M, N, 1.0f, b, tB ? K : N, sb, dout, N, so, beta, da, M, sa, batch);
    }
  }
  if (db != nullptr) {
    if (!tB) {
      // db (K,N) = op(a)^T (K,M) @ dout (M,N); op(a)^T is a^T (a stored (M,K)) or a (stored (K,M)).
      sgemm_strided_batched(!tA, false, K, N, M, 1.0f, a, tA ? M : K, sa, dout, N, so, beta, db, N, sb, batch);
    } else {
      // db (N,K) = dout^T (N,M) @ op(a) (M,K).
      sgemm_strided_batched(true, tA, N, K, M, 1.0f, dout, N, so, a, tA ? M : K, sa, beta, db, K, sb, batch);
    }
  }
}

}  // namespace

void matmul_forward(float* out, const float* a, const float* b, int64_t batch, int64_t M, int64_t N, int64_t K,
                    bool transA, bool transB) {
  sgemm_strided_batched(transA, transB, M, N, K, 1.0f, a, transA ? M : K, M * K, b, transB ? K : N, K * N, 0.0f, out,
                        N, M * N, batch);
}

void matmul_backward(float* da, float* db, const float* dout, const float* a, const float* b, int64_t batch,
                     int64_t M, int64_t N, int64_t K, bool transA, bool transB) {
  matmul_grads(da, db, dout, a, b, batch, M, N, K, transA, transB, 0.0f);
}

void matmul_backward_accumulate(float* da, float* db, const float* dout, const float* a, const float* b,
                                int64_t batch, int64_t M, int64_t N, int64_t K, bool transA, bool transB) {
  matmul_grads(da, db, dout, a, b, batch, M, N, K, transA, transB, 1.0f);
}

}  // namespace cpu
}  // namespace lmkit
