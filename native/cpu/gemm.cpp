// lmkit CPU SGEMM engine: packing, cache blocking, threading, the generic
// (portable) micro-kernel and the AVX2/FMA micro-kernel + packers (compiled with
// LMKIT_TARGET_AVX2, picked at run time). The NEON micro-kernel (aarch64) is in gemm_neon.cpp.
// See gemm.h for the overview.
#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "common.h"
#include "gemm_kernels.h"

#if LMKIT_X86
#include <immintrin.h>
#endif

#if defined(LMKIT_USE_CBLAS) && (LMKIT_USE_CBLAS + 0)
#include <cblas.h>
#endif

namespace lmkit {
namespace cpu {
namespace gemm_detail {

// Generic micro-kernel: C(mr,nr) = alpha * Ap(MR,kc) * Bp(kc,NR) + beta * C.
template <int MR, int NR>
void kernel_generic(int64_t kc, const float* __restrict Ap, const float* __restrict Bp, float* __restrict C,
                    int64_t ldc, float alpha, float beta, int64_t mr, int64_t nr) {
  float acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = 0.0f;
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < MR; ++i) {
      const float a = Ap[i];
      for (int j = 0; j < NR; ++j) acc[i][j] += a * Bp[j];
    }
    Ap += MR;
    Bp += NR;
  }
  for (int64_t i = 0; i < mr; ++i) {
    float* c = C + i * ldc;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < nr; ++j) c[j] = alpha * acc[i][j];
    } else {
      for (int64_t j = 0; j < nr; ++j) c[j] = alpha * acc[i][j] + beta * c[j];
    }
  }
}

constexpr int kGenMR = 4;
constexpr int kGenNR = 8;

const Impl kGenericImpl = {kGenMR,
                           kGenNR,
                           /*MC=*/128,
                           /*KC=*/256,
                           /*NC=*/2048,
                           /*NC1=*/256,
                           /*AONCE=*/48 * 1024,
                           &kernel_generic<kGenMR, kGenNR>,
                           &pack_a_generic<kGenMR>,
                           &pack_b_generic<kGenNR>,
                           "lmkit-generic"};


#if LMKIT_X86
// ---------------------------------------------------------------------------
// AVX2/FMA path: 6x16 micro-kernel (12 ymm accumulators), vectorized packers.
// ---------------------------------------------------------------------------
constexpr int kAvxMR = 6;
constexpr int kAvxNR = 16;

// In-register transpose of 8 rows of 8 floats.
LMKIT_TARGET_AVX2 inline void transpose8(__m256& r0, __m256& r1, __m256& r2, __m256& r3, __m256& r4, __m256& r5,
                                         __m256& r6, __m256& r7) {
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r0 = _mm256_permute2f128_ps(s0, s4, 0x20);
  r1 = _mm256_permute2f128_ps(s1, s5, 0x20);
  r2 = _mm256_permute2f128_ps(s2, s6, 0x20);
  r3 = _mm256_permute2f128_ps(s3, s7, 0x20);
  r4 = _mm256_permute2f128_ps(s0, s4, 0x31);
  r5 = _mm256_permute2f128_ps(s1, s5, 0x31);
  r6 = _mm256_permute2f128_ps(s2, s6, 0x31);
  r7 = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// Packs op(A) rows into 6-row micro-panels. The 8-wide stores of the !tA path spill
// 2 floats past each k step; the next step (or the next panel, or kSlack) absorbs them.
LMKIT_TARGET_AVX2 void pack_a_avx2(float* __restrict Ap, const float* __restrict A, int64_t lda, bool tA,
                                   int64_t mc, int64_t kc) {
  constexpr int MR = kAvxMR;
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    const int64_t mr = std::min<int64_t>(MR, mc - i0);
    if (tA) {
      if (mr == MR) {
        const float* src = A + i0;
        for (int64_t k = 0; k < kc; ++k) {
          const __m128 lo = _mm_loadu_ps(src);
          const __m128i hi = _mm_loadu_si64(src + 4);
          _mm_storeu_ps(Ap + k * MR, lo);
          _mm_storeu_si64(Ap + k * MR + 4, hi);
          src += lda;
        }
      } else {
        for (int64_t k = 0; k < kc; ++k) {
          const float* src = A + k * lda + i0;
          float* dst = Ap + k * MR;
          int64_t i = 0;
          for (; i < mr; ++i) dst[i] = src[i];
          for (; i < MR; ++i) dst[i] = 0.0f;
        }
      }
    } else {
      const float* r[MR];
      for (int64_t i = 0; i < MR; ++i) r[i] = A + (i0 + std::min(i, mr - 1)) * lda;
      const __m256 z = _mm256_setzero_ps();
      int64_t k = 0;
      for (; k + 8 <= kc; k += 8) {
        __m256 v0 = _mm256_loadu_ps(r[0] + k);
        __m256 v1 = mr > 1 ? _mm256_loadu_ps(r[1] + k) : z;
        __m256 v2 = mr > 2 ? _mm256_loadu_ps(r[2] + k) : z;
        __m256 v3 = mr > 3 ? _mm256_loadu_ps(r[3] + k) : z;
        __m256 v4 = mr > 4 ? _mm256_loadu_ps(r[4] + k) : z;
        __m256 v5 = mr > 5 ? _mm256_loadu_ps(r[5] + k) : z;
        __m256 v6 = z, v7 = z;
        transpose8(v0, v1, v2, v3, v4, v5, v6, v7);
        float* dst = Ap + k * MR;
        _mm256_storeu_ps(dst + 0 * MR, v0);
        _mm256_storeu_ps(dst + 1 * MR, v1);
        _mm256_storeu_ps(dst + 2 * MR, v2);
        _mm256_storeu_ps(dst + 3 * MR, v3);
        _mm256_storeu_ps(dst + 4 * MR, v4);
        _mm256_storeu_ps(dst + 5 * MR, v5);
        _mm256_storeu_ps(dst + 6 * MR, v6);
        _mm256_storeu_ps(dst + 7 * MR, v7);
      }
      for (; k < kc; ++k) {
        float* dst = Ap + k * MR;
        for (int64_t i = 0; i < MR; ++i) dst[i] = i < mr ? r[i][k] : 0.0f;
      }
    }
    Ap += MR * kc;
  }
}

