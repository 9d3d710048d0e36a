// Embedding gather / scatter-add. See embedding.h.
//
// Backward: threads own disjoint blocks of vocabulary rows (a row block goes to the part a
// multiplicative hash of its index picks, which spreads neighbouring and clustered ids evenly),
// each thread scans all ids and adds the whole rows it owns. Whole rows keep each thread on its
// own cache lines: the earlier split of every row into per-thread column blocks made two cores
// write the two halves of the same 1 KB rows at the same time, and the hardware prefetchers
// streaming past a half into the other thread's half turned that into cache-line ping-pong
// (2 threads 1.2-3x slower than 1). The rows to come are prefetched (ids are known ahead; the
// rows are random, so the hardware cannot guess them).
#include "embedding.h"

#include <algorithm>
#include <cstring>

#include "common.h"

namespace lmkit {
namespace cpu {

namespace {
// Elements of work below which a call stays on the calling thread.
constexpr int64_t kGrainElems = 1 << 15;
// Rows are owned in blocks of at least this many bytes, so that threads rarely share a cache line
// where rows are narrower than a line.
constexpr int64_t kOwnBytes = 512;
// Ids taken at a time: the owned ones among them are listed first, then added with prefetch.
constexpr int kIdChunk = 256;
// How many owned rows ahead the destination row is prefetched, and at most how much of it.
constexpr int kPrefetchRows = 2;
constexpr int64_t kPrefetchBytes = 1024;

// Part (of `parts`) that owns a row block: Fibonacci hashing, an even spread for any id pattern.
inline int owner_of(int64_t block, int parts) {
  const uint32_t h = static_cast<uint32_t>(block) * 0x9E3779B1u;
  return static_cast<int>((static_cast<uint64_t>(h) * static_cast<uint64_t>(parts)) >> 32);
}

inline void prefetch_row(const float* p, int64_t C) {
  const char* b = reinterpret_cast<const char*>(p);
  const int64_t n = std::min<int64_t>(kPrefetchBytes, C * static_cast<int64_t>(sizeof(float)));
  for (int64_t o = 0; o < n; o += 64) __builtin_prefetch(b + o, 1, 3);
}

struct AddRowGeneric {
  void operator()(float* __restrict d, const float* __restrict g, int64_t C) const {
    for (int64_t c = 0; c < C; ++c) d[c] += g[c];
  }
};

// Adds the rows of dout whose id falls in `part`'s row blocks into dtable, in increasing n.
template <class AddRow>
inline void scatter_part(float* dtable, const float* dout, const int32_t* ids, int64_t N, int64_t C, int shift,
                         int part, int parts, AddRow add_row) {
  int64_t own[kIdChunk];
  for (int64_t n0 = 0; n0 < N; n0 += kIdChunk) {
    const int64_t n1 = std::min<int64_t>(N, n0 + kIdChunk);
    int k = 0;
    if (parts == 1) {
      for (int64_t n = n0; n < n1; ++n) own[k++] = n;
    } else {
      for (int64_t n = n0; n < n1; ++n) {
        own[k] = n;
        k += owner_of(static_cast<int64_t>(ids[n]) >> shift, parts) == part;
      }
    }
    for (int i = 0; i < k; ++i) {
      if (i + kPrefetchRows < k) prefetch_row(dtable + static_cast<int64_t>(ids[own[i + kPrefetchRows]]) * C, C);
      const int64_t n = own[i];
      add_row(dtable + static_cast<int64_t>(ids[n]) * C, dout + n * C, C);
    }
  }
}

void scatter_generic(float* dtable, const float* dout, const int32_t* ids, int64_t N, int64_t C, int shift, int part,
                     int parts) {
  scatter_part(dtable, dout, ids, N, C, shift, part, parts, AddRowGeneric{});
}

#if LMKIT_X86
struct AddRowAvx2 {
  LMKIT_TARGET_AVX2 void operator()(float* __restrict d, const float* __restrict g, int64_t C) const {
    for (int64_t c = 0; c < C; ++c) d[c] += g[c];  // 8 lanes; one rounding per add as in the generic loop
  }
};

LMKIT_TARGET_AVX2 void scatter_avx2(float* dtable, const float* dout, const int32_t* ids, int64_t N, int64_t C,
                                    int shift, int part, int parts) {
  scatter_part(dtable, dout, ids, N, C, shift, part, parts, AddRowAvx2{});
}
#endif
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
  (void)V;
  if (N <= 0 || C <= 0) return;
  // Row block = 2^shift rows of at least kOwnBytes.
  int shift = 0;
  while ((C * static_cast<int64_t>(sizeof(float)) << shift) < kOwnBytes) ++shift;
  auto scatter = scatter_generic;
#if LMKIT_X86
  if (cpu_has_avx2_fma()) scatter = scatter_avx2;
#endif
  const int64_t parts = std::min<int64_t>(num_threads(), N * C / kGrainElems);
  if (parts <= 1) {
    scatter(dtable, dout, ids, N, C, shift, 0, 1);
    return;
  }
  parallel_run(static_cast<int>(parts),
               [&](int part, int nparts) { scatter(dtable, dout, ids, N, C, shift, part, nparts); });
}

}  // namespace cpu
}  // namespace lmkit
