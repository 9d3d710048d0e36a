// Causal depthwise conv1d. See conv.h.
#include "conv.h"

#include <algorithm>
#include <vector>

#include "common.h"

namespace lmkit {
namespace cpu {

namespace {
constexpr int64_t kGrainElems = 1 << 14;
}  // namespace

void conv_forward(float* y, const float* x, const float* weight, const float* bias, int64_t B, int64_t T, int64_t C,
                  int64_t K) {
  if (B <= 0 || T <= 0 || C <= 0) return;
  const int64_t grain = std::max<int64_t>(1, kGrainElems / (C * std::max<int64_t>(K, 1)));
  parallel_for(B * T, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / T, t = r % T;
      float* __restrict yr = y + r * C;
      for (int64_t c = 0; c < C; ++c) yr[c] = bias[c];
      for (int64_t k = 0; k < K; ++k) {
        const int64_t s = t - K + 1 + k;
        if (s < 0) continue;
        const float* __restrict xr = x + (b * T + s) * C;
        for (int64_t c = 0; c < C; ++c) yr[c] += weight[c * K + k] * xr[c];
      }
    }
  });
}

void conv_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x, const float* weight,
                   int64_t B, int64_t T, int64_t C, int64_t K) {
  if (B <= 0 || T <= 0 || C <= 0) return;
  const int64_t grain = std::max<int64_t>(1, kGrainElems / (C * std::max<int64_t>(K, 1)));
  // dx: per row (b,s).
  parallel_for(B * T, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / T, s = r % T;
      float* __restrict dxr = dx + r * C;
      std::fill(dxr, dxr + C, 0.0f);
      for (int64_t k = 0; k < K; ++k) {
        const int64_t t = s + K - 1 - k;
        if (t >= T) continue;
        const float* __restrict dyr = dy + (b * T + t) * C;
        for (int64_t c = 0; c < C; ++c) dxr[c] += weight[c * K + k] * dyr[c];
      }
    }
  });
  if (!dweight && !dbias) return;
  // dweight, dbias: per channel block (each block owns its dweight rows and dbias entries).
  constexpr int64_t kBlock = 16;
  const int64_t nblk = (C + kBlock - 1) / kBlock;
  const int64_t grain2 = std::max<int64_t>(1, kGrainElems / (B * T * kBlock * std::max<int64_t>(K, 1)));
  parallel_for(nblk, grain2, [&](int64_t q0, int64_t q1) {
    const int64_t c0 = q0 * kBlock, c1 = std::min(C, q1 * kBlock), w = c1 - c0;
    std::vector<float> accW(static_cast<size_t>(w * K), 0.0f), accB(static_cast<size_t>(w), 0.0f);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 0; t < T; ++t) {
        const float* __restrict dyr = dy + (b * T + t) * C + c0;
        for (int64_t c = 0; c < w; ++c) accB[c] += dyr[c];
        for (int64_t k = 0; k < K; ++k) {
          const int64_t s = t - K + 1 + k;
          if (s < 0) continue;
          const float* __restrict xr = x + (b * T + s) * C + c0;
          for (int64_t c = 0; c < w; ++c) accW[c * K + k] += dyr[c] * xr[c];
        }
      }
    }
    for (int64_t c = 0; c < w; ++c) {
      if (dbias) dbias[c0 + c] += accB[c];
      if (dweight) {
        for (int64_t k = 0; k < K; ++k) dweight[(c0 + c) * K + k] += accW[c * K + k];
      }
    }
  });
}

}  // namespace cpu
}  // namespace lmkit
