// Embedding gather / scatter-add. See embedding.h.
#include "embedding.h"

#include <algorithm>
#include <cstring>

#include "common.h"

namespace lmkit {
namespace cpu {

namespace {
// Elements of work below which a call stays on the calling thread.
constexpr int64_t kGrainElems = 1 << 15;
// Column block owned by one thread in the backward: one 64-byte cache line of floats.
constexpr int64_t kColBlock = 16;
}  // namespace

void embedding_forward(float* out, const int32_t* ids, const float* table, int64_t N, int64_t V, int64_t C) {
  (void)V;
  if (N <= 0 || C <= 0) return;
  const int64_t grain = std::max<int64_t>(1, kGrainElems / C);
  parallel_for(N, grain, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      std::memcpy(out + n * C, table + static_cast<int64_t>(ids[n]) * C, sizeof(float) * static_cast<size_t>(C));
    }
  });
}

void embedding_backward(float* dtable, const float* dout, const int32_t* ids, int64_t N, int64_t V, int64_t C) {
  if (N <= 0 || C <= 0) return;
  const int64_t nblk = (C + kColBlock - 1) / kColBlock;
  const int nt = num_threads();
  if (nblk >= nt || N * C < 2 * kGrainElems) {
    // Partition over column blocks: thread t owns columns [c0, c1) of every dtable row.
    const int64_t grain = std::max<int64_t>(1, kGrainElems / (N * kColBlock));
    parallel_for(nblk, grain, [&](int64_t b0, int64_t b1) {
      const int64_t c0 = b0 * kColBlock, c1 = std::min(C, b1 * kColBlock), w = c1 - c0;
      for (int64_t n = 0; n < N; ++n) {
        float* __restrict d = dtable + static_cast<int64_t>(ids[n]) * C + c0;
        const float* __restrict g = dout + n * C + c0;
        for (int64_t c = 0; c < w; ++c) d[c] += g[c];
      }
    });
  } else {
    // Narrow rows, many ids: partition over vocabulary rows; each thread scans all ids and
    // adds only the rows it owns.
    parallel_for(V, 1, [&](int64_t v0, int64_t v1) {
      for (int64_t n = 0; n < N; ++n) {
        const int64_t id = ids[n];
        if (id < v0 || id >= v1) continue;
        float* __restrict d = dtable + id * C;
        const float* __restrict g = dout + n * C;
        for (int64_t c = 0; c < C; ++c) d[c] += g[c];
      }
    });
  }
}

}  // namespace cpu
}  // namespace lmkit
