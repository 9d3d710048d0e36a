// lmkit CPU kernels: data movement (see shape.h).
#include "shape.h"

#include <algorithm>
#include <cstring>

#include "common.h"
#include "elementwise.h"  // kMaxDims

#if LMKIT_X86
#include <immintrin.h>
#endif

namespace lmkit {
namespace cpu {
namespace {

constexpr int64_t kGrain = 1 << 15;  // elements moved per thread chunk, at least
constexpr int64_t kTile = 16;        // transpose tile: kTile x kTile elements, 64-byte rows

using Elem = uint32_t;

#if LMKIT_X86
// dst[c*ldd + r] = src[r*lds + c] for an 8x8 block, in registers (bit-exact moves).
LMKIT_TARGET_AVX2 inline void transpose_8x8_avx2(Elem* dst, int64_t ldd, const Elem* src, int64_t lds) {
  const float* s = reinterpret_cast<const float*>(src);
  float* d = reinterpret_cast<float*>(dst);
  const __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + lds), r2 = _mm256_loadu_ps(s + 2 * lds),
               r3 = _mm256_loadu_ps(s + 3 * lds), r4 = _mm256_loadu_ps(s + 4 * lds), r5 = _mm256_loadu_ps(s + 5 * lds),
               r6 = _mm256_loadu_ps(s + 6 * lds), r7 = _mm256_loadu_ps(s + 7 * lds);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
               t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
               t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
               u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
               u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
               u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(d + ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(d + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(d + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(d + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(d + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(d + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(d + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// A full kTile x kTile tile: its rows are first copied whole into an L1 buffer (so that
// power-of-two strides cannot evict half-read lines), then transposed 8x8 at a time.
LMKIT_TARGET_AVX2 void transpose_tile_avx2(Elem* dst, int64_t ldd, const Elem* src, int64_t lds) {
  alignas(64) Elem buf[kTile * kTile];
  for (int64_t r = 0; r < kTile; ++r) std::memcpy(buf + r * kTile, src + r * lds, kTile * sizeof(Elem));
  for (int64_t c0 = 0; c0 < kTile; c0 += 8) {
    for (int64_t r0 = 0; r0 < kTile; r0 += 8) transpose_8x8_avx2(dst + c0 * ldd + r0, ldd, buf + r0 * kTile + c0, kTile);
  }
}
#endif

// The same with plain loops (any tile size up to kTile x kTile: rows x cols of src).
void transpose_tile(Elem* dst, int64_t ldd, const Elem* src, int64_t lds, int64_t rows, int64_t cols) {
  Elem buf[kTile * kTile];
  for (int64_t r = 0; r < rows; ++r) std::memcpy(buf + r * kTile, src + r * lds, static_cast<size_t>(cols) * sizeof(Elem));
  for (int64_t c = 0; c < cols; ++c) {
    Elem* d = dst + c * ldd;
    for (int64_t r = 0; r < rows; ++r) d[r] = buf[r * kTile + c];
  }
}

// out[iq*oq + il] = in[iq + il*tl] for iq in [q0, q1), il in [0, sl): one strip of a 2-D
// transpose (q0, q1 multiples of kTile except at the end), in kTile x kTile tiles.
void transpose_2d(Elem* out, int64_t oq, const Elem* in, int64_t tl, int64_t sq, int64_t sl, int64_t q0,
                  int64_t q1) {
  (void)sq;
#if LMKIT_X86
  const bool avx2 = cpu_has_avx2_fma();
#endif
  for (int64_t l0 = 0; l0 < sl; l0 += kTile) {
    const int64_t lw = std::min(kTile, sl - l0);
    for (int64_t i0 = q0; i0 < q1; i0 += kTile) {
      const int64_t qw = std::min(kTile, q1 - i0);
      Elem* d = out + i0 * oq + l0;
      const Elem* s = in + i0 + l0 * tl;
#if LMKIT_X86
      if (avx2 && lw == kTile && qw == kTile) {
        transpose_tile_avx2(d, oq, s, tl);
        continue;
      }
#endif
      transpose_tile(d, oq, s, tl, lw, qw);
    }
  }
}

}  // namespace

void permute(void* out_, const void* inp_, int ndim, const int64_t* in_shape, const int64_t* perm) {
  Elem* out = static_cast<Elem*>(out_);
  const Elem* inp = static_cast<const Elem*>(inp_);
  int64_t istride[kMaxDims];
  int64_t total = 1;
  for (int d = ndim - 1; d >= 0; --d) {
    istride[d] = total;
    total *= in_shape[d];
  }
  if (total == 0) return;
  // Output-ordered dims with their input strides; size-1 dims dropped, and a dim merged
  // into the previous one when the input also steps through them as one.
  int64_t sz[kMaxDims], st[kMaxDims];
  int k = 0;
  for (int d = 0; d < ndim; ++d) {
    const int64_t n = in_shape[perm[d]], t = istride[perm[d]];
    if (n == 1) continue;
    if (k > 0 && st[k - 1] == t * n) {
      sz[k - 1] *= n;
      st[k - 1] = t;
    } else {
      sz[k] = n;
      st[k] = t;
      ++k;
    }
  }
  if (k == 0) {
    out[0] = inp[0];
    return;
  }
  int64_t ostride[kMaxDims];
  {
    int64_t s = 1;
    for (int d = k - 1; d >= 0; --d) {
      ostride[d] = s;
      s *= sz[d];
    }
  }

  if (st[k - 1] == 1) {
    // The innermost output dim is the innermost input dim: contiguous row copies.
    const int64_t inner = sz[k - 1];
    const int64_t rows = total / inner;
    const int od = k - 1;  // outer dims 0..od-1
    parallel_for(rows, std::max<int64_t>(1, kGrain / inner), [&](int64_t b, int64_t e) {
      int64_t idx[kMaxDims] = {0};
      int64_t off = 0;
      int64_t rem = b;
      for (int d = od - 1; d >= 0; --d) {
        idx[d] = rem % sz[d];
        rem /= sz[d];
        off += idx[d] * st[d];
      }
      for (int64_t row = b; row < e; ++row) {
        std::memcpy(out + row * inner, inp + off, static_cast<size_t>(inner) * sizeof(Elem));
        for (int d = od - 1; d >= 0; --d) {
          off += st[d];
          if (++idx[d] < sz[d]) break;
          off -= st[d] * sz[d];
          idx[d] = 0;
        }
      }
    });
    return;
  }

  // A batch of 2-D transposes: output dim q is the innermost input dim (stride 1), the
  // innermost output dim L steps through the input by st[L]. The other dims are a batch.
  int q = 0;
  while (st[q] != 1) ++q;  // exists: the input's innermost dim of size > 1 has stride 1
  const int L = k - 1;
  const int64_t sq = sz[q], sl = sz[L], tl = st[L], oq = ostride[q];
  int bd[kMaxDims];
  int nbd = 0;
  for (int d = 0; d < k; ++d) {
    if (d != q && d != L) bd[nbd++] = d;
  }
  const int64_t qtiles = (sq + kTile - 1) / kTile;
  const int64_t items = (total / (sq * sl)) * qtiles;
  parallel_for(items, std::max<int64_t>(1, kGrain / (kTile * sl)), [&](int64_t b, int64_t e) {
    for (int64_t it = b; it < e; ++it) {
      int64_t bi = it / qtiles;
      const int64_t q0 = (it % qtiles) * kTile, q1 = std::min(sq, q0 + kTile);
      int64_t ioff = 0, ooff = 0;
      for (int j = nbd - 1; j >= 0; --j) {
        const int d = bd[j];
        const int64_t i = bi % sz[d];
        bi /= sz[d];
        ioff += i * st[d];
        ooff += i * ostride[d];
      }
      transpose_2d(out + ooff, oq, inp + ioff, tl, sq, sl, q0, q1);
    }
  });
}

void copy_2d(void* dst_, int64_t dst_ld, const void* src_, int64_t src_ld, int64_t rows, int64_t cols) {
  Elem* dst = static_cast<Elem*>(dst_);
  const Elem* src = static_cast<const Elem*>(src_);
  if (rows == 0 || cols == 0) return;
  if (rows == 1 || (dst_ld == cols && src_ld == cols)) {  // one contiguous block
    parallel_for(rows * cols, kGrain, [&](int64_t b, int64_t e) {
      std::memcpy(dst + b, src + b, static_cast<size_t>(e - b) * sizeof(Elem));
    });
    return;
  }
  parallel_for(rows, std::max<int64_t>(1, kGrain / cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      std::memcpy(dst + r * dst_ld, src + r * src_ld, static_cast<size_t>(cols) * sizeof(Elem));
    }
  });
}

}  // namespace cpu
}  // namespace lmkit
