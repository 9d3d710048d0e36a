// Dropout with a counter-based RNG. See dropout.h for shapes and semantics.
//
// Randomness: one 64-bit hash per pair of elements, h = mix64(key + j * gamma) with
// j = i / 2, key = mix64(seed ^ salt) and mix64 the splitmix64 finaliser; element 2j uses
// the low 32 bits of h, element 2j+1 the high 32 bits. Work is split over whole 32-element
// mask words, so threads never share a word.
#include "dropout.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common.h"

#if LMKIT_X86
#include <immintrin.h>
#endif

#define LMKIT_INLINE inline __attribute__((always_inline))

namespace lmkit {
namespace cpu {
namespace {

constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ull;  // 2^64 / golden ratio (odd)
constexpr uint64_t kSalt = 0x6A09E667F3BCC909ull;   // sqrt(2) fraction bits, separates key from counters

LMKIT_INLINE uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

LMKIT_INLINE uint64_t seed_key(uint64_t seed) { return mix64(seed ^ kSalt); }

// 32-bit threshold: keep iff u >= thr, u uniform on [0, 2^32).
LMKIT_INLINE uint32_t keep_threshold(double p) {
  const double t = std::floor(p * 4294967296.0);
  if (!(t > 0.0)) return 0;  // p <= 0 (and NaN, which the binding never passes)
  if (t >= 4294967295.0) return 0xFFFFFFFFu;
  return static_cast<uint32_t>(t);
}

LMKIT_INLINE float keep_scale(double p) { return static_cast<float>(1.0 / (1.0 - p)); }

constexpr int64_t kWordsPerTask = 2048;  // 64K elements

// Mask words [w0, w1) and their elements (the last word may be partial).
LMKIT_INLINE void fwd_words(float* out, uint32_t* mask, const float* inp, int64_t n, int64_t w0, int64_t w1,
                            uint64_t key, uint32_t thr, float scale) {
  for (int64_t w = w0; w < w1; ++w) {
    const int64_t base = w * 32;
    const int64_t cnt = std::min<int64_t>(32, n - base);
    uint32_t u[32];
    const uint64_t j0 = static_cast<uint64_t>(base) >> 1;
    for (int k = 0; k < 16; ++k) {
      const uint64_t h = mix64(key + (j0 + static_cast<uint64_t>(k)) * kGamma);
      u[2 * k] = static_cast<uint32_t>(h);
      u[2 * k + 1] = static_cast<uint32_t>(h >> 32);
    }
    uint32_t bits = 0;
    for (int k = 0; k < cnt; ++k) bits |= static_cast<uint32_t>(u[k] >= thr) << k;
    mask[w] = bits;
    const float* x = inp + base;
    float* o = out + base;
    if (cnt == 32) {
      for (int k = 0; k < 32; ++k) o[k] = u[k] >= thr ? x[k] * scale : 0.f;
    } else {
      for (int k = 0; k < cnt; ++k) o[k] = u[k] >= thr ? x[k] * scale : 0.f;
    }
  }
}

LMKIT_INLINE void bwd_words(float* dinp, const float* dout, const uint32_t* mask, int64_t n, int64_t w0, int64_t w1,
                            float scale) {
  for (int64_t w = w0; w < w1; ++w) {
    const int64_t base = w * 32;
    const int64_t cnt = std::min<int64_t>(32, n - base);
    const uint32_t bits = mask[w];
    const float* dy = dout + base;
    float* dx = dinp + base;
    if (cnt == 32) {
      for (int k = 0; k < 32; ++k) dx[k] = ((bits >> k) & 1u) ? dy[k] * scale : 0.f;
    } else {
      for (int k = 0; k < cnt; ++k) dx[k] = ((bits >> k) & 1u) ? dy[k] * scale : 0.f;
    }
  }
}

void fwd_generic(float* out, uint32_t* mask, const float* inp, int64_t n, int64_t w0, int64_t w1, uint64_t key,
                 uint32_t thr, float scale) {
  fwd_words(out, mask, inp, n, w0, w1, key, thr, scale);
}
void bwd_generic(float* dinp, const float* dout, const uint32_t* mask, int64_t n, int64_t w0, int64_t w1,
                 float scale) {
  bwd_words(dinp, dout, mask, n, w0, w1, scale);
}
#if LMKIT_X86
// Same results as the portable loops; the keep test, the select and the mask bits are done
// eight lanes at a time (the 64-bit hash itself stays scalar: AVX2 has no 64-bit multiply).
LMKIT_TARGET_AVX2 void fwd_avx2(float* out, uint32_t* mask, const float* inp, int64_t n, int64_t w0, int64_t w1,
                                uint64_t key, uint32_t thr, float scale) {
  const __m256i sign = _mm256_set1_epi32(INT32_MIN);
  const __m256i thr_s = _mm256_set1_epi32(static_cast<int32_t>(thr ^ 0x80000000u));  // unsigned -> signed order
  const __m256 vscale = _mm256_set1_ps(scale);
  for (int64_t w = w0; w < w1; ++w) {
    const int64_t base = w * 32;
    if (n - base < 32) {
      fwd_words(out, mask, inp, n, w, w + 1, key, thr, scale);
      continue;
    }
    alignas(32) uint32_t u[32];
    const uint64_t j0 = static_cast<uint64_t>(base) >> 1;
    for (int k = 0; k < 16; ++k) {
      const uint64_t h = mix64(key + (j0 + static_cast<uint64_t>(k)) * kGamma);
      u[2 * k] = static_cast<uint32_t>(h);
      u[2 * k + 1] = static_cast<uint32_t>(h >> 32);
    }
    uint32_t bits = 0;
    for (int q = 0; q < 4; ++q) {
      const __m256i uv = _mm256_xor_si256(_mm256_load_si256(reinterpret_cast<const __m256i*>(u + 8 * q)), sign);
      const __m256 drop = _mm256_castsi256_ps(_mm256_cmpgt_epi32(thr_s, uv));  // u < thr
      const __m256 y = _mm256_mul_ps(_mm256_loadu_ps(inp + base + 8 * q), vscale);
      _mm256_storeu_ps(out + base + 8 * q, _mm256_andnot_ps(drop, y));
      bits |= static_cast<uint32_t>(~_mm256_movemask_ps(drop) & 0xFF) << (8 * q);
    }
    mask[w] = bits;
  }
}
LMKIT_TARGET_AVX2 void bwd_avx2(float* dinp, const float* dout, const uint32_t* mask, int64_t n, int64_t w0,
                                int64_t w1, float scale) {
  const __m256i lane_bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const __m256 vscale = _mm256_set1_ps(scale);
  for (int64_t w = w0; w < w1; ++w) {
    const int64_t base = w * 32;
    if (n - base < 32) {
      bwd_words(dinp, dout, mask, n, w, w + 1, scale);
      continue;
    }
    const uint32_t bits = mask[w];
    for (int q = 0; q < 4; ++q) {
      const __m256i b = _mm256_and_si256(_mm256_set1_epi32(static_cast<int32_t>((bits >> (8 * q)) & 0xFFu)), lane_bit);
      const __m256 keep = _mm256_castsi256_ps(_mm256_cmpeq_epi32(b, lane_bit));
      const __m256 g = _mm256_mul_ps(_mm256_loadu_ps(dout + base + 8 * q), vscale);
      _mm256_storeu_ps(dinp + base + 8 * q, _mm256_and_ps(keep, g));
    }
  }
}
#endif

}  // namespace

bool dropout_keep(uint64_t seed, int64_t i, double p) {
  const uint64_t h = mix64(seed_key(seed) + (static_cast<uint64_t>(i) >> 1) * kGamma);
  const uint32_t u = static_cast<uint32_t>((i & 1) ? (h >> 32) : h);
  return u >= keep_threshold(p);
}

void dropout_forward(float* out, uint32_t* mask, const float* inp, int64_t n, double p, uint64_t seed) {
  if (n <= 0) return;
  const int64_t nw = dropout_mask_words(n);
  const uint32_t thr = keep_threshold(p);
  if (thr == 0) {  // keep everything: out = inp exactly
    parallel_for(nw, kWordsPerTask, [=](int64_t w0, int64_t w1) {
      const int64_t b = w0 * 32, e = std::min(n, w1 * 32);
      if (out != inp) std::memmove(out + b, inp + b, static_cast<size_t>(e - b) * sizeof(float));
      for (int64_t w = w0; w < w1; ++w) {
        const int64_t cnt = std::min<int64_t>(32, n - w * 32);
        mask[w] = cnt == 32 ? 0xFFFFFFFFu : ((uint32_t(1) << cnt) - 1u);
      }
    });
    return;
  }
  const uint64_t key = seed_key(seed);
  const float scale = keep_scale(p);
  auto fn = fwd_generic;
#if LMKIT_X86
  if (cpu_has_avx2_fma()) fn = fwd_avx2;
#endif
  parallel_for(nw, kWordsPerTask, [=](int64_t w0, int64_t w1) { fn(out, mask, inp, n, w0, w1, key, thr, scale); });
}

void dropout_backward(float* dinp, const float* dout, const uint32_t* mask, int64_t n, double p) {
  if (n <= 0) return;
  const float scale = keep_scale(p);
  auto fn = bwd_generic;
#if LMKIT_X86
  if (cpu_has_avx2_fma()) fn = bwd_avx2;
#endif
  parallel_for(dropout_mask_words(n), kWordsPerTask,
               [=](int64_t w0, int64_t w1) { fn(dinp, dout, mask, n, w0, w1, scale); });
}

}  // namespace cpu
}  // namespace lmkit