// Packs op(B) columns into 16-column micro-panels (64-byte aligned k rows).
LMKIT_TARGET_AVX2 void pack_b_avx2(float* __restrict Bp, const float* __restrict B, int64_t ldb, bool tB,
                                   int64_t nc, int64_t kc) {
  constexpr int NR = kAvxNR;
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int64_t nr = std::min<int64_t>(NR, nc - j0);
    if (!tB) {
      if (nr == NR) {
        const float* src = B + j0;
        int64_t k = 0;
        for (; k + 2 <= kc; k += 2) {
          const __m256 a0 = _mm256_loadu_ps(src), a1 = _mm256_loadu_ps(src + 8);
          const __m256 b0 = _mm256_loadu_ps(src + ldb), b1 = _mm256_loadu_ps(src + ldb + 8);
          _mm256_store_ps(Bp + k * NR, a0);
          _mm256_store_ps(Bp + k * NR + 8, a1);
          _mm256_store_ps(Bp + k * NR + 16, b0);
          _mm256_store_ps(Bp + k * NR + 24, b1);
          src += 2 * ldb;
        }
        for (; k < kc; ++k) {
          _mm256_store_ps(Bp + k * NR, _mm256_loadu_ps(src));
          _mm256_store_ps(Bp + k * NR + 8, _mm256_loadu_ps(src + 8));
          src += ldb;
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
      const __m256 z = _mm256_setzero_ps();
      for (int64_t h = 0; h < NR; h += 8) {
        const int64_t nh = std::max<int64_t>(0, std::min<int64_t>(8, nr - h));
        float* dst0 = Bp + h;
        if (nh == 0) {
          for (int64_t k = 0; k < kc; ++k) _mm256_store_ps(dst0 + k * NR, z);
          continue;
        }
        const float* r[8];
        for (int64_t j = 0; j < 8; ++j) r[j] = B + (j0 + h + std::min(j, nh - 1)) * ldb;
        int64_t k = 0;
        for (; k + 8 <= kc; k += 8) {
          __m256 v0 = _mm256_loadu_ps(r[0] + k);
          __m256 v1 = nh > 1 ? _mm256_loadu_ps(r[1] + k) : z;
          __m256 v2 = nh > 2 ? _mm256_loadu_ps(r[2] + k) : z;
          __m256 v3 = nh > 3 ? _mm256_loadu_ps(r[3] + k) : z;
          __m256 v4 = nh > 4 ? _mm256_loadu_ps(r[4] + k) : z;
          __m256 v5 = nh > 5 ? _mm256_loadu_ps(r[5] + k) : z;
          __m256 v6 = nh > 6 ? _mm256_loadu_ps(r[6] + k) : z;
          __m256 v7 = nh > 7 ? _mm256_loadu_ps(r[7] + k) : z;
          transpose8(v0, v1, v2, v3, v4, v5, v6, v7);
          float* dst = dst0 + k * NR;
          _mm256_store_ps(dst + 0 * NR, v0);
          _mm256_store_ps(dst + 1 * NR, v1);
          _mm256_store_ps(dst + 2 * NR, v2);
          _mm256_store_ps(dst + 3 * NR, v3);
          _mm256_store_ps(dst + 4 * NR, v4);
          _mm256_store_ps(dst + 5 * NR, v5);
          _mm256_store_ps(dst + 6 * NR, v6);
          _mm256_store_ps(dst + 7 * NR, v7);
        }
        for (; k < kc; ++k) {
          float* dst = dst0 + k * NR;
          for (int64_t j = 0; j < 8; ++j) dst[j] = j < nh ? r[j][k] : 0.0f;
        }
      }
    }
    Bp += NR * kc;
  }
}

LMKIT_TARGET_AVX2 inline void store_row16(float* c, __m256 v0, __m256 v1, __m256 va, __m256 vb, float beta) {
  v0 = _mm256_mul_ps(v0, va);
  v1 = _mm256_mul_ps(v1, va);
  if (beta == 0.0f) {
  } else if (beta == 1.0f) {
    v0 = _mm256_add_ps(v0, _mm256_loadu_ps(c));
    v1 = _mm256_add_ps(v1, _mm256_loadu_ps(c + 8));
  } else {
    v0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), v0);
    v1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + 8), v1);
  }
  _mm256_storeu_ps(c, v0);
  _mm256_storeu_ps(c + 8, v1);
}

