// lmkit CUDA kernel family: attention. See attention.h. Never run on a GPU yet.
//
// Forward: one block per (query row i, batch*head): scores into the probs row, block max,
// exp and block sum, normalise, then out = P v (threads over the head's columns).
// Backward: (1) one block per (i, bh): dP = dout_i v^T, dS = P (dP - sum P dP) * scale into a
// scratch row, dq_i = dS k; (2) one block per (key j, bh): dk_j = sum_i dS[i,j] q_i,
// dv_j = sum_i P[i,j] dout_i. Every output element is written by one block: no atomics.
#include "attention.h"
#include "common.cuh"

namespace lmkit {
namespace cuda {
namespace {
constexpr int kAttnThreads = 128;

__global__ void attn_fwd(float* out, float* probs, const float* q, const float* k, const float* v, const int32_t* mask,
                         int64_t B, int64_t Tq, int64_t Tk, int64_t C, int64_t NH, bool causal, float scale) {
  __shared__ float scratch[32];
  const int64_t hs = C / NH;
  for (int64_t bh = blockIdx.y; bh < B * NH; bh += gridDim.y) {
    const int64_t b = bh / NH, h = bh - b * NH;
    for (int64_t i = blockIdx.x; i < Tq; i += gridDim.x) {
      const float* qi = q + (b * Tq + i) * C + h * hs;
      float* P = probs + (bh * Tq + i) * Tk;
      const int64_t limit = causal ? min(Tk, i + (Tk - Tq) + 1) : Tk;
      float m = -INFINITY;
      for (int64_t j = threadIdx.x; j < Tk; j += blockDim.x) {
        float s = -INFINITY;
        if (j < limit && (mask == nullptr || mask[b * Tk + j] != 0)) {
          const float* kj = k + (b * Tk + j) * C + h * hs;
          float acc = 0.0f;
          for (int64_t d = 0; d < hs; ++d) acc = fmaf(qi[d], kj[d], acc);
          s = scale * acc;
        }
        P[j] = s;
        m = fmaxf(m, s);
      }
      m = block_max(m, scratch);
      float sum = 0.0f;
      for (int64_t j = threadIdx.x; j < Tk; j += blockDim.x) {
        const float e = m == -INFINITY || P[j] == -INFINITY ? 0.0f : expf(P[j] - m);
        P[j] = e;
        sum += e;
      }
      sum = block_sum(sum, scratch);
      const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
      for (int64_t j = threadIdx.x; j < Tk; j += blockDim.x) P[j] *= inv;
      __syncthreads();  // the whole P row is written before any thread reads it
      float* oi = out + (b * Tq + i) * C + h * hs;
      for (int64_t d = threadIdx.x; d < hs; d += blockDim.x) {
        float acc = 0.0f;
        for (int64_t j = 0; j < Tk; ++j) acc = fmaf(P[j], v[(b * Tk + j) * C + h * hs + d], acc);
        oi[d] = acc;
      }
      __syncthreads();  // P of this row is done before the next row reuses scratch
    }
  }
}

__global__ void attn_bwd_rows(float* dq, float* dS, const float* dout, const float* k, const float* v,
                              const float* probs, int64_t B, int64_t Tq, int64_t Tk, int64_t C, int64_t NH,
                              float scale) {
  __shared__ float scratch[32];
  const int64_t hs = C / NH;
  for (int64_t bh = blockIdx.y; bh < B * NH; bh += gridDim.y) {
    const int64_t b = bh / NH, h = bh - b * NH;
    for (int64_t i = blockIdx.x; i < Tq; i += gridDim.x) {
      const float* P = probs + (bh * Tq + i) * Tk;
      float* S = dS + (bh * Tq + i) * Tk;
      const float* gi = dout + (b * Tq + i) * C + h * hs;
      float rs = 0.0f;
      for (int64_t j = threadIdx.x; j < Tk; j += blockDim.x) {
        const float* vj = v + (b * Tk + j) * C + h * hs;
        float acc = 0.0f;
        for (int64_t d = 0; d < hs; ++d) acc = fmaf(gi[d], vj[d], acc);
        S[j] = acc;  // dP for now
        rs += P[j] * acc;
      }
      rs = block_sum(rs, scratch);
      for (int64_t j = threadIdx.x; j < Tk; j += blockDim.x) S[j] = P[j] * (S[j] - rs) * scale;
      __syncthreads();
      float* dqi = dq + (b * Tq + i) * C + h * hs;
      for (int64_t d = threadIdx.x; d < hs; d += blockDim.x) {
        float acc = 0.0f;
        for (int64_t j = 0; j < Tk; ++j) acc = fmaf(S[j], k[(b * Tk + j) * C + h * hs + d], acc);
        dqi[d] = acc;
      }
      __syncthreads();
    }
  }
}

__global__ void attn_bwd_keys(float* dk, float* dv, const float* dS, const float* dout, const float* q,
                              const float* probs, int64_t B, int64_t Tq, int64_t Tk, int64_t C, int64_t NH) {
  const int64_t hs = C / NH;
  for (int64_t bh = blockIdx.y; bh < B * NH; bh += gridDim.y) {
    const int64_t b = bh / NH, h = bh - b * NH;
    for (int64_t j = blockIdx.x; j < Tk; j += gridDim.x) {
      for (int64_t d = threadIdx.x; d < hs; d += blockDim.x) {
        float ak = 0.0f, av = 0.0f;
        for (int64_t i = 0; i < Tq; ++i) {
          const int64_t pij = (bh * Tq + i) * Tk + j;
          const int64_t qi = (b * Tq + i) * C + h * hs + d;
          ak = fmaf(dS[pij], q[qi], ak);
          av = fmaf(probs[pij], dout[qi], av);
        }
        dk[(b * Tk + j) * C + h * hs + d] = ak;
        dv[(b * Tk + j) * C + h * hs + d] = av;
      }
    }
  }
}

dim3 grid2(int64_t rows, int64_t bh) {
  const int64_t cx = max_blocks(65535 * 16), cy = max_blocks(65535);
  return dim3(static_cast<unsigned>(rows < 1 ? 1 : (rows > cx ? cx : rows)), static_cast<unsigned>(bh < 1 ? 1 : (bh > cy ? cy : bh)));
}
}  // namespace

cudaError_t attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
                              const int32_t* mask, int64_t B, int64_t Tq, int64_t Tk, int64_t C, int64_t NH, bool causal,
                              float scale) {
  if (B * Tq == 0) return cudaSuccess;
  if (Tk == 0) {  // no key: out = 0
    return memset_async(out, 0, static_cast<size_t>(B * Tq * C) * 4);
  }
  LMKIT_LAUNCH(attn_fwd, grid2(Tq, B * NH), kAttnThreads, 0, stream())(out, probs, q, k, v, mask, B, Tq, Tk, C, NH, causal, scale);
  return cudaGetLastError();
}

cudaError_t attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                               const float* v, const float* probs, int64_t B, int64_t Tq, int64_t Tk, int64_t C,
                               int64_t NH, float scale) {
  cudaError_t e;
  if (Tq == 0 || Tk == 0) {  // nothing flows: zero gradients
    if ((e = memset_async(dq, 0, static_cast<size_t>(B * Tq * C) * 4)) != cudaSuccess) return e;
    if ((e = memset_async(dk, 0, static_cast<size_t>(B * Tk * C) * 4)) != cudaSuccess) return e;
    return memset_async(dv, 0, static_cast<size_t>(B * Tk * C) * 4);
  }
  void* scratch = nullptr;
  if ((e = malloc_async(&scratch, static_cast<size_t>(B * NH * Tq * Tk) * 4)) != cudaSuccess) return e;
  float* dS = static_cast<float*>(scratch);
  LMKIT_LAUNCH(attn_bwd_rows, grid2(Tq, B * NH), kAttnThreads, 0, stream())(dq, dS, dout, k, v, probs, B, Tq, Tk, C, NH, scale);
  e = cudaGetLastError();
  if (e == cudaSuccess) {
    LMKIT_LAUNCH(attn_bwd_keys, grid2(Tk, B * NH), kAttnThreads, 0, stream())(dk, dv, dS, dout, q, probs, B, Tq, Tk, C, NH);
    e = cudaGetLastError();
  }
  free_async(scratch);
  return e;
}

}  // namespace cuda
}  // namespace lmkit
