// lmkit CUDA kernel family: LSTM cell pointwise. See lstm.h. One thread per (b, j) unit.
// Never run on a GPU yet.
#include "common.cuh"
#include "lstm.h"

namespace lmkit {
namespace cuda {
namespace {
__device__ __forceinline__ float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

__global__ void cell_fwd(float* h, float* c, float* gates, const float* pre, const float* c_prev, int64_t B, int64_t H) {
  LMKIT_GRID_STRIDE(k, B * H) {
    const int64_t b = k / H, j = k - b * H;
    const float* p = pre + b * 4 * H;
    float* g4 = gates + b * 4 * H;
    const float i = sigm(p[j]), f = sigm(p[H + j]), g = tanhf(p[2 * H + j]), o = sigm(p[3 * H + j]);
    const float cn = f * c_prev[k] + i * g;
    c[k] = cn;
    h[k] = o * tanhf(cn);
    g4[j] = i;
    g4[H + j] = f;
    g4[2 * H + j] = g;
    g4[3 * H + j] = o;
  }
}
__global__ void cell_bwd(float* dpre, float* dc_prev, const float* dh, const float* dc_next, const float* gates,
                         const float* c, const float* c_prev, int64_t B, int64_t H) {
  LMKIT_GRID_STRIDE(k, B * H) {
    const int64_t b = k / H, j = k - b * H;
    const float* g4 = gates + b * 4 * H;
    float* d4 = dpre + b * 4 * H;
    const float i = g4[j], f = g4[H + j], g = g4[2 * H + j], o = g4[3 * H + j];
    const float tc = tanhf(c[k]);
    const float dc = (dc_next ? dc_next[k] : 0.0f) + dh[k] * o * (1.0f - tc * tc);
    d4[j] = dc * g * i * (1.0f - i);
    d4[H + j] = dc * c_prev[k] * f * (1.0f - f);
    d4[2 * H + j] = dc * i * (1.0f - g * g);
    d4[3 * H + j] = dh[k] * tc * o * (1.0f - o);
    if (dc_prev) dc_prev[k] = dc * f;
  }
}
}  // namespace

cudaError_t lstm_cell_forward(float* h, float* c, float* gates, const float* gates_pre, const float* c_prev, int64_t B,
                              int64_t H) {
  if (B * H == 0) return cudaSuccess;
  LMKIT_LAUNCH(cell_fwd, grid_for(B * H, kThreads), kThreads, 0, stream())(h, c, gates, gates_pre, c_prev, B, H);
  return cudaGetLastError();
}
cudaError_t lstm_cell_backward(float* dgates_pre, float* dc_prev, const float* dh, const float* dc_next,
                               const float* gates, const float* c, const float* c_prev, int64_t B, int64_t H) {
  if (B * H == 0) return cudaSuccess;
  LMKIT_LAUNCH(cell_bwd, grid_for(B * H, kThreads), kThreads, 0, stream())(dgates_pre, dc_prev, dh, dc_next, gates, c, c_prev, B, H);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace lmkit
