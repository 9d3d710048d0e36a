// lmkit CPU SGEMM: what the engine (gemm.cpp) and the micro-kernel files share: the
// micro-kernel + packers descriptor and the portable packers. Internal to native/cpu.
//   gemm.cpp       engine, generic micro-kernel, AVX2/FMA micro-kernel (x86-64)
//   gemm_neon.cpp  NEON micro-kernel (aarch64)
#pragma once
#include <algorithm>
#include <cstdint>

#include "common.h"

namespace lmkit {
namespace cpu {
namespace gemm_detail {

using Kernel = void (*)(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float alpha,
                        float beta, int64_t mr, int64_t nr);
using PackA = void (*)(float* Ap, const float* A, int64_t lda, bool tA, int64_t mc, int64_t kc);
using PackB = void (*)(float* Bp, const float* B, int64_t ldb, bool tB, int64_t nc, int64_t kc);

// One micro-kernel with its packers and cache blocking (MC x KC block of A in L2,
// KC x NC panel of B in L3; NC1 is the N step used when op(A) is packed only once).
struct Impl {
  int64_t MR, NR, MC, KC, NC, NC1, AONCE;
  Kernel kernel;
  PackA pack_a;
  PackB pack_b;
  const char* name;
};

// ---------------------------------------------------------------------------
// Generic packing (any MR/NR). op(A)(i,k) is A[i*lda+k], or A[k*lda+i] if tA.
// Packed A: ceil(mc/MR) micro-panels, each kc x MR (k-major), zero padded.
// Packed B: ceil(nc/NR) micro-panels, each kc x NR (k-major), zero padded.
// ---------------------------------------------------------------------------
template <int NR>
void pack_b_generic(float* __restrict Bp, const float* __restrict B, int64_t ldb, bool tB, int64_t nc,
                    int64_t kc) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int64_t nr = std::min<int64_t>(NR, nc - j0);
    if (!tB) {
      if (nr == NR) {
        for (int64_t k = 0; k < kc; ++k) {
          const float* src = B + k * ldb + j0;
          float* dst = Bp + k * NR;
          for (int64_t j = 0; j < NR; ++j) dst[j] = src[j];
        }
      } else {
        for (int64_t k = 0; k < kc; ++k) {
          const float* src = B + k * ldb + j0;
          float* dst = Bp + k * NR;
          int64_t j = 0;
          for (; j < nr; ++j) dst[j] = src[j];
          for (; j < NR; ++j) dst[j] = 0.0f;
        }
      }
    } else {
      for (int64_t j = 0; j < NR; ++j) {
        if (j < nr) {
          const float* src = B + (j0 + j) * ldb;
          for (int64_t k = 0; k < kc; ++k) Bp[k * NR + j] = src[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) Bp[k * NR + j] = 0.0f;
        }
      }
    }
    Bp += NR * kc;
  }
}

// Packing A is packing B of the transposed operand: a micro-panel of MR rows of op(A) read
// k-major is a micro-panel of NR = MR columns of op(A)^T.
template <int MR>
void pack_a_generic(float* __restrict Ap, const float* __restrict A, int64_t lda, bool tA, int64_t mc,
                    int64_t kc) {
  pack_b_generic<MR>(Ap, A, lda, !tA, mc, kc);
}

#if LMKIT_ARM64
// NEON 8x12 micro-kernel with the portable packers (gemm_neon.cpp).
extern const Impl kNeonImpl;
#endif

}  // namespace gemm_detail
}  // namespace cpu
}  // namespace lmkit