// One k step of the 6x16 kernel: B row in ymm0/ymm1, A broadcasts alternate ymm2/ymm3,
// accumulators ymm4..ymm15 (row i in ymm(4+2i), ymm(5+2i)). `u` is the step within an unroll.
#define LMKIT_K6X16(u)                              \
  "vmovaps 64*" #u "(%[b]), %%ymm0\n\t"             \
  "vmovaps 64*" #u "+32(%[b]), %%ymm1\n\t"          \
  "vbroadcastss 24*" #u "(%[a]), %%ymm2\n\t"        \
  "vfmadd231ps %%ymm0, %%ymm2, %%ymm4\n\t"         \
  "vfmadd231ps %%ymm1, %%ymm2, %%ymm5\n\t"         \
  "vbroadcastss 24*" #u "+4(%[a]), %%ymm3\n\t"      \
  "vfmadd231ps %%ymm0, %%ymm3, %%ymm6\n\t"         \
  "vfmadd231ps %%ymm1, %%ymm3, %%ymm7\n\t"         \
  "vbroadcastss 24*" #u "+8(%[a]), %%ymm2\n\t"      \
  "vfmadd231ps %%ymm0, %%ymm2, %%ymm8\n\t"         \
  "vfmadd231ps %%ymm1, %%ymm2, %%ymm9\n\t"         \
  "vbroadcastss 24*" #u "+12(%[a]), %%ymm3\n\t"     \
  "vfmadd231ps %%ymm0, %%ymm3, %%ymm10\n\t"        \
  "vfmadd231ps %%ymm1, %%ymm3, %%ymm11\n\t"        \
  "vbroadcastss 24*" #u "+16(%[a]), %%ymm2\n\t"     \
  "vfmadd231ps %%ymm0, %%ymm2, %%ymm12\n\t"        \
  "vfmadd231ps %%ymm1, %%ymm2, %%ymm13\n\t"        \
  "vbroadcastss 24*" #u "+20(%[a]), %%ymm3\n\t"     \
  "vfmadd231ps %%ymm0, %%ymm3, %%ymm14\n\t"        \
  "vfmadd231ps %%ymm1, %%ymm3, %%ymm15\n\t"

// C(mr,nr) = alpha * Ap(6,kc) * Bp(kc,16) + beta * C. The k loop is inline assembly so
// that all 12 accumulators, both B vectors and the broadcasts stay in the 16 ymm registers.
LMKIT_TARGET_AVX2 void kernel_avx2_6x16(int64_t kc, const float* __restrict Ap, const float* __restrict Bp,
                                        float* __restrict C, int64_t ldc, float alpha, float beta, int64_t mr,
                                        int64_t nr) {
  for (int64_t i = 0; i < mr; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc + nr - 1), _MM_HINT_T0);
  }
  alignas(32) float t[6 * 16];
  const float* a = Ap;
  const float* b = Bp;
  int64_t k4 = kc / 4, k1 = kc % 4;
  __asm__ volatile(
      "vxorps %%ymm4, %%ymm4, %%ymm4\n\t"
      "vxorps %%ymm5, %%ymm5, %%ymm5\n\t"
      "vxorps %%ymm6, %%ymm6, %%ymm6\n\t"
      "vxorps %%ymm7, %%ymm7, %%ymm7\n\t"
      "vxorps %%ymm8, %%ymm8, %%ymm8\n\t"
      "vxorps %%ymm9, %%ymm9, %%ymm9\n\t"
      "vxorps %%ymm10, %%ymm10, %%ymm10\n\t"
      "vxorps %%ymm11, %%ymm11, %%ymm11\n\t"
      "vxorps %%ymm12, %%ymm12, %%ymm12\n\t"
      "vxorps %%ymm13, %%ymm13, %%ymm13\n\t"
      "vxorps %%ymm14, %%ymm14, %%ymm14\n\t"
      "vxorps %%ymm15, %%ymm15, %%ymm15\n\t"
      "testq %[k4], %[k4]\n\t"
      "je 2f\n\t"
      ".p2align 5\n\t"
      "1:\n\t"
      "prefetcht0 384(%[a])\n\t"
      LMKIT_K6X16(0)
      LMKIT_K6X16(1)
      LMKIT_K6X16(2)
      LMKIT_K6X16(3)
      "addq $96, %[a]\n\t"
      "addq $256, %[b]\n\t"
      "decq %[k4]\n\t"
      "jne 1b\n\t"
      "2:\n\t"
      "testq %[k1], %[k1]\n\t"
      "je 4f\n\t"
      "3:\n\t"
      LMKIT_K6X16(0)
      "addq $24, %[a]\n\t"
      "addq $64, %[b]\n\t"
      "decq %[k1]\n\t"
      "jne 3b\n\t"
      "4:\n\t"
      "vmovaps %%ymm4, 0(%[t])\n\t"
      "vmovaps %%ymm5, 32(%[t])\n\t"
      "vmovaps %%ymm6, 64(%[t])\n\t"
      "vmovaps %%ymm7, 96(%[t])\n\t"
      "vmovaps %%ymm8, 128(%[t])\n\t"
      "vmovaps %%ymm9, 160(%[t])\n\t"
      "vmovaps %%ymm10, 192(%[t])\n\t"
      "vmovaps %%ymm11, 224(%[t])\n\t"
      "vmovaps %%ymm12, 256(%[t])\n\t"
      "vmovaps %%ymm13, 288(%[t])\n\t"
      "vmovaps %%ymm14, 320(%[t])\n\t"
      "vmovaps %%ymm15, 352(%[t])\n\t"
      : [a] "+r"(a), [b] "+r"(b), [k4] "+r"(k4), [k1] "+r"(k1)
      : [t] "r"(t)
      : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  if (mr == 6 && nr == 16) {
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (int i = 0; i < 6; ++i)
      store_row16(C + i * ldc, _mm256_load_ps(t + 16 * i), _mm256_load_ps(t + 16 * i + 8), va, vb, beta);
    return;
  }
  for (int64_t i = 0; i < mr; ++i) {
    float* c = C + i * ldc;
    const float* s = t + i * 16;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < nr; ++j) c[j] = alpha * s[j];
    } else {
      for (int64_t j = 0; j < nr; ++j) c[j] = alpha * s[j] + beta * c[j];
    }
  }
}
#undef LMKIT_K6X16

