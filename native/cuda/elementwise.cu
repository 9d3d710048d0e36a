// lmkit CUDA kernel family: elementwise / broadcast arithmetic. See elementwise.h.
// Never run on a GPU yet.
#include "common.cuh"
#include "elementwise.h"

namespace lmkit {
namespace cuda {
namespace {
struct Strides {
  int nd;
  int64_t shape[kMaxDims], sa[kMaxDims], sb[kMaxDims];
};

template <int OP>
__global__ void binary_kernel(float* out, const float* a, const float* b, int64_t total, Strides s) {
  LMKIT_GRID_STRIDE(i, total) {
    int64_t rem = i, oa = 0, ob = 0;
    for (int d = s.nd - 1; d >= 0; --d) {
      const int64_t c = rem % s.shape[d];
      rem /= s.shape[d];
      oa += c * s.sa[d];
      ob += c * s.sb[d];
    }
    const float x = a[oa], y = b[ob];
    out[i] = OP == 0 ? x + y : OP == 1 ? x - y : OP == 2 ? x * y : x / y;
  }
}

__global__ void affine_kernel(float* out, const float* inp, int64_t n, float alpha, float beta) {
  LMKIT_GRID_STRIDE(i, n) out[i] = alpha * inp[i] + beta;
}
__global__ void axpy_kernel(float* y, const float* x, int64_t n, float alpha) {
  LMKIT_GRID_STRIDE(i, n) y[i] += alpha * x[i];
}
__global__ void pow_f(float* out, const float* inp, int64_t n, float p) { LMKIT_GRID_STRIDE(i, n) out[i] = powf(inp[i], p); }
__global__ void pow_b(float* dinp, const float* dout, const float* inp, int64_t n, float p) {
  LMKIT_GRID_STRIDE(i, n) dinp[i] = dout[i] * p * powf(inp[i], p - 1.0f);
}

template <class F>
__global__ void map1(float* out, const float* in, int64_t n, F f) { LMKIT_GRID_STRIDE(i, n) out[i] = f(in[i]); }
template <class F>
__global__ void map2(float* out, const float* a, const float* b, int64_t n, F f) {
  LMKIT_GRID_STRIDE(i, n) out[i] = f(a[i], b[i]);
}
struct ExpF { __device__ float operator()(float x) const { return expf(x); } };
struct ExpB { __device__ float operator()(float g, float y) const { return g * y; } };
struct LogF { __device__ float operator()(float x) const { return logf(x); } };
struct LogB { __device__ float operator()(float g, float x) const { return g / x; } };
struct SqrtF { __device__ float operator()(float x) const { return sqrtf(x); } };
struct SqrtB { __device__ float operator()(float g, float y) const { return g * 0.5f / y; } };

template <class F>
cudaError_t launch1(float* out, const float* in, int64_t n) {
  if (n == 0) return cudaSuccess;
  LMKIT_LAUNCH(map1, grid_for(n, kThreads), kThreads, 0, stream())(out, in, n, F());
  return cudaGetLastError();
}
template <class F>
cudaError_t launch2(float* out, const float* a, const float* b, int64_t n) {
  if (n == 0) return cudaSuccess;
  LMKIT_LAUNCH(map2, grid_for(n, kThreads), kThreads, 0, stream())(out, a, b, n, F());
  return cudaGetLastError();
}
}  // namespace

cudaError_t binary_forward(BinaryOp op, float* out, const float* a, const float* b, int ndim, const int64_t* shape,
                           const int64_t* a_strides, const int64_t* b_strides) {
  Strides s{};
  s.nd = ndim;
  int64_t total = 1;
  for (int d = 0; d < ndim; ++d) {
    s.shape[d] = shape[d];
    s.sa[d] = a_strides[d];
    s.sb[d] = b_strides[d];
    total *= shape[d];
  }
  if (total == 0) return cudaSuccess;
  const unsigned g = grid_for(total, kThreads);
  switch (op) {
    case BinaryOp::Add: LMKIT_LAUNCH(binary_kernel<0>, g, kThreads, 0, stream())(out, a, b, total, s); break;
    case BinaryOp::Sub: LMKIT_LAUNCH(binary_kernel<1>, g, kThreads, 0, stream())(out, a, b, total, s); break;
    case BinaryOp::Mul: LMKIT_LAUNCH(binary_kernel<2>, g, kThreads, 0, stream())(out, a, b, total, s); break;
    case BinaryOp::Div: LMKIT_LAUNCH(binary_kernel<3>, g, kThreads, 0, stream())(out, a, b, total, s); break;
  }
  return cudaGetLastError();
}

cudaError_t affine_forward(float* out, const float* inp, int64_t n, float alpha, float beta) {
  if (n == 0) return cudaSuccess;
  LMKIT_LAUNCH(affine_kernel, grid_for(n, kThreads), kThreads, 0, stream())(out, inp, n, alpha, beta);
  return cudaGetLastError();
}
cudaError_t axpy(float* y, const float* x, int64_t n, float alpha) {
  if (n == 0) return cudaSuccess;
  LMKIT_LAUNCH(axpy_kernel, grid_for(n, kThreads), kThreads, 0, stream())(y, x, n, alpha);
  return cudaGetLastError();
}
cudaError_t exp_forward(float* out, const float* inp, int64_t n) { return launch1<ExpF>(out, inp, n); }
cudaError_t exp_backward(float* dinp, const float* dout, const float* out, int64_t n) { return launch2<ExpB>(dinp, dout, out, n); }
cudaError_t log_forward(float* out, const float* inp, int64_t n) { return launch1<LogF>(out, inp, n); }
cudaError_t log_backward(float* dinp, const float* dout, const float* inp, int64_t n) { return launch2<LogB>(dinp, dout, inp, n); }
cudaError_t sqrt_forward(float* out, const float* inp, int64_t n) { return launch1<SqrtF>(out, inp, n); }
cudaError_t sqrt_backward(float* dinp, const float* dout, const float* out, int64_t n) { return launch2<SqrtB>(dinp, dout, out, n); }
cudaError_t pow_scalar_forward(float* out, const float* inp, int64_t n, float p) {
  if (n == 0) return cudaSuccess;
  LMKIT_LAUNCH(pow_f, grid_for(n, kThreads), kThreads, 0, stream())(out, inp, n, p);
  return cudaGetLastError();
}
cudaError_t pow_scalar_backward(float* dinp, const float* dout, const float* inp, int64_t n, float p) {
  if (n == 0) return cudaSuccess;
  LMKIT_LAUNCH(pow_b, grid_for(n, kThreads), kThreads, 0, stream())(dinp, dout, inp, n, p);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace lmkit
