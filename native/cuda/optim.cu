// lmkit CUDA kernel family: fused SGD and Adam/AdamW steps. See optim.h.
// Never run on a GPU yet.
#include <cmath>

#include "common.cuh"
#include "optim.h"

namespace lmkit {
namespace cuda {
namespace {
__global__ void sgd_kernel(float* p, float* vel, const float* g, int64_t n, float lr, float mu, float wd, bool nesterov) {
  LMKIT_GRID_STRIDE(i, n) {
    const float gi = g[i] + wd * p[i];
    if (vel != nullptr) {
      const float vi = mu * vel[i] + gi;
      vel[i] = vi;
      p[i] -= lr * (nesterov ? gi + mu * vi : vi);
    } else {
      p[i] -= lr * gi;
    }
  }
}
struct AdamK {
  float b1, b2, one_m_b1, one_m_b2, eps, wd, decay, step_size, inv_sqrt_bc2;
};
__global__ void adam_kernel(float* p, float* m, float* v, const float* g, int64_t n, AdamK k, bool decoupled) {
  LMKIT_GRID_STRIDE(i, n) {
    float pi = p[i];
    float gi = g[i];
    if (decoupled) {
      pi *= k.decay;
    } else {
      gi += k.wd * pi;
    }
    const float mi = k.b1 * m[i] + k.one_m_b1 * gi;
    const float vi = k.b2 * v[i] + k.one_m_b2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - k.step_size * mi / (sqrtf(vi) * k.inv_sqrt_bc2 + k.eps);
  }
}
struct SophiaK {
  float b1, one_m_b1, decay, lr, rho_bs, eps;
};
__global__ void sophia_kernel(float* p, float* m, const float* h, const float* g, int64_t n, SophiaK k) {
  LMKIT_GRID_STRIDE(i, n) {
    const float mi = k.b1 * m[i] + k.one_m_b1 * g[i];
    m[i] = mi;
    float r = fabsf(mi) / (k.rho_bs * h[i] + k.eps);
    r = r < 1.f ? r : 1.f;
    const float sgn = static_cast<float>((mi > 0.f) - (mi < 0.f));
    p[i] = p[i] * k.decay - k.lr * sgn * r;
  }
}
__global__ void hessian_kernel(float* h, const float* ghat, int64_t n, float b2, float c) {
  LMKIT_GRID_STRIDE(i, n) h[i] = b2 * h[i] + c * (ghat[i] * ghat[i]);
}
__device__ __forceinline__ uint64_t mix64(uint64_t z) {  // as native/cpu/optim.cpp
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
// One thread per row, the CPU's loop verbatim (rows in parallel; a block-parallel version
// is on the list in docs/cuda.md).
__global__ void sample_kernel(int32_t* out, const float* logits, int64_t N, int64_t V, uint64_t seed) {
  LMKIT_GRID_STRIDE(r, N) {
    const float* l = logits + r * V;
    float mx = l[0];
    for (int64_t j = 1; j < V; ++j) mx = l[j] > mx ? l[j] : mx;
    double total = 0;
    for (int64_t j = 0; j < V; ++j) total += exp(static_cast<double>(l[j]) - mx);
    const uint64_t z = mix64(seed + 0x9E3779B97F4A7C15ULL * (static_cast<uint64_t>(r) + 1));
    const double u = static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
    const double target = u * total;
    double acc = 0;
    int64_t pick = -1, last = 0;
    for (int64_t j = 0; j < V; ++j) {
      const double pj = exp(static_cast<double>(l[j]) - mx);
      if (pj > 0) last = j;
      acc += pj;
      if (acc > target) {
        pick = j;
        break;
      }
    }
    out[r] = static_cast<int32_t>(pick >= 0 ? pick : last);
  }
}
// ---- Adafactor ------------------------------------------------------------------------
__device__ double block_sum_d(double v, double* scratch) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < nw ? scratch[lane] : 0.0;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
struct AfParams {
  int64_t rows, cols, n;
  double e1, eps2, rho, wd, clip;
  float b2, omb2;
  bool scale_parameter;
};
// Scratch layout (doubles): [0] psq, [1] usq, [2] rmean, [3] decay, [4] step, then prow (rows), urow (rows).
constexpr int kAfHead = 8;

// Pass 1 (factored): row[i] = b2 row[i] + (1-b2) (mean_j g^2 + e1); prow[i] = sum_j p^2.
__global__ void af_rows1(float* row, double* prow, const float* p, const float* g, AfParams a) {
  __shared__ double scratch[32];
  LMKIT_ROW_STRIDE(i, a.rows) {
    double sg = 0, sp = 0;
    for (int64_t j = threadIdx.x; j < a.cols; j += blockDim.x) {
      const double gv = g[i * a.cols + j], pv = p[i * a.cols + j];
      sg += gv * gv;
      sp += pv * pv;
    }
    sg = block_sum_d(sg, scratch);
    sp = block_sum_d(sp, scratch);
    if (threadIdx.x == 0) {
      row[i] = static_cast<float>(a.b2 * static_cast<double>(row[i]) + a.omb2 * (sg / static_cast<double>(a.cols) + a.e1));
      prow[i] = sp;
    }
  }
}
// Column averages, one thread per column.
__global__ void af_cols(float* col, const float* g, AfParams a) {
  LMKIT_GRID_STRIDE(j, a.cols) {
    double s = 0;
    for (int64_t i = 0; i < a.rows; ++i) {
      const double gv = g[i * a.cols + j];
      s += gv * gv;
    }
    col[j] = static_cast<float>(a.b2 * static_cast<double>(col[j]) + a.omb2 * (s / static_cast<double>(a.rows) + a.e1));
  }
}
// One block: psq = sum prow, rmean = mean(row).
__global__ void af_rowstats(double* head, const double* prow, const float* row, AfParams a) {
  __shared__ double scratch[32];
  double sp = 0, sr = 0;
  for (int64_t i = threadIdx.x; i < a.rows; i += blockDim.x) {
    sp += prow[i];
    sr += row[i];
  }
  sp = block_sum_d(sp, scratch);
  sr = block_sum_d(sr, scratch);
  if (threadIdx.x == 0) {
    head[0] = sp;
    head[2] = sr / static_cast<double>(a.rows);
  }
}
__device__ __forceinline__ float af_rf(const double* head, const float* row, int64_t i) {
  return static_cast<float>(sqrt(head[2] / row[i]));
}
__device__ __forceinline__ float af_cf(const float* col, int64_t j) {
  return static_cast<float>(1.0 / sqrt(static_cast<double>(col[j])));
}
// Pass 2: urow[i] = sum_j (g_ij rf_i cf_j)^2.
__global__ void af_rows2(double* urow, const double* head, const float* g, const float* row, const float* col, AfParams a) {
  __shared__ double scratch[32];
  LMKIT_ROW_STRIDE(i, a.rows) {
    const float r = af_rf(head, row, i);
    double s = 0;
    for (int64_t j = threadIdx.x; j < a.cols; j += blockDim.x) {
      const double u = g[i * a.cols + j] * r * af_cf(col, j);
      s += u * u;
    }
    s = block_sum_d(s, scratch);
    if (threadIdx.x == 0) urow[i] = s;
  }
}
// One block: usq (from urow when given, else head[1] already holds it), then decay and step.
__global__ void af_scalars(double* head, const double* urow, AfParams a) {
  __shared__ double scratch[32];
  double su = 0;
  if (urow != nullptr) {
    for (int64_t i = threadIdx.x; i < a.rows; i += blockDim.x) su += urow[i];
    su = block_sum_d(su, scratch);
  }
  if (threadIdx.x == 0) {
    const double usq = urow != nullptr ? su : head[1];
    const double rms_p = sqrt(head[0] / static_cast<double>(a.n));
    const double rms_u = sqrt(usq / static_cast<double>(a.n));
    const double alpha = a.scale_parameter ? fmax(a.eps2, rms_p) * a.rho : a.rho;
    head[3] = static_cast<double>(static_cast<float>(1.0 - alpha * a.wd));
    head[4] = static_cast<double>(static_cast<float>(alpha / fmax(1.0, rms_u / a.clip)));
  }
}
__global__ void af_apply(float* p, const float* g, const double* head, const float* row, const float* col, AfParams a) {
  const float decay = static_cast<float>(head[3]), step = static_cast<float>(head[4]);
  LMKIT_GRID_STRIDE(k, a.n) {
    const int64_t i = k / a.cols, j = k - i * a.cols;
    const float r = af_rf(head, row, i) * step;
    p[k] = p[k] * decay - g[k] * r * af_cf(col, j);
  }
}
// Unfactored: v = b2 v + (1-b2)(g^2 + e1); psq += p^2, usq += (g / sqrt v)^2 (double atomics).
__global__ void af_full1(float* v, double* head, const float* p, const float* g, AfParams a) {
  __shared__ double scratch[32];
  double sp = 0, su = 0;
  const float e1 = static_cast<float>(a.e1);
  LMKIT_GRID_STRIDE(i, a.n) {
    const float vi = a.b2 * v[i] + a.omb2 * (g[i] * g[i] + e1);
    v[i] = vi;
    const double u = g[i] / sqrt(static_cast<double>(vi));
    su += u * u;
    sp += static_cast<double>(p[i]) * p[i];
  }
  sp = block_sum_d(sp, scratch);
  su = block_sum_d(su, scratch);
  if (threadIdx.x == 0) {
    atomicAdd(head + 0, sp);
    atomicAdd(head + 1, su);
  }
}
__global__ void af_full_apply(float* p, const float* g, const float* v, const double* head, AfParams a) {
  const float decay = static_cast<float>(head[3]), step = static_cast<float>(head[4]);
  LMKIT_GRID_STRIDE(i, a.n) p[i] = p[i] * decay - step * (g[i] / sqrtf(v[i]));
}
}  // namespace

cudaError_t sgd_step(float* param, float* velocity, const float* grad, int64_t n, float lr, float momentum,
                     float weight_decay, bool nesterov) {
  if (n <= 0) return cudaSuccess;
  LMKIT_LAUNCH(sgd_kernel, grid_for(n, kThreads), kThreads, 0, stream())(param, velocity, grad, n, lr, momentum, weight_decay,
                                                              nesterov);
  return cudaGetLastError();
}

cudaError_t adamw_step(float* param, float* m, float* v, const float* grad, int64_t n, float lr, float beta1, float beta2,
                       float eps, float weight_decay, int64_t step, bool decoupled) {
  if (n <= 0) return cudaSuccess;
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
  LMKIT_LAUNCH(adam_kernel, grid_for(n, kThreads), kThreads, 0, stream())(param, m, v, grad, n, k, decoupled);
  return cudaGetLastError();
}

cudaError_t adafactor_step(float* param, float* row, float* col, float* v, const float* grad, int64_t rows, int64_t cols,
                           float rho, float beta2, float eps1, float eps2, float clip, float weight_decay,
                           bool scale_parameter) {
  const int64_t n = rows * cols;
  if (n <= 0) return cudaSuccess;
  AfParams a;
  a.rows = rows;
  a.cols = cols;
  a.n = n;
  a.e1 = eps1;
  a.eps2 = eps2;
  a.rho = rho;
  a.wd = weight_decay;
  a.clip = clip;
  a.b2 = beta2;
  a.omb2 = static_cast<float>(1.0 - static_cast<double>(beta2));
  a.scale_parameter = scale_parameter;
  const bool factored = row != nullptr;
  void* mem = nullptr;
  cudaError_t e = malloc_async(&mem, static_cast<size_t>(kAfHead + (factored ? 2 * rows : 0)) * sizeof(double));
  if (e != cudaSuccess) return e;
  double* head = static_cast<double*>(mem);
  if ((e = memset_async(head, 0, kAfHead * sizeof(double))) == cudaSuccess) {
    if (factored) {
      double* prow = head + kAfHead;
      double* urow = prow + rows;
      LMKIT_LAUNCH(af_rows1, rows_grid(rows), kThreads, 0, stream())(row, prow, param, grad, a);
      LMKIT_LAUNCH(af_cols, grid_for(cols, kThreads), kThreads, 0, stream())(col, grad, a);
      LMKIT_LAUNCH(af_rowstats, 1, kThreads, 0, stream())(head, prow, row, a);
      LMKIT_LAUNCH(af_rows2, rows_grid(rows), kThreads, 0, stream())(urow, head, grad, row, col, a);
      LMKIT_LAUNCH(af_scalars, 1, kThreads, 0, stream())(head, urow, a);
      LMKIT_LAUNCH(af_apply, grid_for(n, kThreads), kThreads, 0, stream())(param, grad, head, row, col, a);
    } else {
      LMKIT_LAUNCH(af_full1, grid_for(n, kThreads), kThreads, 0, stream())(v, head, param, grad, a);
      LMKIT_LAUNCH(af_scalars, 1, kThreads, 0, stream())(head, nullptr, a);
      LMKIT_LAUNCH(af_full_apply, grid_for(n, kThreads), kThreads, 0, stream())(param, grad, v, head, a);
    }
    e = cudaGetLastError();
  }
  free_async(mem);
  return e;
}

cudaError_t sophia_step(float* param, float* m, const float* h, const float* grad, int64_t n, float lr, float beta1,
                        float rho, float weight_decay, float bs, float eps) {
  if (n <= 0) return cudaSuccess;
  SophiaK k;
  k.b1 = beta1;
  k.one_m_b1 = static_cast<float>(1.0 - static_cast<double>(beta1));
  k.decay = static_cast<float>(1.0 - static_cast<double>(lr) * static_cast<double>(weight_decay));
  k.lr = lr;
  k.rho_bs = static_cast<float>(static_cast<double>(rho) * static_cast<double>(bs));
  k.eps = eps;
  LMKIT_LAUNCH(sophia_kernel, grid_for(n, kThreads), kThreads, 0, stream())(param, m, h, grad, n, k);
  return cudaGetLastError();
}
cudaError_t sophia_hessian(float* h, const float* ghat, int64_t n, float beta2, float scale) {
  if (n <= 0) return cudaSuccess;
  const float c = static_cast<float>((1.0 - static_cast<double>(beta2)) * static_cast<double>(scale));
  LMKIT_LAUNCH(hessian_kernel, grid_for(n, kThreads), kThreads, 0, stream())(h, ghat, n, beta2, c);
  return cudaGetLastError();
}
cudaError_t sample_labels(int32_t* out, const float* logits, int64_t N, int64_t V, uint64_t seed) {
  if (N <= 0) return cudaSuccess;
  LMKIT_LAUNCH(sample_kernel, grid_for(N, 128), 128, 0, stream())(out, logits, N, V, seed);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace lmkit