const Impl kAvx2Impl = {kAvxMR,
                        kAvxNR,
                        /*MC=*/168,
                        /*KC=*/256,
                        /*NC=*/4080,
                        /*NC1=*/64,
                        /*AONCE=*/72 * 1024,
                        &kernel_avx2_6x16,
                        &pack_a_avx2,
                        &pack_b_avx2,
                        "lmkit-avx2-fma"};
#endif  // LMKIT_X86

}  // namespace gemm_detail

namespace {

using gemm_detail::Impl;

// Per-thread packing buffers, grown on demand and reused across calls.
struct AlignedBuf {
  float* p = nullptr;
  size_t cap = 0;
  AlignedBuf() = default;
  AlignedBuf(const AlignedBuf&) = delete;
  AlignedBuf& operator=(const AlignedBuf&) = delete;
  ~AlignedBuf() { std::free(p); }
  float* get(size_t n) {
    if (n <= cap) return p;
    std::free(p);
    p = nullptr;
    cap = 0;
    const size_t bytes = ((n * sizeof(float) + 4095) / 4096) * 4096;
    void* q = std::aligned_alloc(4096, bytes);
    if (q == nullptr) return nullptr;
    p = static_cast<float*>(q);
    cap = bytes / sizeof(float);
    return p;
  }
};

thread_local AlignedBuf t_abuf;
thread_local AlignedBuf t_bbuf;

// Slack after packed buffers: packers may write whole vectors past the last panel.
constexpr int64_t kSlack = 256;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

bool env_flag(const char* name) {
  const char* s = std::getenv(name);
  return s != nullptr && s[0] != '\0' && !(s[0] == '0' && s[1] == '\0');
}

const Impl& impl() {
  static const Impl* p = [] {
#if LMKIT_X86
    if (!env_flag("LMKIT_GEMM_GENERIC") && cpu_has_avx2_fma()) return &gemm_detail::kAvx2Impl;
#endif
#if LMKIT_ARM64
    if (!env_flag("LMKIT_GEMM_GENERIC") && cpu_use_neon()) return &gemm_detail::kNeonImpl;
#endif
    return &gemm_detail::kGenericImpl;
  }();
  return *p;
}

// C = beta * C (beta == 0: C = 0, write-only).
void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    if (beta == 0.0f) {
      std::memset(c, 0, sizeof(float) * static_cast<size_t>(N));
    } else if (beta != 1.0f) {
      for (int64_t j = 0; j < N; ++j) c[j] *= beta;
    }
  }
}

// Unpacked path for small problems (and the fallback if a buffer cannot be allocated).
void gemm_direct(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* __restrict A,
                 int64_t lda, const float* __restrict B, int64_t ldb, float beta, float* __restrict C,
                 int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    float* __restrict c = C + i * ldc;
    if (!tB) {
      if (beta == 0.0f) {
        for (int64_t j = 0; j < N; ++j) c[j] = 0.0f;
      } else if (beta != 1.0f) {
        for (int64_t j = 0; j < N; ++j) c[j] *= beta;
      }
      for (int64_t k = 0; k < K; ++k) {
        const float a = alpha * (tA ? A[k * lda + i] : A[i * lda + k]);
        const float* __restrict b = B + k * ldb;
        for (int64_t j = 0; j < N; ++j) c[j] += a * b[j];
      }
    } else {
      for (int64_t j = 0; j < N; ++j) {
        const float* __restrict b = B + j * ldb;
        float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t k = 0;
        if (!tA) {
          const float* __restrict a = A + i * lda;
          for (; k + 8 <= K; k += 8)
            for (int u = 0; u < 8; ++u) s[u] += a[k + u] * b[k + u];
          for (; k < K; ++k) s[0] += a[k] * b[k];
        } else {
          for (; k < K; ++k) s[k & 7] += A[k * lda + i] * b[k];
        }
        const float dot = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
        c[j] = beta == 0.0f ? alpha * dot : alpha * dot + beta * c[j];
      }
    }
  }
}

