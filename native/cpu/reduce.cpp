// lmkit CPU kernels: reductions (see reduce.h).
#include "reduce.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common.h"
#include "elementwise.h"  // kMaxDims

namespace lmkit {
namespace cpu {
namespace {

constexpr int64_t kGrain = 1 << 15;  // elements read per thread chunk, at least
constexpr int64_t kColW = 256;       // column sums: columns per work item

// Sum of p[0, n) in 16 double lanes (the float -> double widening vectorises and costs
// far less than the memory traffic; the error stays ~n * 1e-16 relative).
__attribute__((always_inline)) inline double sum_contig_body(const float* p, int64_t n) {
  double acc[16] = {0.0};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    for (int k = 0; k < 16; ++k) acc[k] += static_cast<double>(p[j + k]);
  }
  double s = 0.0;
  for (; j < n; ++j) s += static_cast<double>(p[j]);
  for (int k = 0; k < 16; ++k) s += acc[k];
  return s;
}
double sum_contig_generic(const float* p, int64_t n) { return sum_contig_body(p, n); }
LMKIT_TARGET_AVX2 double sum_contig_avx2(const float* p, int64_t n) { return sum_contig_body(p, n); }
double sum_contig(const float* p, int64_t n) {
  return cpu_has_avx2_fma() ? sum_contig_avx2(p, n) : sum_contig_generic(p, n);
}

// acc[0, w) += sum over rows r in [r0, r1) of src[r*ld + i], in double.
__attribute__((always_inline)) inline void col_sum_body(double* acc, const float* src, int64_t r0, int64_t r1,
                                                        int64_t ld, int64_t w) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = src + r * ld;
    for (int64_t i = 0; i < w; ++i) acc[i] += static_cast<double>(row[i]);
  }
}
void col_sum_generic(double* acc, const float* src, int64_t r0, int64_t r1, int64_t ld, int64_t w) {
  col_sum_body(acc, src, r0, r1, ld, w);
}
LMKIT_TARGET_AVX2 void col_sum_avx2(double* acc, const float* src, int64_t r0, int64_t r1, int64_t ld, int64_t w) {
  col_sum_body(acc, src, r0, r1, ld, w);
}
void col_sum(double* acc, const float* src, int64_t r0, int64_t r1, int64_t ld, int64_t w) {
  if (cpu_has_avx2_fma()) {
    col_sum_avx2(acc, src, r0, r1, ld, w);
  } else {
    col_sum_generic(acc, src, r0, r1, ld, w);
  }
}

// Sum of p[0, n) with every thread taking a slice.
double parallel_sum(const float* p, int64_t n, int nt) {
  std::vector<double> part(static_cast<size_t>(nt), 0.0);
  parallel_run(nt, [&](int tid, int k) {
    const int64_t b = n * tid / k, e = n * (tid + 1) / k;
    part[static_cast<size_t>(tid)] = sum_contig(p + b, e - b);
  });
  double s = 0.0;
  for (double v : part) s += v;
  return s;
}

}  // namespace

void sum_axis_forward(float* out, const float* inp, int64_t outer, int64_t R, int64_t inner, float scale) {
  const int64_t nout = outer * inner;
  if (nout == 0) return;
  if (R == 0) {
    std::fill(out, out + nout, 0.0f);
    return;
  }
  const int nt = num_threads();
  const int64_t total = nout * R;
  const bool small = total < 4 * kGrain;
  const double sc = scale;

  if (inner == 1) {
    if (outer >= nt || small) {
      parallel_for(outer, std::max<int64_t>(1, kGrain / R), [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) out[o] = static_cast<float>(sc * sum_contig(inp + o * R, R));
      });
    } else {
      for (int64_t o = 0; o < outer; ++o) out[o] = static_cast<float>(sc * parallel_sum(inp + o * R, R, nt));
    }
    return;
  }

  const int64_t chunks = (inner + kColW - 1) / kColW;
  const int64_t items = outer * chunks;
  if (items >= nt || small) {
    const int64_t grain = std::max<int64_t>(1, kGrain / (R * std::min(inner, kColW)));
    parallel_for(items, grain, [&](int64_t b, int64_t e) {
      double acc[kColW];
      for (int64_t it = b; it < e; ++it) {
        const int64_t o = it / chunks, c0 = (it % chunks) * kColW, w = std::min(kColW, inner - c0);
        std::fill(acc, acc + w, 0.0);
        col_sum(acc, inp + o * R * inner + c0, 0, R, inner, w);
        float* dst = out + o * inner + c0;
        for (int64_t i = 0; i < w; ++i) dst[i] = static_cast<float>(sc * acc[i]);
      }
    });
    return;
  }

  // Few outputs, long R: each thread sums a slice of R into its own partial sums.
  std::vector<double> part(static_cast<size_t>(nt) * static_cast<size_t>(nout), 0.0);
  parallel_run(nt, [&](int tid, int k) {
    const int64_t r0 = R * tid / k, r1 = R * (tid + 1) / k;
    double* acc = part.data() + static_cast<size_t>(tid) * static_cast<size_t>(nout);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t c0 = 0; c0 < inner; c0 += kColW) {
        col_sum(acc + o * inner + c0, inp + o * R * inner + c0, r0, r1, inner, std::min(kColW, inner - c0));
      }
    }
  });
  for (int64_t j = 0; j < nout; ++j) {
    double s = 0.0;
    for (int t = 0; t < nt; ++t) s += part[static_cast<size_t>(t) * static_cast<size_t>(nout) + static_cast<size_t>(j)];
    out[j] = static_cast<float>(sc * s);
  }
}

