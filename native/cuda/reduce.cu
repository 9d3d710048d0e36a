// lmkit CUDA kernel family: reductions. See reduce.h. Never run on a GPU yet.
// sum over a contiguous axis (inner == 1): one block per output; otherwise one thread per
// output walks R with stride `inner` (coalesced across neighbouring outputs).
#include "common.cuh"
#include "elementwise.h"
#include "reduce.h"

namespace lmkit {
namespace cuda {
namespace {
__global__ void sum_rows(float* out, const float* inp, int64_t rows, int64_t R, float scale) {
  __shared__ float scratch[32];
  LMKIT_ROW_STRIDE(row, rows) {
    float s = 0.0f;
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) s += inp[row * R + r];
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) out[row] = scale * s;
  }
}
__global__ void sum_strided(float* out, const float* inp, int64_t outer, int64_t R, int64_t inner, float scale) {
  LMKIT_GRID_STRIDE(i, outer * inner) {
    const int64_t o = i / inner, in = i - o * inner;
    const float* p = inp + o * R * inner + in;
    float s = 0.0f;
    for (int64_t r = 0; r < R; ++r) s += p[r * inner];
    out[i] = scale * s;
  }
}
__global__ void sum_bwd(float* dinp, const float* dout, int64_t outer, int64_t R, int64_t inner, float scale) {
  LMKIT_GRID_STRIDE(i, outer * R * inner) {
    const int64_t in = i % inner, o = i / (R * inner);
    dinp[i] = scale * dout[o * inner + in];
  }
}
// First index of the maximum, as on CPU (strictly greater replaces); NaN wins so it propagates.
__global__ void max_fwd(float* out, int32_t* idx, const float* inp, int64_t outer, int64_t R, int64_t inner) {
  LMKIT_GRID_STRIDE(i, outer * inner) {
    const int64_t o = i / inner, in = i - o * inner;
    const float* p = inp + o * R * inner + in;
    float best = p[0];
    int32_t bi = 0;
    for (int64_t r = 1; r < R; ++r) {
      const float v = p[r * inner];
      if (v > best || (v != v && best == best)) {
        best = v;
        bi = static_cast<int32_t>(r);
      }
    }
    out[i] = best;
    idx[i] = bi;
  }
}
__global__ void max_bwd(float* dinp, const float* dout, const int32_t* idx, int64_t outer, int64_t R, int64_t inner) {
  LMKIT_GRID_STRIDE(i, outer * R * inner) {
    const int64_t in = i % inner, r = (i / inner) % R, o = i / (R * inner);
    const int64_t j = o * inner + in;
    dinp[i] = idx[j] == r ? dout[j] : 0.0f;
  }
}
struct Shapes {
  int nd;
  int64_t in[kMaxDims], out[kMaxDims];
};
// One thread per output element: sums the input elements that map to it.
__global__ void sum_to_kernel(float* out, const float* inp, int64_t nout, int64_t per, Shapes s) {
  LMKIT_GRID_STRIDE(i, nout) {
    // Coordinates of output i (kept dims), input strides.
    int64_t coord[kMaxDims], stride[kMaxDims];
    int64_t rem = i, st = 1;
    for (int d = s.nd - 1; d >= 0; --d) {
      coord[d] = rem % s.out[d];
      rem /= s.out[d];
      stride[d] = st;
      st *= s.in[d];
    }
    float acc = 0.0f;
    for (int64_t k = 0; k < per; ++k) {  // k enumerates the reduced dims (out == 1, in > 1)
      int64_t r = k, off = 0;
      for (int d = s.nd - 1; d >= 0; --d) {
        int64_t c = coord[d];
        if (s.out[d] == 1 && s.in[d] != 1) {
          c = r % s.in[d];
          r /= s.in[d];
        }
        off += c * stride[d];
      }
      acc += inp[off];
    }
    out[i] = acc;
  }
}
}  // namespace

cudaError_t sum_axis_forward(float* out, const float* inp, int64_t outer, int64_t R, int64_t inner, float scale) {
  const int64_t nout = outer * inner;
  if (nout == 0) return cudaSuccess;
  if (R == 0) return fill32(out, 0u, nout);
  if (inner == 1) {
    LMKIT_LAUNCH(sum_rows, rows_grid(outer), kThreads, 0, stream())(out, inp, outer, R, scale);
  } else {
    LMKIT_LAUNCH(sum_strided, grid_for(nout, kThreads), kThreads, 0, stream())(out, inp, outer, R, inner, scale);
  }
  return cudaGetLastError();
}
cudaError_t sum_axis_backward(float* dinp, const float* dout, int64_t outer, int64_t R, int64_t inner, float scale) {
  const int64_t n = outer * R * inner;
  if (n == 0) return cudaSuccess;
  LMKIT_LAUNCH(sum_bwd, grid_for(n, kThreads), kThreads, 0, stream())(dinp, dout, outer, R, inner, scale);
  return cudaGetLastError();
}
cudaError_t max_axis_forward(float* out, int32_t* idx, const float* inp, int64_t outer, int64_t R, int64_t inner) {
  const int64_t nout = outer * inner;
  if (nout == 0 || R == 0) return cudaSuccess;
  LMKIT_LAUNCH(max_fwd, grid_for(nout, kThreads), kThreads, 0, stream())(out, idx, inp, outer, R, inner);
  return cudaGetLastError();
}
cudaError_t max_axis_backward(float* dinp, const float* dout, const int32_t* idx, int64_t outer, int64_t R,
                              int64_t inner) {
  const int64_t n = outer * R * inner;
  if (n == 0) return cudaSuccess;
  LMKIT_LAUNCH(max_bwd, grid_for(n, kThreads), kThreads, 0, stream())(dinp, dout, idx, outer, R, inner);
  return cudaGetLastError();
}
cudaError_t sum_to_shape(float* out, const float* inp, int ndim, const int64_t* in_shape, const int64_t* out_shape) {
  Shapes s{};
  s.nd = ndim;
  int64_t nout = 1, nin = 1;
  for (int d = 0; d < ndim; ++d) {
    s.in[d] = in_shape[d];
    s.out[d] = out_shape[d];
    nout *= out_shape[d];
    nin *= in_shape[d];
  }
  if (nout == 0) return cudaSuccess;
  if (nin == 0) return fill32(out, 0u, nout);
  LMKIT_LAUNCH(sum_to_kernel, grid_for(nout, kThreads), kThreads, 0, stream())(out, inp, nout, nin / nout, s);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace lmkit
