// Fused optimizer steps. See optim.h for the update rules.
//
// The element loops are plain code that the compiler vectorises; each is compiled for the
// baseline ISA and for AVX2 (LMKIT_TARGET_AVX2, picked at run time). Flags are template
// parameters so the inner loops carry no branches. Scalars derived from the
// hyper-parameters (bias corrections, decay factor) are computed once in double.
#include "optim.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"

#define LMKIT_INLINE inline __attribute__((always_inline))

namespace lmkit {
namespace cpu {
namespace {

constexpr int64_t kGrain = int64_t(1) << 15;  // elements per task: small tensors stay on one thread

struct SgdK {
  float lr, mu, wd;
};

template <bool kVel, bool kNesterov>
LMKIT_INLINE void sgd_range(float* __restrict p, float* __restrict vel, const float* __restrict g, int64_t b,
                            int64_t e, SgdK k) {
  for (int64_t i = b; i < e; ++i) {
    const float gi = g[i] + k.wd * p[i];
    if (kVel) {
      const float vi = k.mu * vel[i] + gi;
      vel[i] = vi;
      p[i] -= k.lr * (kNesterov ? gi + k.mu * vi : vi);
    } else {
      p[i] -= k.lr * gi;
    }
  }
}

template <bool kVel, bool kNesterov>
void sgd_generic(float* p, float* vel, const float* g, int64_t b, int64_t e, SgdK k) {
  sgd_range<kVel, kNesterov>(p, vel, g, b, e, k);
}
#if LMKIT_X86
template <bool kVel, bool kNesterov>
LMKIT_TARGET_AVX2 void sgd_avx2(float* p, float* vel, const float* g, int64_t b, int64_t e, SgdK k) {
  sgd_range<kVel, kNesterov>(p, vel, g, b, e, k);
}
#endif

template <bool kVel, bool kNesterov>
void sgd_run(float* p, float* vel, const float* g, int64_t n, SgdK k) {
  auto fn = sgd_generic<kVel, kNesterov>;
#if LMKIT_X86
  if (cpu_has_avx2_fma()) fn = sgd_avx2<kVel, kNesterov>;
#endif
  parallel_for(n, kGrain, [=](int64_t b, int64_t e) { fn(p, vel, g, b, e, k); });
}

struct AdamK {
  float b1, b2, one_m_b1, one_m_b2, eps, wd;
  float decay;      // 1 - lr * wd (decoupled)
  float step_size;  // lr / (1 - beta1^t)
  float inv_sqrt_bc2;  // 1 / sqrt(1 - beta2^t)
};

template <bool kDecoupled>
LMKIT_INLINE void adam_range(float* __restrict p, float* __restrict m, float* __restrict v,
                             const float* __restrict g, int64_t b, int64_t e, AdamK k) {
  for (int64_t i = b; i < e; ++i) {
    float pi = p[i];
    float gi = g[i];
    if (kDecoupled) {
      pi *= k.decay;
    } else {
      gi += k.wd * pi;
    }
    const float mi = k.b1 * m[i] + k.one_m_b1 * gi;
    const float vi = k.b2 * v[i] + k.one_m_b2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - k.step_size * mi / (std::sqrt(vi) * k.inv_sqrt_bc2 + k.eps);
  }
}

template <bool kDecoupled>
void adam_generic(float* p, float* m, float* v, const float* g, int64_t b, int64_t e, AdamK k) {
  adam_range<kDecoupled>(p, m, v, g, b, e, k);
}
#if LMKIT_X86
template <bool kDecoupled>
LMKIT_TARGET_AVX2 void adam_avx2(float* p, float* m, float* v, const float* g, int64_t b, int64_t e, AdamK k) {
  adam_range<kDecoupled>(p, m, v, g, b, e, k);
}
#endif

template <bool kDecoupled>
void adam_run(float* p, float* m, float* v, const float* g, int64_t n, AdamK k) {
  auto fn = adam_generic<kDecoupled>;
#if LMKIT_X86
  if (cpu_has_avx2_fma()) fn = adam_avx2<kDecoupled>;
#endif
  parallel_for(n, kGrain, [=](int64_t b, int64_t e) { fn(p, m, v, g, b, e, k); });
}


// ---- Sophia-G ---------------------------------------------------------------------

struct SophiaK {
  float b1, one_m_b1, decay, lr, rho_bs, eps;
};

LMKIT_INLINE void sophia_range(float* __restrict p, float* __restrict m, const float* __restrict h,
                               const float* __restrict g, int64_t b, int64_t e, SophiaK k) {
  for (int64_t i = b; i < e; ++i) {
    const float mi = k.b1 * m[i] + k.one_m_b1 * g[i];
    m[i] = mi;
    float r = std::fabs(mi) / (k.rho_bs * h[i] + k.eps);
    r = r < 1.f ? r : 1.f;
    const float sgn = static_cast<float>((mi > 0.f) - (mi < 0.f));
    p[i] = p[i] * k.decay - k.lr * sgn * r;
  }
}

void sophia_generic(float* p, float* m, const float* h, const float* g, int64_t b, int64_t e, SophiaK k) {
  sophia_range(p, m, h, g, b, e, k);
}
#if LMKIT_X86
LMKIT_TARGET_AVX2 void sophia_avx2(float* p, float* m, const float* h, const float* g, int64_t b, int64_t e,
                                   SophiaK k) {
  sophia_range(p, m, h, g, b, e, k);
}
#endif

// ---- Adafactor helpers --------------------------------------------------------------
//
// Sums use kLanes independent double accumulators combined in a fixed order: the loops
// vectorise and the result depends only on the data and the (fixed) lane layout.

constexpr int kLanes = 8;

struct AfRows {  // arguments of the row-wise passes (factored)
  float* p;
  const float* g;
  float* row;
  const float* rf;   // (rows) sqrt(mean(row) / row_i) [pass 2, apply]
  const float* cf;   // (cols) 1 / sqrt(col_j)          [pass 2, apply]
  double* prow;      // (rows) sum p^2                  [pass 1]
  double* urow;      // (rows) sum U^2                  [pass 2]
  int64_t cols;
  double e1;
  float b2, omb2, decay, step;
};

// Sum of x^2 over n elements in kLanes double lanes (fixed order).
LMKIT_INLINE double lane_sumsq(const float* __restrict x, int64_t n) {
  double acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      const double y = x[j + k];
      acc[k] += y * y;
    }
  }
  double s = 0;
  for (; j < n; ++j) s += static_cast<double>(x[j]) * x[j];
  for (int k = 0; k < kLanes; ++k) s += acc[k];
  return s;
}

// Pass 1: row averages of g^2 + eps1 and sum p^2 per row.
LMKIT_INLINE void af_rows1_range(const AfRows& a, int64_t b, int64_t e) {
  const int64_t C = a.cols;
  for (int64_t i = b; i < e; ++i) {
    const double mean = lane_sumsq(a.g + i * C, C) / static_cast<double>(C) + a.e1;
    a.row[i] = static_cast<float>(a.b2 * static_cast<double>(a.row[i]) + a.omb2 * mean);
    a.prow[i] = lane_sumsq(a.p + i * C, C);
  }
}

// Pass 2: sum of U^2 per row, U_ij = g_ij rf_i cf_j.
LMKIT_INLINE void af_rows2_range(const AfRows& a, int64_t b, int64_t e) {
  const int64_t C = a.cols;
  const float* __restrict cf = a.cf;
  for (int64_t i = b; i < e; ++i) {
    const float* __restrict gi = a.g + i * C;
    const float r = a.rf[i];
    double su[kLanes] = {};
    int64_t j = 0;
    for (; j + kLanes <= C; j += kLanes) {
      for (int k = 0; k < kLanes; ++k) {
        const double u = gi[j + k] * r * cf[j + k];
        su[k] += u * u;
      }
    }
    double s = 0;
    for (; j < C; ++j) {
      const double u = gi[j] * r * cf[j];
      s += u * u;
    }
    for (int k = 0; k < kLanes; ++k) s += su[k];
    a.urow[i] = s;
  }
}

// Apply: p = p * decay - step * U.
LMKIT_INLINE void af_apply_range(const AfRows& a, int64_t b, int64_t e) {
  const int64_t C = a.cols;
  const float* __restrict cf = a.cf;
  for (int64_t i = b; i < e; ++i) {
    const float* __restrict gi = a.g + i * C;
    float* __restrict pi = a.p + i * C;
    const float r = a.rf[i] * a.step;
    for (int64_t j = 0; j < C; ++j) pi[j] = pi[j] * a.decay - gi[j] * r * cf[j];
  }
}

struct AfCols {
  const float* g;
  float* col;
  int64_t rows, cols;
  double e1;
  float b2, omb2;
};

constexpr int64_t kColBlock = 64;    // columns per task of the column reduction

// Column averages over blocks [b, e) of kColBlock columns.
LMKIT_INLINE void af_cols_range(const AfCols& a, int64_t b, int64_t e) {
  double acc[kColBlock];
  for (int64_t blk = b; blk < e; ++blk) {
    const int64_t j0 = blk * kColBlock, w = (a.cols - j0) < kColBlock ? (a.cols - j0) : kColBlock;
    for (int64_t j = 0; j < kColBlock; ++j) acc[j] = 0;
    if (w == kColBlock) {
      for (int64_t i = 0; i < a.rows; ++i) {
        const float* __restrict gi = a.g + i * a.cols + j0;
        for (int64_t j = 0; j < kColBlock; ++j) acc[j] += static_cast<double>(gi[j]) * gi[j];
      }
    } else {
      for (int64_t i = 0; i < a.rows; ++i) {
        const float* __restrict gi = a.g + i * a.cols + j0;
        for (int64_t j = 0; j < w; ++j) acc[j] += static_cast<double>(gi[j]) * gi[j];
      }
    }
    for (int64_t j = 0; j < w; ++j) {
      const double mean = acc[j] / static_cast<double>(a.rows) + a.e1;
      a.col[j0 + j] = static_cast<float>(a.b2 * static_cast<double>(a.col[j0 + j]) + a.omb2 * mean);
    }
  }
}

struct AfFull {
  float* p;
  float* v;
  const float* g;
  double* pc;  // (chunks) sum p^2
  double* uc;  // (chunks) sum U^2
  int64_t n;
  float b2, omb2, e1, decay, step;
};

constexpr int64_t kChunk = 4096;     // elements per fixed reduction chunk (unfactored)

LMKIT_INLINE void af_full1_range(const AfFull& a, int64_t b, int64_t e) {
  float* __restrict v = a.v;
  const float* __restrict g = a.g;
  for (int64_t c = b; c < e; ++c) {
    const int64_t i0 = c * kChunk, i1 = (a.n - i0) < kChunk ? a.n : i0 + kChunk;
    for (int64_t i = i0; i < i1; ++i) v[i] = a.b2 * v[i] + a.omb2 * (g[i] * g[i] + a.e1);
    double acc[kLanes] = {};
    int64_t i = i0;
    for (; i + kLanes <= i1; i += kLanes) {
      for (int k = 0; k < kLanes; ++k) {
        const double u = g[i + k] / std::sqrt(v[i + k]);
        acc[k] += u * u;
      }
    }
    double s = 0;
    for (; i < i1; ++i) {
      const double u = g[i] / std::sqrt(v[i]);
      s += u * u;
    }
    for (int k = 0; k < kLanes; ++k) s += acc[k];
    a.uc[c] = s;
    a.pc[c] = lane_sumsq(a.p + i0, i1 - i0);
  }
}

LMKIT_INLINE void af_full_apply_range(const AfFull& a, int64_t b, int64_t e) {
  float* __restrict p = a.p;
  const float* __restrict v = a.v;
  const float* __restrict g = a.g;
  for (int64_t i = b; i < e; ++i) p[i] = p[i] * a.decay - a.step * (g[i] / std::sqrt(v[i]));
}

// Generic and AVX2 builds of each range kernel, picked at run time.
#if LMKIT_X86
#define LMKIT_AF_VARIANTS(NAME, ARGS)                                                        \
  void NAME##_generic(const ARGS& a, int64_t b, int64_t e) { NAME##_range(a, b, e); }        \
  LMKIT_TARGET_AVX2 void NAME##_avx2(const ARGS& a, int64_t b, int64_t e) { NAME##_range(a, b, e); } \
  void (*NAME##_pick())(const ARGS&, int64_t, int64_t) {                                     \
    return cpu_has_avx2_fma() ? NAME##_avx2 : NAME##_generic;                                \
  }
#else
#define LMKIT_AF_VARIANTS(NAME, ARGS)                                                        \
  void NAME##_generic(const ARGS& a, int64_t b, int64_t e) { NAME##_range(a, b, e); }        \
  void (*NAME##_pick())(const ARGS&, int64_t, int64_t) { return NAME##_generic; }
#endif
LMKIT_AF_VARIANTS(af_rows1, AfRows)
LMKIT_AF_VARIANTS(af_rows2, AfRows)
LMKIT_AF_VARIANTS(af_apply, AfRows)
LMKIT_AF_VARIANTS(af_cols, AfCols)
LMKIT_AF_VARIANTS(af_full1, AfFull)
LMKIT_AF_VARIANTS(af_full_apply, AfFull)
#undef LMKIT_AF_VARIANTS

inline int64_t grain_for(int64_t work_per_item) {
  return std::max<int64_t>(1, kGrain / std::max<int64_t>(1, work_per_item));
}

// SplitMix64 finaliser.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

void sgd_step(float* param, float* velocity, const float* grad, int64_t n, float lr, float momentum,
              float weight_decay, bool nesterov) {
  if (n <= 0) return;
  const SgdK k{lr, momentum, weight_decay};
  if (velocity == nullptr) return sgd_run<false, false>(param, nullptr, grad, n, k);
  if (nesterov) return sgd_run<true, true>(param, velocity, grad, n, k);
  sgd_run<true, false>(param, velocity, grad, n, k);
}

void adamw_step(float* param, float* m, float* v, const float* grad, int64_t n, float lr, float beta1, float beta2,
                float eps, float weight_decay, int64_t step, bool decoupled) {
  if (n <= 0) return;
  const double t = static_cast<double>(step);
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), t);
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), t);
  AdamK k;
  k.b1 = beta1;
  k.b2 = beta2;
  k.one_m_b1 = static_cast<float>(1.0 - static_cast<double>(beta1));
  k.one_m_b2 = static_cast<float>(1.0 - static_cast<double>(beta2));
  k.eps = eps;
  k.wd = weight_decay;
  k.decay = static_cast<float>(1.0 - static_cast<double>(lr) * static_cast<double>(weight_decay));
  k.step_size = static_cast<float>(static_cast<double>(lr) / bc1);
  k.inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  if (decoupled) return adam_run<true>(param, m, v, grad, n, k);
  adam_run<false>(param, m, v, grad, n, k);
}

