// Multi-head scaled dot-product attention. See attention.h.
#include "attention.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "common.h"
#include "crossentropy.h"  // row primitives: max, exp (AVX2), scale
#include "gemm.h"

namespace lmkit {
namespace cpu {

namespace {

// (batch, head) pairs per chunk: about this many multiply-adds.
constexpr int64_t kGrainFlops = 1 << 18;

int64_t pair_grain(int64_t Tq, int64_t Tk, int64_t hs) {
  const int64_t work = std::max<int64_t>(1, 2 * Tq * Tk * hs);
  return std::max<int64_t>(1, kGrainFlops / work);
}

// Last visible key + 1 for query i (may be <= 0: nothing visible).
inline int64_t key_limit(int64_t i, int64_t Tq, int64_t Tk, bool causal) {
  return causal ? std::min(Tk, i + (Tk - Tq) + 1) : Tk;
}

// Parts the backward splits the (batch, head) pairs into: one scratch (Tq,Tk) each.
int64_t backward_parts(int64_t B, int64_t Tq, int64_t Tk, int64_t C, int64_t NH) {
  if (B <= 0 || NH <= 0 || Tq <= 0 || Tk <= 0) return 0;
  const int64_t pairs = B * NH, grain = pair_grain(Tq, Tk, C / NH);
  return std::max<int64_t>(1, std::min<int64_t>(num_threads(), pairs / grain));
}

}  // namespace

int64_t attention_backward_scratch_size(int64_t B, int64_t Tq, int64_t Tk, int64_t C, int64_t NH) {
  return backward_parts(B, Tq, Tk, C, NH) * Tq * Tk;
}

void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v, const int32_t* mask,
                       int64_t B, int64_t Tq, int64_t Tk, int64_t C, int64_t NH, bool causal, float scale) {
  if (B <= 0 || Tq <= 0 || NH <= 0 || C <= 0) return;
  const int64_t hs = C / NH;
  if (Tk <= 0) {  // nothing to attend to
    std::memset(out, 0, sizeof(float) * static_cast<size_t>(B * Tq * C));
    return;
  }
  const float ninf = -std::numeric_limits<float>::infinity();
  parallel_for(B * NH, pair_grain(Tq, Tk, hs), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t b = p / NH, h = p % NH;
      const float* qh = q + b * Tq * C + h * hs;
      const float* kh = k + b * Tk * C + h * hs;
      const float* vh = v + b * Tk * C + h * hs;
      float* oh = out + b * Tq * C + h * hs;
      float* P = probs + p * Tq * Tk;
      const int32_t* mb = mask ? mask + b * Tk : nullptr;
      // S = scale * q_h k_h^T, straight into the probs buffer.
      sgemm(false, true, Tq, Tk, hs, scale, qh, C, kh, C, 0.0f, P, Tk);
      for (int64_t i = 0; i < Tq; ++i) {
        float* row = P + i * Tk;
        const int64_t lim = std::max<int64_t>(0, key_limit(i, Tq, Tk, causal));
        if (mb) {
          for (int64_t j = 0; j < lim; ++j)
            if (mb[j] == 0) row[j] = ninf;
        }
        const float m = crossentropy_row_max(row, lim);
        if (lim == 0 || m == ninf) {  // no visible key
          std::memset(row, 0, sizeof(float) * static_cast<size_t>(Tk));
          continue;
        }
        const float s = crossentropy_row_exp(row, row, lim, m);  // exp(-inf) == 0 for masked keys
        crossentropy_row_scale(row, lim, 1.0f / s);
        std::memset(row + lim, 0, sizeof(float) * static_cast<size_t>(Tk - lim));
      }
      // out_h = P v_h
      sgemm(false, false, Tq, hs, Tk, 1.0f, P, Tk, vh, C, 0.0f, oh, C);
    }
  });
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* probs, float* scratch, int64_t B, int64_t Tq, int64_t Tk, int64_t C, int64_t NH,
                        float scale) {
  if (B <= 0 || NH <= 0 || C <= 0) return;
  if (Tq <= 0 || Tk <= 0) {
    if (Tq > 0) std::memset(dq, 0, sizeof(float) * static_cast<size_t>(B * Tq * C));
    if (Tk > 0) {
      std::memset(dk, 0, sizeof(float) * static_cast<size_t>(B * Tk * C));
      std::memset(dv, 0, sizeof(float) * static_cast<size_t>(B * Tk * C));
    }
    return;
  }
  const int64_t hs = C / NH, pairs = B * NH;
  const int parts = static_cast<int>(backward_parts(B, Tq, Tk, C, NH));
  parallel_run(parts, [&](int tid, int nparts) {
    const int64_t p0 = pairs * tid / nparts, p1 = pairs * (tid + 1) / nparts;
    float* dS = scratch + tid * Tq * Tk;  // tid < nparts <= parts
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t b = p / NH, h = p % NH;
      const int64_t qo = b * Tq * C + h * hs, ko = b * Tk * C + h * hs;
      const float* P = probs + p * Tq * Tk;
      // dv_h = P^T dout_h
      sgemm(true, false, Tk, hs, Tq, 1.0f, P, Tk, dout + qo, C, 0.0f, dv + ko, C);
      // dP = dout_h v_h^T
      sgemm(false, true, Tq, Tk, hs, 1.0f, dout + qo, C, v + ko, C, 0.0f, dS, Tk);
      // dS = P * (dP - sum_j P dP)   (softmax backward; zero where P is zero)
      for (int64_t i = 0; i < Tq; ++i) {
        const float* __restrict pr = P + i * Tk;
        float* __restrict d = dS + i * Tk;
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t j = 0;
        for (; j + 8 <= Tk; j += 8)
          for (int u = 0; u < 8; ++u) acc[u] += pr[j + u] * d[j + u];
        for (; j < Tk; ++j) acc[0] += pr[j] * d[j];
        const float dot = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        for (j = 0; j < Tk; ++j) d[j] = pr[j] * (d[j] - dot);
      }
      // dq_h = scale * dS k_h ; dk_h = scale * dS^T q_h
      sgemm(false, false, Tq, hs, Tk, scale, dS, Tk, k + ko, C, 0.0f, dq + qo, C);
      sgemm(true, false, Tk, hs, Tq, scale, dS, Tk, q + qo, C, 0.0f, dk + ko, C);
    }
  });
}

}  // namespace cpu
}  // namespace lmkit