void sum_axis_backward(float* dinp, const float* dout, int64_t outer, int64_t R, int64_t inner, float scale) {
  const int64_t rows = outer * R;
  if (rows == 0 || inner == 0) return;
  parallel_for(rows, std::max<int64_t>(1, kGrain / inner), [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e;) {
      const int64_t o = row / R;
      const int64_t stop = std::min(e, (o + 1) * R);
      const float* s = dout + o * inner;
      if (inner == 1) {
        const float v = scale * s[0];
        for (int64_t r = row; r < stop; ++r) dinp[r] = v;
      } else {
        for (int64_t r = row; r < stop; ++r) {
          float* d = dinp + r * inner;
          for (int64_t i = 0; i < inner; ++i) d[i] = scale * s[i];
        }
      }
      row = stop;
    }
  });
}

void max_axis_forward(float* out, int32_t* idx, const float* inp, int64_t outer, int64_t R, int64_t inner) {
  const int64_t nout = outer * inner;
  if (nout == 0 || R == 0) return;
  const int64_t chunks = (inner + kColW - 1) / kColW;
  const int64_t items = outer * chunks;
  const int64_t grain = std::max<int64_t>(1, kGrain / (R * std::min(inner, kColW)));
  parallel_for(items, grain, [&](int64_t b, int64_t e) {
    for (int64_t it = b; it < e; ++it) {
      const int64_t o = it / chunks, c0 = (it % chunks) * kColW, w = std::min(kColW, inner - c0);
      const float* base = inp + o * R * inner + c0;
      float* ov = out + o * inner + c0;
      int32_t* oi = idx + o * inner + c0;
      for (int64_t i = 0; i < w; ++i) {
        ov[i] = base[i];
        oi[i] = 0;
      }
      for (int64_t r = 1; r < R; ++r) {
        const float* row = base + r * inner;
        const int32_t ri = static_cast<int32_t>(r);
        for (int64_t i = 0; i < w; ++i) {
          const float v = row[i], m = ov[i];
          // Greater, or the first NaN (NaN != NaN) over a number.
          if (v > m || (v != v && m == m)) {
            ov[i] = v;
            oi[i] = ri;
          }
        }
      }
    }
  });
}

void max_axis_backward(float* dinp, const float* dout, const int32_t* idx, int64_t outer, int64_t R,
                       int64_t inner) {
  const int64_t slab = R * inner;
  if (outer == 0 || slab == 0) return;
  parallel_for(outer, std::max<int64_t>(1, kGrain / slab), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      float* d = dinp + o * slab;
      std::memset(d, 0, static_cast<size_t>(slab) * sizeof(float));
      const float* g = dout + o * inner;
      const int32_t* k = idx + o * inner;
      for (int64_t i = 0; i < inner; ++i) d[static_cast<int64_t>(k[i]) * inner + i] = g[i];
    }
  });
}

void sum_to_shape(float* out, const float* inp, int ndim, const int64_t* in_shape, const int64_t* out_shape) {
  // Collapse into alternating groups of kept / reduced dims (size-1 dims dropped).
  int64_t size[kMaxDims];
  bool red[kMaxDims];
  int m = 0;
  int64_t total = 1, nout = 1;
  for (int d = 0; d < ndim; ++d) {
    total *= in_shape[d];
    nout *= out_shape[d];
    if (in_shape[d] == 1) continue;
    const bool r = out_shape[d] == 1;
    if (m > 0 && red[m - 1] == r) {
      size[m - 1] *= in_shape[d];
    } else {
      size[m] = in_shape[d];
      red[m] = r;
      ++m;
    }
  }
  if (nout == 0) return;
  if (total == 0) {  // summing over an empty dimension
    std::fill(out, out + nout, 0.0f);
    return;
  }
  // One axis reduction per reduced group, the last group first; the final pass writes out.
  std::vector<float> bufs[2];
  int which = 0;
  const float* src = inp;
  for (;;) {
    int j = -1;
    for (int g = 0; g < m; ++g) {
      if (red[g]) j = g;
    }
    if (j < 0) break;
    int64_t outer = 1, inner = 1;
    for (int g = 0; g < j; ++g) outer *= size[g];
    for (int g = j + 1; g < m; ++g) inner *= size[g];
    const int64_t R = size[j];
    // Remove group j; its kept neighbours become one group.
    if (j > 0 && j + 1 < m) {
      size[j - 1] *= size[j + 1];
      for (int g = j; g + 2 < m; ++g) {
        size[g] = size[g + 2];
        red[g] = red[g + 2];
      }
      m -= 2;
    } else {
      for (int g = j; g + 1 < m; ++g) {
        size[g] = size[g + 1];
        red[g] = red[g + 1];
      }
      m -= 1;
    }
    bool more = false;
    for (int g = 0; g < m; ++g) more = more || red[g];
    float* dst = out;
    if (more) {
      bufs[which].resize(static_cast<size_t>(outer * inner));
      dst = bufs[which].data();
      which ^= 1;
    }
    sum_axis_forward(dst, src, outer, R, inner, 1.0f);
    src = dst;
  }
  if (src == inp) {  // nothing to reduce: a copy
    parallel_for(total, kGrain, [&](int64_t b, int64_t e) {
      std::memcpy(out + b, inp + b, static_cast<size_t>(e - b) * sizeof(float));
    });
  }
}

}  // namespace cpu
}  // namespace lmkit