inline const float* a_at(const float* A, int64_t lda, bool tA, int64_t i, int64_t k) {
  return tA ? A + k * lda + i : A + i * lda + k;
}
inline const float* b_at(const float* B, int64_t ldb, bool tB, int64_t k, int64_t j) {
  return tB ? B + j * ldb + k : B + k * ldb + j;
}

struct Blocking {
  int64_t kc, mc, nc;
  bool a_once;  // op(A) is one packed block (one K block, one M block): pack it once
  bool b_once;  // op(B) is one packed panel (one K block, one N block)
};

Blocking blocking(const Impl& im, int64_t M, int64_t N, int64_t K) {
  Blocking b;
  const int64_t kb = ceil_div(K, im.KC);
  b.kc = ceil_div(K, kb);
  int64_t mb = ceil_div(M, im.MC);
  // With a single K block, a whole op(A) of up to AONCE floats stays one L2-resident block.
  if (kb == 1 && round_up(M, im.MR) * b.kc <= im.AONCE) mb = 1;
  b.mc = round_up(ceil_div(M, mb), im.MR);
  b.a_once = (kb == 1 && mb == 1);
  const int64_t ncap = b.a_once ? im.NC1 : im.NC;
  const int64_t nb = ceil_div(N, ncap);
  b.nc = round_up(ceil_div(N, nb), im.NR);
  b.b_once = (kb == 1 && nb == 1);
  return b;
}

// Per-thread, per-call packing state: a thread that runs several work units of one
// call keeps a packed op(A) (N units) or op(B) (M units) that every unit shares.
struct PackCache {
  bool share_a = false;  // every unit uses the same op(A) (N units)
  bool share_b = false;  // every unit uses the same op(B) (M units)
  bool a_valid = false;
  bool b_valid = false;
};

// One thread, one (sub)problem, packed path. Returns false if buffers are unavailable.
bool gemm_packed(const Impl& im, bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                 PackCache* cache = nullptr) {
  const Blocking bl = blocking(im, M, N, K);
  float* Ap = t_abuf.get(static_cast<size_t>(round_up(bl.mc, im.MR) * bl.kc + kSlack));
  float* Bp = t_bbuf.get(static_cast<size_t>(round_up(bl.nc, im.NR) * bl.kc + kSlack));
  if (Ap == nullptr || Bp == nullptr) return false;
  const int64_t MR = im.MR, NR = im.NR;
  if (bl.a_once && !(cache && cache->share_a && cache->a_valid)) im.pack_a(Ap, A, lda, tA, M, K);
  if (cache) cache->a_valid = bl.a_once;
  const bool b_cached = bl.b_once && cache && cache->share_b && cache->b_valid;
  if (cache) cache->b_valid = bl.b_once;
  for (int64_t jc = 0; jc < N; jc += bl.nc) {
    const int64_t nc = std::min(bl.nc, N - jc);
    for (int64_t pc = 0; pc < K; pc += bl.kc) {
      const int64_t kc = std::min(bl.kc, K - pc);
      if (!b_cached) im.pack_b(Bp, b_at(B, ldb, tB, pc, jc), ldb, tB, nc, kc);
      const float beta_eff = pc == 0 ? beta : 1.0f;
      for (int64_t ic = 0; ic < M; ic += bl.mc) {
        const int64_t mc = std::min(bl.mc, M - ic);
        if (!bl.a_once) im.pack_a(Ap, a_at(A, lda, tA, ic, pc), lda, tA, mc, kc);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t nr = std::min(NR, nc - jr);
          const float* bp = Bp + jr * kc;
          float* cc = C + ic * ldc + jc + jr;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t mr = std::min(MR, mc - ir);
            im.kernel(kc, Ap + ir * kc, bp, cc + ir * ldc, ldc, alpha, beta_eff, mr, nr);
          }
        }
      }
    }
  }
  return true;
}

