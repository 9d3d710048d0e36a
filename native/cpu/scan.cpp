// Selective state-space scan. See scan.h.
// Inner loops over the state n are written so that they vectorise (exp_f32 is branch-free);
// each per-(b,d) sequence has an AVX2/FMA twin picked at run time. Sums over n stay scalar
// (in order), so results do not depend on the path taken beyond exp_f32's rounding.
#include "scan.h"

#include <algorithm>
#include <vector>

#include "common.h"
#include "elementwise.h"  // exp_f32

namespace lmkit {
namespace cpu {

namespace {
// Work (elements of h updated) below which a call stays on the calling thread.
constexpr int64_t kGrainElems = 1 << 14;

// Forward of one (b, d) sequence. h, a: scratch of N floats.
__attribute__((always_inline)) inline void fwd_seq(float* __restrict y, float* __restrict hs, const float* x,
                                                   const float* delta, const float* __restrict Ad, const float* Bm,
                                                   const float* Cm, float skip, float* __restrict h,
                                                   float* __restrict a, int64_t b, int64_t d, int64_t T, int64_t D,
                                                   int64_t N) {
  for (int64_t n = 0; n < N; ++n) h[n] = 0.0f;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t bt = b * T + t;
    const float dt = delta[bt * D + d], xt = x[bt * D + d];
    const float dtx = dt * xt;
    const float* __restrict Bt = Bm + bt * N;
    const float* __restrict Ct = Cm + bt * N;
    for (int64_t n = 0; n < N; ++n) a[n] = exp_f32(dt * Ad[n]);
    for (int64_t n = 0; n < N; ++n) h[n] = a[n] * h[n] + dtx * Bt[n];
    float acc = 0.0f;
    for (int64_t n = 0; n < N; ++n) acc += Ct[n] * h[n];
    y[bt * D + d] = acc + skip * xt;
    if (hs) {
      float* __restrict dst = hs + (bt * D + d) * N;
      for (int64_t n = 0; n < N; ++n) dst[n] = h[n];
    }
  }
}

void fwd_seq_plain(float* y, float* hs, const float* x, const float* delta, const float* Ad, const float* Bm,
                   const float* Cm, float skip, float* h, float* a, int64_t b, int64_t d, int64_t T, int64_t D,
                   int64_t N) {
  fwd_seq(y, hs, x, delta, Ad, Bm, Cm, skip, h, a, b, d, T, D, N);
}
LMKIT_TARGET_AVX2 void fwd_seq_avx2(float* y, float* hs, const float* x, const float* delta, const float* Ad,
                                    const float* Bm, const float* Cm, float skip, float* h, float* a, int64_t b,
                                    int64_t d, int64_t T, int64_t D, int64_t N) {
  fwd_seq(y, hs, x, delta, Ad, Bm, Cm, skip, h, a, b, d, T, D, N);
}

struct BwdScratch {
  float* dh;    // (N) a_{t+1} * dh_{t+1}
  float* dhn;   // (N) total dL/dh_t
  float* dah;   // (N) dL/dh_t * a_t * h_{t-1}
  float* dAacc; // (N)
};

// Backward of one (b, d) sequence (reverse time); accumulates into s.dAacc and *dskip.
__attribute__((always_inline)) inline void bwd_seq(float* dx, float* ddelta, float* __restrict g, const float* dy,
                                                   const float* x, const float* delta, const float* __restrict Ad,
                                                   const float* Bm, const float* Cm, const float* hs, float skip,
                                                   const BwdScratch& s, float* dskip, int64_t b, int64_t d, int64_t T,
                                                   int64_t D, int64_t N) {
  float* __restrict dh = s.dh;
  float* __restrict dhn = s.dhn;
  float* __restrict dah = s.dah;
  float* __restrict dAacc = s.dAacc;
  for (int64_t n = 0; n < N; ++n) dh[n] = 0.0f;
  float dskip_acc = 0.0f;
  for (int64_t t = T - 1; t >= 0; --t) {
    const int64_t bt = b * T + t;
    const int64_t i = bt * D + d;
    const float dyt = dy[i], xt = x[i], dt = delta[i];
    const float dtx = dt * xt;
    const float* __restrict Bt = Bm + bt * N;
    const float* __restrict Ct = Cm + bt * N;
    float* __restrict gt = g + i * N;
    if (t > 0) {
      const float* __restrict hprev = hs + ((bt - 1) * D + d) * N;
      for (int64_t n = 0; n < N; ++n) {
        const float an = exp_f32(dt * Ad[n]);
        const float v = dh[n] + Ct[n] * dyt;
        const float w = v * an * hprev[n];
        dhn[n] = v;
        dah[n] = w;
        dAacc[n] += w * dt;
        gt[n] = v * dtx;
        dh[n] = v * an;
      }
    } else {
      for (int64_t n = 0; n < N; ++n) {
        const float v = dh[n] + Ct[n] * dyt;
        dhn[n] = v;
        dah[n] = 0.0f;
        gt[n] = v * dtx;
      }
    }
    float sb = 0.0f, sa = 0.0f;
    for (int64_t n = 0; n < N; ++n) {
      sb += dhn[n] * Bt[n];
      sa += dah[n] * Ad[n];
    }
    dx[i] = sb * dt + skip * dyt;
    ddelta[i] = sa + sb * xt;
    dskip_acc += dyt * xt;
  }
  *dskip += dskip_acc;
}

void bwd_seq_plain(float* dx, float* ddelta, float* g, const float* dy, const float* x, const float* delta,
                   const float* Ad, const float* Bm, const float* Cm, const float* hs, float skip, const BwdScratch& s,
                   float* dskip, int64_t b, int64_t d, int64_t T, int64_t D, int64_t N) {
  bwd_seq(dx, ddelta, g, dy, x, delta, Ad, Bm, Cm, hs, skip, s, dskip, b, d, T, D, N);
}
LMKIT_TARGET_AVX2 void bwd_seq_avx2(float* dx, float* ddelta, float* g, const float* dy, const float* x,
                                    const float* delta, const float* Ad, const float* Bm, const float* Cm,
                                    const float* hs, float skip, const BwdScratch& s, float* dskip, int64_t b,
                                    int64_t d, int64_t T, int64_t D, int64_t N) {
  bwd_seq(dx, ddelta, g, dy, x, delta, Ad, Bm, Cm, hs, skip, s, dskip, b, d, T, D, N);
}
}  // namespace

void scan_forward(float* y, float* hs, const float* x, const float* delta, const float* A, const float* Bm,
                  const float* Cm, const float* Dskip, int64_t B, int64_t T, int64_t D, int64_t N) {
  if (B <= 0 || T <= 0 || D <= 0) return;
  const bool avx2 = cpu_has_avx2_fma();
  const int64_t grain = std::max<int64_t>(1, kGrainElems / std::max<int64_t>(1, T * N));
  parallel_for(B * D, grain, [&](int64_t p0, int64_t p1) {
    std::vector<float> scratch(static_cast<size_t>(2 * N + 2));
    float* h = scratch.data();
    float* a = h + N + 1;
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t b = p / D, d = p % D;
      if (avx2) {
        fwd_seq_avx2(y, hs, x, delta, A + d * N, Bm, Cm, Dskip[d], h, a, b, d, T, D, N);
      } else {
        fwd_seq_plain(y, hs, x, delta, A + d * N, Bm, Cm, Dskip[d], h, a, b, d, T, D, N);
      }
    }
  });
}

