// lmkit CPU SGEMM engine.
//
// BLIS-style: operands are packed into contiguous, aligned, per-thread panels
// (transposes are absorbed by the packing), then a register-blocked micro-kernel
// runs over cache-sized blocks. The micro-kernels (the generic one in every binary):
//   - "lmkit-avx2-fma": 6x16 AVX2/FMA kernel, picked at run time when the CPU has
//     AVX2 and FMA (compiled with LMKIT_TARGET_AVX2, no -march flags needed);
//   - "lmkit-neon": 8x12 NEON kernel on aarch64 (gemm_neon.cpp; Advanced SIMD is part of
//     every ARMv8-A core, so it is always picked there unless a generic switch is set);
//   - "lmkit-generic":  plain C++ blocked kernel that the compiler vectorizes for
//     the baseline ISA. Forced with LMKIT_GEMM_GENERIC=1 or LMKIT_CPU_GENERIC=1 (read once,
//     at first use).
// Built with -DLMKIT_USE_CBLAS, sgemm forwards to cblas_sgemm instead ("cblas").
//
// Threads come from lmkit::parallel_run (threadpool.h). A call is cut into work
// units along N, M or (long K with a small output: per-thread partial sums, reduced
// after the join) K, whichever a small cost model says packs least; units are handed
// out dynamically, so a late or preempted thread just takes fewer. A thread keeps its
// packed op(A) (N units) or op(B) (M units) across its units when it fits one block.
// Tiny problems (M*N*K <= 512) skip packing; < ~1M multiply-adds per thread runs on
// fewer threads. Packing buffers are thread_local and reused across calls.
#pragma once
#include <cstdint>

namespace lmkit {
namespace cpu {

// C(M,N) = alpha * op(A) * op(B) + beta * C. Row-major. op(A) is (M,K): A is (M,K) with row stride lda,
// or (K,M) with row stride lda when transA. op(B) is (K,N): B is (K,N) (ldb) or (N,K) when transB.
// beta == 0 means C is write-only (NaNs in C are not propagated).
void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// `batch` independent sgemms; operand i starts at A + i*strideA, etc. A stride of 0 broadcasts that operand.
void sgemm_strided_batched(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, int64_t strideA, const float* B, int64_t ldb, int64_t strideB,
           float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch);
// Name of the implementation in use, e.g. "lmkit-avx2-fma" / "lmkit-neon" / "lmkit-generic" / "openblas" — for `lmkit info`.
const char* sgemm_backend();

}  // namespace cpu
}  // namespace lmkit