void gemm_one_thread(const Impl& im, bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha,
                     const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                     PackCache* cache = nullptr) {
  if (!gemm_packed(im, tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, cache))
    gemm_direct(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// Below this many multiply-adds the unpacked loops win (measured: packing pays off from ~8x8x8).
constexpr int64_t kDirectMaxMNK = 512;
// Each extra thread must get at least this many multiply-adds.
constexpr int64_t kMinMNKPerThread = 1 << 20;
// A work unit should hold at least this many multiply-adds (scheduling overhead).
constexpr int64_t kMinMNKPerUnit = 1 << 19;

// How a multi-threaded call is cut: `units` pieces along one axis, handed out
// dynamically (an atomic counter), so a thread that is late or descheduled simply
// takes fewer pieces.
enum class Axis { N, M, K };
struct Plan {
  Axis axis;
  int64_t units;
  int64_t step;  // width of one unit along `axis` (multiple of NR / MR for N / M)
};

// Rough cost, in "element" units, of the packing and reduction a plan adds on top of
// the (plan-independent) multiply-adds; picks the cheapest plan with enough units.
Plan choose_plan(const Impl& im, int64_t M, int64_t N, int64_t K, int nt) {
  const double mnk = static_cast<double>(M) * N * K;
  const double compute = mnk / 16.0;  // cycles at ~16 multiply-adds per cycle
  auto units_for = [&](int64_t extent, int64_t gran) {
    // Aim for ~8 units per thread, but no unit smaller than kMinMNKPerUnit or one tile.
    const int64_t tiles = ceil_div(extent, gran);
    int64_t u = std::min<int64_t>(tiles, 8 * nt);
    const int64_t by_work = static_cast<int64_t>(mnk / kMinMNKPerUnit);
    u = std::max<int64_t>(std::min<int64_t>(u, by_work), std::min<int64_t>(tiles, nt));
    return std::max<int64_t>(u, 1);
  };
  Plan best{Axis::N, 1, N};
  double best_cost = -1.0;
  auto consider = [&](Axis axis, int64_t units, int64_t step, double cost) {
    // Fewer units than threads leaves threads idle; few units per thread cannot even out
    // a thread that starts late or is preempted (charged as a fraction of one unit's time).
    const double idle = units < nt ? compute * (static_cast<double>(nt) / units - 1.0) : 0.0;
    const double lumpy = 0.15 * compute / static_cast<double>(units);
    const double c = cost + idle + lumpy;
    if (best_cost < 0.0 || c < best_cost) {
      best_cost = c;
      best = Plan{axis, units, step};
    }
  };
  // N units: op(B) packed once overall, op(A) once per thread (a_once) or once per unit.
  for (int64_t u : {units_for(N, im.NR), std::min<int64_t>(ceil_div(N, im.NR), 2 * nt),
                    std::min<int64_t>(ceil_div(N, im.NR), nt)}) {
    const int64_t step = round_up(ceil_div(N, u), im.NR);
    const int64_t units = ceil_div(N, step);
    const Blocking bl = blocking(im, M, step, K);
    const double a_packs = bl.a_once ? std::min<double>(nt, units) : units * ceil_div(step, bl.nc);
    consider(Axis::N, units, step, a_packs * M * K / nt + static_cast<double>(K) * N / nt);
  }
  // M units: symmetric (op(B) kept when it is a single packed panel).
  for (int64_t u : {units_for(M, im.MR), std::min<int64_t>(ceil_div(M, im.MR), 2 * nt),
                    std::min<int64_t>(ceil_div(M, im.MR), nt)}) {
    const int64_t step = round_up(ceil_div(M, u), im.MR);
    const int64_t units = ceil_div(M, step);
    const Blocking bl = blocking(im, step, N, K);
    const double b_packs = bl.b_once ? std::min<double>(nt, units) : units * ceil_div(N, bl.nc);
    consider(Axis::M, units, step, b_packs * K * N / nt + static_cast<double>(M) * K / nt);
  }
  // K units: every operand packed once, but each thread sums into a private (M,N)
  // partial that is reduced afterwards. Only for small outputs.
  if (K >= 2 * 128 && M * N <= (int64_t{1} << 20)) {
    int64_t u = std::max<int64_t>(nt, std::min<int64_t>(8 * nt, K / 128));
    const int64_t step = ceil_div(K, u);
    const int64_t units = ceil_div(K, step);
    consider(Axis::K, units, step,
             (static_cast<double>(M) * K + static_cast<double>(K) * N) / nt + 4.0 * M * N);
  }
  return best;
}

// ---- M == 1: a row vector times a matrix (decoding one token, batch-1 layers) ------------------
// Packing op(B) would read and write the whole matrix once more than the product does, so these
// stream B straight from memory; the N outputs are split over the threads, each computed by one
// thread in a fixed order (the result does not depend on the thread count). The same loops are
// compiled twice: for the baseline ISA and with AVX2/FMA (picked as the micro-kernels are).
constexpr int64_t kGemvCols = 256;  // outputs kept in one accumulator block (1 KB)

// c[j] = alpha * sum_k a[k] B[k, j] + beta c[j], j in [j0, j1): four rows of B per pass.
__attribute__((always_inline)) inline void gemv_rows_body(int64_t K, float alpha, const float* __restrict a,
                                                          const float* __restrict B, int64_t ldb, float beta,
                                                          float* __restrict c, int64_t j0, int64_t j1) {
  alignas(32) float acc[kGemvCols];
  for (int64_t jb = j0; jb < j1; jb += kGemvCols) {
    const int64_t n = std::min(kGemvCols, j1 - jb);
    for (int64_t j = 0; j < n; ++j) acc[j] = 0.0f;
    int64_t k = 0;
    for (; k + 4 <= K; k += 4) {
      const float a0 = a[k], a1 = a[k + 1], a2 = a[k + 2], a3 = a[k + 3];
      const float* __restrict b0 = B + k * ldb + jb;
      const float* __restrict b1 = b0 + ldb;
      const float* __restrict b2 = b1 + ldb;
      const float* __restrict b3 = b2 + ldb;
      for (int64_t j = 0; j < n; ++j) acc[j] += (a0 * b0[j] + a1 * b1[j]) + (a2 * b2[j] + a3 * b3[j]);
    }
    for (; k < K; ++k) {
      const float ak = a[k];
      const float* __restrict b = B + k * ldb + jb;
      for (int64_t j = 0; j < n; ++j) acc[j] += ak * b[j];
    }
    float* __restrict cj = c + jb;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < n; ++j) cj[j] = alpha * acc[j];
    } else {
      for (int64_t j = 0; j < n; ++j) cj[j] = alpha * acc[j] + beta * cj[j];
    }
  }
}