void adafactor_step(float* param, float* row, float* col, float* v, const float* grad, int64_t rows, int64_t cols,
                    float rho, float beta2, float eps1, float eps2, float clip, float weight_decay,
                    bool scale_parameter) {
  const int64_t n = rows * cols;
  if (n <= 0) return;
  const float b2 = beta2;
  const float omb2 = static_cast<float>(1.0 - static_cast<double>(beta2));
  // alpha and the clipping factor from the sums of p^2 and U^2.
  auto scalars = [&](double psq, double usq, float* decay, float* step) {
    const double rms_p = std::sqrt(psq / static_cast<double>(n));
    const double rms_u = std::sqrt(usq / static_cast<double>(n));
    const double alpha = scale_parameter ? std::max(static_cast<double>(eps2), rms_p) * rho : rho;
    *decay = static_cast<float>(1.0 - alpha * weight_decay);
    *step = static_cast<float>(alpha / std::max(1.0, rms_u / clip));
  };
  if (row != nullptr) {
    std::vector<double> prow(static_cast<size_t>(rows)), urow(static_cast<size_t>(rows));
    std::vector<float> rf(static_cast<size_t>(rows)), cf(static_cast<size_t>(cols));
    AfRows a{param, grad, row, rf.data(), cf.data(), prow.data(), urow.data(), cols, eps1, b2, omb2, 1.f, 0.f};
    const int64_t rgrain = grain_for(cols);
    // Pass 1: row averages (and sum p^2), row-parallel; column averages, column-block-parallel.
    auto rows1 = af_rows1_pick();
    parallel_for(rows, rgrain, [&](int64_t b, int64_t e) { rows1(a, b, e); });
    const AfCols ac{grad, col, rows, cols, eps1, b2, omb2};
    auto cols1 = af_cols_pick();
    parallel_for((cols + kColBlock - 1) / kColBlock, grain_for(rows * kColBlock),
                 [&](int64_t b, int64_t e) { cols1(ac, b, e); });
    double rsum = 0, psq = 0;
    for (int64_t i = 0; i < rows; ++i) {
      rsum += row[i];
      psq += prow[static_cast<size_t>(i)];
    }
    const double rmean = rsum / static_cast<double>(rows);
    // U_ij = g_ij / sqrt(row_i col_j / rmean) = g_ij * rf_i * cf_j.
    for (int64_t i = 0; i < rows; ++i) rf[static_cast<size_t>(i)] = static_cast<float>(std::sqrt(rmean / row[i]));
    for (int64_t j = 0; j < cols; ++j) {
      cf[static_cast<size_t>(j)] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(col[j])));
    }
    // Pass 2: sum of U^2, row-parallel.
    auto rows2 = af_rows2_pick();
    parallel_for(rows, rgrain, [&](int64_t b, int64_t e) { rows2(a, b, e); });
    double usq = 0;
    for (int64_t i = 0; i < rows; ++i) usq += urow[static_cast<size_t>(i)];
    scalars(psq, usq, &a.decay, &a.step);
    // Pass 3: apply.
    auto apply = af_apply_pick();
    parallel_for(rows, rgrain, [&](int64_t b, int64_t e) { apply(a, b, e); });
    return;
  }
  // Unfactored: full second moment, reduced over fixed chunks.
  const int64_t nchunk = (n + kChunk - 1) / kChunk;
  std::vector<double> pc(static_cast<size_t>(nchunk)), uc(static_cast<size_t>(nchunk));
  AfFull a{param, v, grad, pc.data(), uc.data(), n, b2, omb2, eps1, 1.f, 0.f};
  auto full1 = af_full1_pick();
  parallel_for(nchunk, grain_for(kChunk), [&](int64_t b, int64_t e) { full1(a, b, e); });
  double psq = 0, usq = 0;
  for (int64_t c = 0; c < nchunk; ++c) {
    psq += pc[static_cast<size_t>(c)];
    usq += uc[static_cast<size_t>(c)];
  }
  scalars(psq, usq, &a.decay, &a.step);
  auto apply = af_full_apply_pick();
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) { apply(a, b, e); });
}