void scan_backward(float* dx, float* ddelta, float* dA, float* dBm, float* dCm, float* dDskip, const float* dy,
                   const float* x, const float* delta, const float* A, const float* Bm, const float* Cm,
                   const float* Dskip, const float* hs, int64_t B, int64_t T, int64_t D, int64_t N) {
  if (B <= 0 || T <= 0) return;
  const int64_t BT = B * T;
  if (D <= 0 || N <= 0) {
    // No state: dBm = dCm = 0, dx = Dskip dy, ddelta = 0.
    std::fill(dBm, dBm + BT * N, 0.0f);
    std::fill(dCm, dCm + BT * N, 0.0f);
    for (int64_t i = 0; i < BT; ++i) {
      for (int64_t d = 0; d < D; ++d) {
        dx[i * D + d] = Dskip[d] * dy[i * D + d];
        ddelta[i * D + d] = 0.0f;
        dDskip[d] += dy[i * D + d] * x[i * D + d];
      }
    }
    return;
  }
  const bool avx2 = cpu_has_avx2_fma();
  // g[b,t,d,n] = dL/dh_t[n] * delta_t * x_t: summed over d below to give dBm.
  std::vector<float> g(static_cast<size_t>(BT * D * N));
  // Phase 1: per channel d (owns dA[d,:] and dDskip[d]); reverse time for each batch row.
  const int64_t grain1 = std::max<int64_t>(1, kGrainElems / std::max<int64_t>(1, BT * N));
  parallel_for(D, grain1, [&](int64_t d0, int64_t d1) {
    std::vector<float> buf(static_cast<size_t>(4 * N));
    const BwdScratch s{buf.data(), buf.data() + N, buf.data() + 2 * N, buf.data() + 3 * N};
    for (int64_t d = d0; d < d1; ++d) {
      std::fill(s.dAacc, s.dAacc + N, 0.0f);
      float dskip = 0.0f;
      for (int64_t b = 0; b < B; ++b) {
        if (avx2) {
          bwd_seq_avx2(dx, ddelta, g.data(), dy, x, delta, A + d * N, Bm, Cm, hs, Dskip[d], s, &dskip, b, d, T, D, N);
        } else {
          bwd_seq_plain(dx, ddelta, g.data(), dy, x, delta, A + d * N, Bm, Cm, hs, Dskip[d], s, &dskip, b, d, T, D, N);
        }
      }
      for (int64_t n = 0; n < N; ++n) dA[d * N + n] += s.dAacc[n];
      dDskip[d] += dskip;
    }
  });
  // Phase 2: per row (b,t): dBm = sum_d g, dCm = sum_d dy * h.
  const int64_t grain2 = std::max<int64_t>(1, kGrainElems / (D * N));
  parallel_for(BT, grain2, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* __restrict dB = dBm + r * N;
      float* __restrict dC = dCm + r * N;
      std::fill(dB, dB + N, 0.0f);
      std::fill(dC, dC + N, 0.0f);
      for (int64_t d = 0; d < D; ++d) {
        const float* __restrict gr = g.data() + (r * D + d) * N;
        const float* __restrict hr = hs + (r * D + d) * N;
        const float dyt = dy[r * D + d];
        for (int64_t n = 0; n < N; ++n) {
          dB[n] += gr[n];
          dC[n] += dyt * hr[n];
        }
      }
    }
  });
}

}  // namespace cpu
}  // namespace lmkit