// c[j] = alpha * dot(a, B[j, :]) + beta c[j], j in [j0, j1) (op(B) = B^T: rows of B are contiguous).
__attribute__((always_inline)) inline void gemv_dots_body(int64_t K, float alpha, const float* __restrict a,
                                                          const float* __restrict B, int64_t ldb, float beta,
                                                          float* __restrict c, int64_t j0, int64_t j1) {
  for (int64_t j = j0; j < j1; ++j) {
    const float* __restrict b = B + j * ldb;
    float s[16] = {};
    int64_t k = 0;
    for (; k + 16 <= K; k += 16)
      for (int u = 0; u < 16; ++u) s[u] += a[k + u] * b[k + u];
    for (; k < K; ++k) s[k & 15] += a[k] * b[k];
    for (int u = 0; u < 8; ++u) s[u] += s[u + 8];
    const float dot = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    c[j] = beta == 0.0f ? alpha * dot : alpha * dot + beta * c[j];
  }
}

using GemvFn = void (*)(int64_t, float, const float*, const float*, int64_t, float, float*, int64_t, int64_t);
void gemv_rows_generic(int64_t K, float alpha, const float* a, const float* B, int64_t ldb, float beta, float* c,
                       int64_t j0, int64_t j1) {
  gemv_rows_body(K, alpha, a, B, ldb, beta, c, j0, j1);
}
void gemv_dots_generic(int64_t K, float alpha, const float* a, const float* B, int64_t ldb, float beta, float* c,
                       int64_t j0, int64_t j1) {
  gemv_dots_body(K, alpha, a, B, ldb, beta, c, j0, j1);
}
#if LMKIT_X86
LMKIT_TARGET_AVX2 void gemv_rows_avx2(int64_t K, float alpha, const float* a, const float* B, int64_t ldb, float beta,
                                      float* c, int64_t j0, int64_t j1) {
  gemv_rows_body(K, alpha, a, B, ldb, beta, c, j0, j1);
}
LMKIT_TARGET_AVX2 void gemv_dots_avx2(int64_t K, float alpha, const float* a, const float* B, int64_t ldb, float beta,
                                      float* c, int64_t j0, int64_t j1) {
  gemv_dots_body(K, alpha, a, B, ldb, beta, c, j0, j1);
}
#endif

// C (1 x N) = alpha * op(A) (1 x K) * op(B) (K x N) + beta * C.
void gemv_run(const Impl& im, bool tA, bool tB, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int max_threads) {
  GemvFn rows = &gemv_rows_generic, dots = &gemv_dots_generic;
#if LMKIT_X86
  if (&im == &gemm_detail::kAvx2Impl) rows = &gemv_rows_avx2, dots = &gemv_dots_avx2;
#else
  (void)im;
#endif
  // op(A) is row 0 of A, or column 0 of A^T (stride lda): made contiguous when strided.
  float* a_copy = nullptr;
  const float* a = A;
  if (tA && lda != 1 && K > 1) {
    a_copy = static_cast<float*>(std::malloc(sizeof(float) * static_cast<size_t>(K)));
    if (a_copy == nullptr) {
      gemm_direct(tA, tB, 1, N, K, alpha, A, lda, B, ldb, beta, C, N);
      return;
    }
    for (int64_t k = 0; k < K; ++k) a_copy[k] = A[k * lda];
    a = a_copy;
  }
  const GemvFn fn = tB ? dots : rows;
  // Each range holds at least ~64k multiply-adds, in whole accumulator blocks.
  const int64_t grain = round_up(std::max<int64_t>(16, (int64_t{1} << 16) / std::max<int64_t>(1, K)), 16);
  if (max_threads <= 1 || N <= grain) {
    fn(K, alpha, a, B, ldb, beta, C, 0, N);
  } else {
    parallel_for(N, grain, [&](int64_t j0, int64_t j1) { fn(K, alpha, a, B, ldb, beta, C, j0, j1); });
  }
  std::free(a_copy);
}

