// LayerNorm / RMSNorm over the last dimension. See norm.h for shapes and semantics.
//
// The row kernels are plain loops written so the compiler vectorises them (row sums use
// 8 independent lanes, combined in a fixed order). Each is compiled twice, for the
// baseline ISA and for AVX2 (LMKIT_TARGET_AVX2, picked at run time). Both sum in the same
// order; the AVX2 build may fuse multiply-adds, so the two agree to rounding, not bitwise.
// One process always uses one of them, so results never depend on the thread count.
#include "norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"

#define LMKIT_INLINE inline __attribute__((always_inline))

namespace lmkit {
namespace cpu {
namespace {

constexpr int kLanes = 8;

LMKIT_INLINE float combine(const float* a) {
  return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}

LMKIT_INLINE float row_sum(const float* __restrict x, int64_t C) {
  float a[kLanes] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  int64_t i = 0;
  for (; i + kLanes <= C; i += kLanes)
    for (int l = 0; l < kLanes; ++l) a[l] += x[i + l];
  float s = combine(a);
  for (; i < C; ++i) s += x[i];
  return s;
}

// sum((x - c)^2)
LMKIT_INLINE float row_sqdev(const float* __restrict x, float c, int64_t C) {
  float a[kLanes] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  int64_t i = 0;
  for (; i + kLanes <= C; i += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const float d = x[i + l] - c;
      a[l] += d * d;
    }
  float s = combine(a);
  for (; i < C; ++i) {
    const float d = x[i] - c;
    s += d * d;
  }
  return s;
}

// ---------------------------------------------------------------- forward row ranges

LMKIT_INLINE void ln_fwd_rows(float* out, float* mean, float* rstd, const float* inp, const float* __restrict w,
                              const float* __restrict b, int64_t n0, int64_t n1, int64_t C, float eps) {
  const float invC = 1.f / static_cast<float>(C);
  for (int64_t n = n0; n < n1; ++n) {
    const float* x = inp + n * C;
    float* o = out + n * C;
    const float mu = row_sum(x, C) * invC;
    const float var = row_sqdev(x, mu, C) * invC;
    const float rs = 1.f / std::sqrt(var + eps);
    if (mean) mean[n] = mu;
    if (rstd) rstd[n] = rs;
    if (b) {
      for (int64_t i = 0; i < C; ++i) o[i] = (x[i] - mu) * rs * w[i] + b[i];
    } else {
      for (int64_t i = 0; i < C; ++i) o[i] = (x[i] - mu) * rs * w[i];
    }
  }
}

LMKIT_INLINE void rms_fwd_rows(float* out, float* rstd, const float* inp, const float* __restrict w, int64_t n0,
                               int64_t n1, int64_t C, float eps) {
  const float invC = 1.f / static_cast<float>(C);
  for (int64_t n = n0; n < n1; ++n) {
    const float* x = inp + n * C;
    float* o = out + n * C;
    const float ms = row_sqdev(x, 0.f, C) * invC;
    const float rs = 1.f / std::sqrt(ms + eps);
    if (rstd) rstd[n] = rs;
    for (int64_t i = 0; i < C; ++i) o[i] = x[i] * rs * w[i];
  }
}

// ---------------------------------------------------------------- backward row ranges
// pw/pb: this block's partial dweight/dbias (C each, zeroed by the caller; pb may be null).

LMKIT_INLINE void ln_bwd_rows(float* dinp, float* __restrict pw, float* __restrict pb, const float* dout,
                              const float* __restrict inp, const float* __restrict w, const float* __restrict mean,
                              const float* __restrict rstd, int64_t n0, int64_t n1, int64_t C) {
  const float invC = 1.f / static_cast<float>(C);
  for (int64_t n = n0; n < n1; ++n) {
    const float* __restrict x = inp + n * C;
    const float* dy = dout + n * C;
    float* dx = dinp + n * C;
    const float mu = mean[n], rs = rstd[n];
    float a1[kLanes] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    float a2[kLanes] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    int64_t i = 0;
    for (; i + kLanes <= C; i += kLanes)
      for (int l = 0; l < kLanes; ++l) {
        const float xh = (x[i + l] - mu) * rs;
        const float g = dy[i + l] * w[i + l];
        a1[l] += g;
        a2[l] += g * xh;
        pw[i + l] += dy[i + l] * xh;
      }
    float s1 = combine(a1), s2 = combine(a2);
    for (; i < C; ++i) {
      const float xh = (x[i] - mu) * rs;
      const float g = dy[i] * w[i];
      s1 += g;
      s2 += g * xh;
      pw[i] += dy[i] * xh;
    }
    if (pb)
      for (int64_t c = 0; c < C; ++c) pb[c] += dy[c];
    const float m1 = s1 * invC, m2 = s2 * invC;
    for (int64_t c = 0; c < C; ++c) {
      const float xh = (x[c] - mu) * rs;
      dx[c] = rs * (dy[c] * w[c] - m1 - xh * m2);
    }
  }
}

LMKIT_INLINE void rms_bwd_rows(float* dinp, float* __restrict pw, const float* dout, const float* __restrict inp,
                               const float* __restrict w, const float* __restrict rstd, int64_t n0, int64_t n1,
                               int64_t C) {
  const float invC = 1.f / static_cast<float>(C);
  for (int64_t n = n0; n < n1; ++n) {
    const float* __restrict x = inp + n * C;
    const float* dy = dout + n * C;
    float* dx = dinp + n * C;
    const float rs = rstd[n];
    float a2[kLanes] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    int64_t i = 0;
    for (; i + kLanes <= C; i += kLanes)
      for (int l = 0; l < kLanes; ++l) {
        const float xh = x[i + l] * rs;
        a2[l] += dy[i + l] * w[i + l] * xh;
        pw[i + l] += dy[i + l] * xh;
      }
    float s2 = combine(a2);
    for (; i < C; ++i) {
      const float xh = x[i] * rs;
      s2 += dy[i] * w[i] * xh;
      pw[i] += dy[i] * xh;
    }
    const float m2 = s2 * invC;
    for (int64_t c = 0; c < C; ++c) dx[c] = rs * (dy[c] * w[c] - x[c] * rs * m2);
  }
}

// ---------------------------------------------------------------- ISA instantiations

void ln_fwd_generic(float* out, float* mean, float* rstd, const float* inp, const float* w, const float* b,
                    int64_t n0, int64_t n1, int64_t C, float eps) {
  ln_fwd_rows(out, mean, rstd, inp, w, b, n0, n1, C, eps);
}
void rms_fwd_generic(float* out, float* rstd, const float* inp, const float* w, int64_t n0, int64_t n1, int64_t C,
                     float eps) {
  rms_fwd_rows(out, rstd, inp, w, n0, n1, C, eps);
}
void ln_bwd_generic(float* dinp, float* pw, float* pb, const float* dout, const float* inp, const float* w,
                    const float* mean, const float* rstd, int64_t n0, int64_t n1, int64_t C) {
  ln_bwd_rows(dinp, pw, pb, dout, inp, w, mean, rstd, n0, n1, C);
}
void rms_bwd_generic(float* dinp, float* pw, const float* dout, const float* inp, const float* w, const float* rstd,
                     int64_t n0, int64_t n1, int64_t C) {
  rms_bwd_rows(dinp, pw, dout, inp, w, rstd, n0, n1, C);
}

#if LMKIT_X86
LMKIT_TARGET_AVX2 void ln_fwd_avx2(float* out, float* mean, float* rstd, const float* inp, const float* w,
                                   const float* b, int64_t n0, int64_t n1, int64_t C, float eps) {
  ln_fwd_rows(out, mean, rstd, inp, w, b, n0, n1, C, eps);
}
LMKIT_TARGET_AVX2 void rms_fwd_avx2(float* out, float* rstd, const float* inp, const float* w, int64_t n0,
                                    int64_t n1, int64_t C, float eps) {
  rms_fwd_rows(out, rstd, inp, w, n0, n1, C, eps);
}
LMKIT_TARGET_AVX2 void ln_bwd_avx2(float* dinp, float* pw, float* pb, const float* dout, const float* inp,
                                   const float* w, const float* mean, const float* rstd, int64_t n0, int64_t n1,
                                   int64_t C) {
  ln_bwd_rows(dinp, pw, pb, dout, inp, w, mean, rstd, n0, n1, C);
}
LMKIT_TARGET_AVX2 void rms_bwd_avx2(float* dinp, float* pw, const float* dout, const float* inp, const float* w,
                                    const float* rstd, int64_t n0, int64_t n1, int64_t C) {
  rms_bwd_rows(dinp, pw, dout, inp, w, rstd, n0, n1, C);
}
inline bool use_avx2() { return cpu_has_avx2_fma(); }
#else
#define ln_fwd_avx2 ln_fwd_generic
#define rms_fwd_avx2 rms_fwd_generic
#define ln_bwd_avx2 ln_bwd_generic
#define rms_bwd_avx2 rms_bwd_generic
inline bool use_avx2() { return false; }
#endif

// About 32K elements per task, so small calls stay on the calling thread.
constexpr int64_t kTaskElems = int64_t(1) << 15;
inline int64_t rows_per_task(int64_t C) { return std::max<int64_t>(1, kTaskElems / std::max<int64_t>(C, 1)); }

// Fixed row blocks for the parameter-gradient reduction: a function of N only (never of the
// thread count), at most kMaxBlocks of them.
constexpr int64_t kMaxBlocks = 32;
struct Blocks {
  int64_t rows;   // rows per block
  int64_t count;  // number of blocks
};
inline Blocks row_blocks(int64_t N) {
  const int64_t rows = std::max<int64_t>(1, (N + kMaxBlocks - 1) / kMaxBlocks);
  return {rows, (N + rows - 1) / rows};
}

// dst[c] += sum over blocks b (in order) of part[b * stride + c], for `width` columns.
void add_block_partials(float* dst, const float* part, int64_t nblocks, int64_t stride, int64_t width) {
  parallel_for(width, std::max<int64_t>(1, kTaskElems / std::max<int64_t>(nblocks, 1)), [=](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      float s = 0.f;
      for (int64_t b = 0; b < nblocks; ++b) s += part[b * stride + c];
      dst[c] += s;
    }
  });
}

}  // namespace

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                       int64_t N, int64_t C, float eps) {
  if (N <= 0 || C <= 0) return;
  const auto fn = use_avx2() ? ln_fwd_avx2 : ln_fwd_generic;
  parallel_for(N, rows_per_task(C),
               [=](int64_t b, int64_t e) { fn(out, mean, rstd, inp, weight, bias, b, e, C, eps); });
}

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int64_t N, int64_t C,
                     float eps) {
  if (N <= 0 || C <= 0) return;
  const auto fn = use_avx2() ? rms_fwd_avx2 : rms_fwd_generic;
  parallel_for(N, rows_per_task(C), [=](int64_t b, int64_t e) { fn(out, rstd, inp, weight, b, e, C, eps); });
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int64_t N, int64_t C) {
  if (N <= 0 || C <= 0) return;
  const auto fn = use_avx2() ? ln_bwd_avx2 : ln_bwd_generic;
  const Blocks blk = row_blocks(N);
  const int64_t stride = 2 * C;  // per block: dweight partial, then dbias partial
  std::vector<float> part(static_cast<size_t>(blk.count * stride), 0.f);
  float* P = part.data();
  const bool has_bias = dbias != nullptr;
  const int64_t grain = std::max<int64_t>(1, rows_per_task(C) / blk.rows);
  parallel_for(blk.count, grain, [=](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t n0 = b * blk.rows, n1 = std::min(N, n0 + blk.rows);
      float* pw = P + b * stride;
      fn(dinp, pw, has_bias ? pw + C : nullptr, dout, inp, weight, mean, rstd, n0, n1, C);
    }
  });
  add_block_partials(dweight, P, blk.count, stride, C);
  if (has_bias) add_block_partials(dbias, P + C, blk.count, stride, C);
}

void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int64_t N, int64_t C) {
  if (N <= 0 || C <= 0) return;
  const auto fn = use_avx2() ? rms_bwd_avx2 : rms_bwd_generic;
  const Blocks blk = row_blocks(N);
  std::vector<float> part(static_cast<size_t>(blk.count * C), 0.f);
  float* P = part.data();
  const int64_t grain = std::max<int64_t>(1, rows_per_task(C) / blk.rows);
  parallel_for(blk.count, grain, [=](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t n0 = b * blk.rows, n1 = std::min(N, n0 + blk.rows);
      fn(dinp, P + b * C, dout, inp, weight, rstd, n0, n1, C);
    }
  });
  add_block_partials(dweight, P, blk.count, C, C);
}

}  // namespace cpu
}  // namespace lmkit