void sophia_step(float* param, float* m, const float* h, const float* grad, int64_t n, float lr, float beta1,
                 float rho, float weight_decay, float bs, float eps) {
  if (n <= 0) return;
  SophiaK k;
  k.b1 = beta1;
  k.one_m_b1 = static_cast<float>(1.0 - static_cast<double>(beta1));
  k.decay = static_cast<float>(1.0 - static_cast<double>(lr) * static_cast<double>(weight_decay));
  k.lr = lr;
  k.rho_bs = static_cast<float>(static_cast<double>(rho) * static_cast<double>(bs));
  k.eps = eps;
  auto fn = sophia_generic;
#if LMKIT_X86
  if (cpu_has_avx2_fma()) fn = sophia_avx2;
#endif
  parallel_for(n, kGrain, [=](int64_t b, int64_t e) { fn(param, m, h, grad, b, e, k); });
}

void sophia_hessian(float* h, const float* ghat, int64_t n, float beta2, float scale) {
  if (n <= 0) return;
  const float b2 = beta2;
  const float c = static_cast<float>((1.0 - static_cast<double>(beta2)) * static_cast<double>(scale));
  parallel_for(n, kGrain, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) h[i] = b2 * h[i] + c * (ghat[i] * ghat[i]);
  });
}

void sample_labels(int32_t* out, const float* logits, int64_t N, int64_t V, uint64_t seed) {
  if (N <= 0) return;
  parallel_for(N, grain_for(V * 3), [=](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* l = logits + r * V;
      float mx = l[0];
      for (int64_t j = 1; j < V; ++j) mx = l[j] > mx ? l[j] : mx;
      double total = 0;
      for (int64_t j = 0; j < V; ++j) total += std::exp(static_cast<double>(l[j]) - mx);
      const uint64_t z = mix64(seed + 0x9E3779B97F4A7C15ULL * (static_cast<uint64_t>(r) + 1));
      const double u = static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);  // [0, 1)
      const double target = u * total;
      double acc = 0;
      int64_t pick = -1, last = 0;
      for (int64_t j = 0; j < V; ++j) {
        const double pj = std::exp(static_cast<double>(l[j]) - mx);
        if (pj > 0) last = j;
        acc += pj;
        if (acc > target) {
          pick = j;
          break;
        }
      }
      // Rounding (acc never passing target) or non-finite logits: last index with mass, else 0.
      out[r] = static_cast<int32_t>(pick >= 0 ? pick : last);
    }
  });
}

}  // namespace cpu
}  // namespace lmkit