[[maybe_unused]] void gemm_run(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                               int max_threads) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  const int64_t mnk = M * N * K;
  if (mnk <= kDirectMaxMNK) {
    gemm_direct(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  const Impl& im = impl();
  if (M == 1) {
    gemv_run(im, tA, tB, N, K, alpha, A, lda, B, ldb, beta, C, max_threads);
    return;
  }
  int nt = std::min(max_threads, 64);
  if (nt > 1) nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(nt, mnk / kMinMNKPerThread)));
  if (nt <= 1) {
    gemm_one_thread(im, tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  const Plan plan = choose_plan(im, M, N, K, nt);
  // K plan: one private (M,N) partial per thread, reduced into C after the join.
  float* partial = nullptr;
  if (plan.axis == Axis::K) {
    partial = static_cast<float*>(std::malloc(sizeof(float) * static_cast<size_t>(M * N) * nt));
    if (partial == nullptr) {
      gemm_one_thread(im, tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
      return;
    }
  }
  bool used[64] = {};
  std::atomic<int64_t> next{0};
  // Every pool thread is asked (threads past nt return at once): a job that leaves some
  // workers out can race with the next job in threadpool.cpp (stale job_n_ read).
  parallel_run(max_threads, [&](int tid, int) {
    if (tid >= nt) return;
    PackCache cache;
    cache.share_a = plan.axis == Axis::N;
    cache.share_b = plan.axis == Axis::M;
    bool first = true;
    for (;;) {
      const int64_t u = next.fetch_add(1, std::memory_order_relaxed);
      if (u >= plan.units) break;
      if (plan.axis == Axis::N) {
        const int64_t n0 = u * plan.step, n1 = std::min(N, n0 + plan.step);
        gemm_one_thread(im, tA, tB, M, n1 - n0, K, alpha, A, lda, b_at(B, ldb, tB, 0, n0), ldb, beta, C + n0, ldc,
                        &cache);
      } else if (plan.axis == Axis::M) {
        const int64_t m0 = u * plan.step, m1 = std::min(M, m0 + plan.step);
        gemm_one_thread(im, tA, tB, m1 - m0, N, K, alpha, a_at(A, lda, tA, m0, 0), lda, B, ldb, beta,
                        C + m0 * ldc, ldc, &cache);
      } else {
        const int64_t k0 = u * plan.step, k1 = std::min(K, k0 + plan.step);
        gemm_one_thread(im, tA, tB, M, N, k1 - k0, alpha, a_at(A, lda, tA, 0, k0), lda, b_at(B, ldb, tB, k0, 0),
                        ldb, first ? 0.0f : 1.0f, partial + static_cast<int64_t>(tid) * M * N, N);
      }
      first = false;
    }
    used[tid] = !first;
  });
  if (partial != nullptr) {
    // C = beta * C + sum of the partials, rows split over the threads.
    parallel_run(max_threads, [&](int tid, int) {
      if (tid >= nt) return;
      const int64_t i0 = M * tid / nt, i1 = M * (tid + 1) / nt;
      for (int64_t i = i0; i < i1; ++i) {
        float* __restrict c = C + i * ldc;
        bool init = false;
        for (int t = 0; t < nt; ++t) {
          if (!used[t]) continue;
          const float* __restrict q = partial + static_cast<int64_t>(t) * M * N + i * N;
          if (!init) {
            if (beta == 0.0f) {
              for (int64_t j = 0; j < N; ++j) c[j] = q[j];
            } else {
              for (int64_t j = 0; j < N; ++j) c[j] = beta * c[j] + q[j];
            }
            init = true;
          } else {
            for (int64_t j = 0; j < N; ++j) c[j] += q[j];
          }
        }
      }
    });
    std::free(partial);
  }
}

}  // namespace

void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
#if defined(LMKIT_USE_CBLAS) && (LMKIT_USE_CBLAS + 0)
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
              static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B,
              static_cast<int>(ldb), beta, C, static_cast<int>(ldc));
#else
  gemm_run(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, num_threads());
#endif
}

void sgemm_strided_batched(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                           int64_t lda, int64_t strideA, const float* B, int64_t ldb, int64_t strideB, float beta,
                           float* C, int64_t ldc, int64_t strideC, int64_t batch) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
#if defined(LMKIT_USE_CBLAS) && (LMKIT_USE_CBLAS + 0)
  for (int64_t i = 0; i < batch; ++i)
    sgemm(transA, transB, M, N, K, alpha, A + i * strideA, lda, B + i * strideB, ldb, beta, C + i * strideC, ldc);
#else
  const int nt = num_threads();
  const int64_t mnk = M * N * K;
  // Many small/medium products: one product per thread at a time. Large ones: thread each product.
  // strideC == 0 (every product writes the same C) stays sequential.
  const bool by_batch = nt > 1 && batch > 1 && strideC != 0 &&
                        (mnk < static_cast<int64_t>(nt) * 4 * kMinMNKPerThread || batch >= 4 * nt);
  if (!by_batch) {
    for (int64_t i = 0; i < batch; ++i)
      gemm_run(transA, transB, M, N, K, alpha, A + i * strideA, lda, B + i * strideB, ldb, beta, C + i * strideC,
               ldc, nt);
    return;
  }
  // Products are handed out one at a time (dynamic), each computed by one thread.
  std::atomic<int64_t> next{0};
  parallel_run(nt, [&](int, int) {
    for (int64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < batch;)
      gemm_run(transA, transB, M, N, K, alpha, A + i * strideA, lda, B + i * strideB, ldb, beta, C + i * strideC,
               ldc, 1);
  });
#endif
}

const char* sgemm_backend() {
#if defined(LMKIT_USE_CBLAS) && (LMKIT_USE_CBLAS + 0)
  return "cblas";
#else
  return impl().name;
#endif
}

}  // namespace cpu
}  // namespace lmkit
