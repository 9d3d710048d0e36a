// lmkit CPU SGEMM: the NEON micro-kernel (aarch64). The engine (packing, cache blocking,
// threading) is gemm.cpp's; this file gives it an 8x12 register-blocked kernel, the aarch64
// counterpart of the 6x16 AVX2/FMA one. See gemm.h for the overview.
//
// Register use (32 x 128-bit v registers): 24 accumulators (8 rows x 3 vectors of 4 columns),
// 3 for the B row of one k step, 2 for the 8 A values of that k step (each row's A value is
// taken as a lane of them by FMLA-by-element, so no broadcasts are needed): 29 in all.
#include "gemm_kernels.h"

#if LMKIT_ARM64
#include <arm_neon.h>

namespace lmkit {
namespace cpu {
namespace gemm_detail {
namespace {

constexpr int kNeonMR = 8;
constexpr int kNeonNR = 12;

// c[0..12) = alpha * (v0, v1, v2) + beta * c, as store_row16 in gemm.cpp does it.
inline void store_row12(float* c, float32x4_t v0, float32x4_t v1, float32x4_t v2, float alpha, float beta) {
  const float32x4_t va = vdupq_n_f32(alpha);
  v0 = vmulq_f32(v0, va);
  v1 = vmulq_f32(v1, va);
  v2 = vmulq_f32(v2, va);
  if (beta == 0.0f) {
  } else if (beta == 1.0f) {
    v0 = vaddq_f32(v0, vld1q_f32(c));
    v1 = vaddq_f32(v1, vld1q_f32(c + 4));
    v2 = vaddq_f32(v2, vld1q_f32(c + 8));
  } else {
    const float32x4_t vb = vdupq_n_f32(beta);
    v0 = vfmaq_f32(v0, vb, vld1q_f32(c));
    v1 = vfmaq_f32(v1, vb, vld1q_f32(c + 4));
    v2 = vfmaq_f32(v2, vb, vld1q_f32(c + 8));
  }
  vst1q_f32(c, v0);
  vst1q_f32(c + 4, v1);
  vst1q_f32(c + 8, v2);
}

// Row r of the tile: A value = lane L of register A, times the B row (b0, b1, b2).
#define LMKIT_ROW(r, A, L)                     \
  c##r##0 = vfmaq_laneq_f32(c##r##0, b0, A, L); \
  c##r##1 = vfmaq_laneq_f32(c##r##1, b1, A, L); \
  c##r##2 = vfmaq_laneq_f32(c##r##2, b2, A, L);

#define LMKIT_K8X12(ap, bp)                                                        \
  {                                                                                \
    const float32x4_t b0 = vld1q_f32(bp), b1 = vld1q_f32(bp + 4), b2 = vld1q_f32(bp + 8); \
    const float32x4_t a0 = vld1q_f32(ap), a1 = vld1q_f32(ap + 4);                  \
    LMKIT_ROW(0, a0, 0)                                                            \
    LMKIT_ROW(1, a0, 1)                                                            \
    LMKIT_ROW(2, a0, 2)                                                            \
    LMKIT_ROW(3, a0, 3)                                                            \
    LMKIT_ROW(4, a1, 0)                                                            \
    LMKIT_ROW(5, a1, 1)                                                            \
    LMKIT_ROW(6, a1, 2)                                                            \
    LMKIT_ROW(7, a1, 3)                                                            \
  }

// C(mr,nr) = alpha * Ap(8,kc) * Bp(kc,12) + beta * C.
void kernel_neon_8x12(int64_t kc, const float* __restrict Ap, const float* __restrict Bp, float* __restrict C,
                      int64_t ldc, float alpha, float beta, int64_t mr, int64_t nr) {
  const float32x4_t z = vdupq_n_f32(0.0f);
  float32x4_t c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z, c22 = z, c30 = z, c31 = z,
              c32 = z, c40 = z, c41 = z, c42 = z, c50 = z, c51 = z, c52 = z, c60 = z, c61 = z, c62 = z, c70 = z,
              c71 = z, c72 = z;
  int64_t k = 0;
  for (; k + 2 <= kc; k += 2) {
    __builtin_prefetch(Ap + 64);
    __builtin_prefetch(Bp + 96);
    LMKIT_K8X12(Ap, Bp)
    LMKIT_K8X12(Ap + kNeonMR, Bp + kNeonNR)
    Ap += 2 * kNeonMR;
    Bp += 2 * kNeonNR;
  }
  if (k < kc) LMKIT_K8X12(Ap, Bp)
  if (mr == kNeonMR && nr == kNeonNR) {
    store_row12(C + 0 * ldc, c00, c01, c02, alpha, beta);
    store_row12(C + 1 * ldc, c10, c11, c12, alpha, beta);
    store_row12(C + 2 * ldc, c20, c21, c22, alpha, beta);
    store_row12(C + 3 * ldc, c30, c31, c32, alpha, beta);
    store_row12(C + 4 * ldc, c40, c41, c42, alpha, beta);
    store_row12(C + 5 * ldc, c50, c51, c52, alpha, beta);
    store_row12(C + 6 * ldc, c60, c61, c62, alpha, beta);
    store_row12(C + 7 * ldc, c70, c71, c72, alpha, beta);
    return;
  }
  // Edge tile: through a buffer, only the mr x nr corner is written.
  float t[kNeonMR * kNeonNR];
  const float32x4_t rows[kNeonMR][3] = {{c00, c01, c02}, {c10, c11, c12}, {c20, c21, c22}, {c30, c31, c32},
                                        {c40, c41, c42}, {c50, c51, c52}, {c60, c61, c62}, {c70, c71, c72}};
  for (int i = 0; i < kNeonMR; ++i)
    for (int v = 0; v < 3; ++v) vst1q_f32(t + i * kNeonNR + 4 * v, rows[i][v]);
  for (int64_t i = 0; i < mr; ++i) {
    float* c = C + i * ldc;
    const float* s = t + i * kNeonNR;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < nr; ++j) c[j] = alpha * s[j];
    } else {
      for (int64_t j = 0; j < nr; ++j) c[j] = alpha * s[j] + beta * c[j];
    }
  }
}
#undef LMKIT_K8X12
#undef LMKIT_ROW

}  // namespace

// Blocking: an MC x KC block of A (128 x 256 floats, 128 KiB) for L2, KC x NC panels of B;
// NC and NC1 are multiples of 12. Not tuned on arm64 hardware (none was available).
const Impl kNeonImpl = {kNeonMR,
                        kNeonNR,
                        /*MC=*/128,
                        /*KC=*/256,
                        /*NC=*/4080,
                        /*NC1=*/96,
                        /*AONCE=*/64 * 1024,
                        &kernel_neon_8x12,
                        &pack_a_generic<kNeonMR>,
                        &pack_b_generic<kNeonNR>,
                        "lmkit-neon"};

}  // namespace gemm_detail
}  // namespace cpu
}  // namespace lmkit
#endif  // LMKIT_ARM64
