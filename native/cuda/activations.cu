// lmkit CUDA kernel family: activations. See activations.h. Never run on a GPU yet.
#include "activations.h"
#include "common.cuh"

namespace lmkit {
namespace cuda {
namespace {
constexpr float kGeluK = 0.7978845608028654f;  // sqrt(2/pi), as native/cpu/activations.cpp
constexpr float kGeluC = 0.044715f;

__device__ __forceinline__ float sigm(float x) { return 1.0f / (1.0f + __expf(-x)); }

template <class F>
__global__ void map1(float* __restrict__ out, const float* __restrict__ in, int64_t n, F f) {
  LMKIT_GRID_STRIDE(i, n) out[i] = f(in[i]);
}
// out may alias a (dinp == dout is allowed): each element is read before it is written.
template <class F>
__global__ void map2(float* out, const float* a, const float* b, int64_t n, F f) {
  LMKIT_GRID_STRIDE(i, n) out[i] = f(a[i], b[i]);
}

struct TanhF { __device__ float operator()(float x) const { return tanhf(x); } };
struct TanhB { __device__ float operator()(float g, float y) const { return g * (1.0f - y * y); } };
struct SigF { __device__ float operator()(float x) const { return sigm(x); } };
struct SigB { __device__ float operator()(float g, float y) const { return g * y * (1.0f - y); } };
struct ReluF { __device__ float operator()(float x) const { return x > 0.0f ? x : 0.0f; } };
struct ReluB { __device__ float operator()(float g, float x) const { return x > 0.0f ? g : 0.0f; } };
struct GeluF {
  __device__ float operator()(float x) const {
    const float u = kGeluK * (x + kGeluC * x * x * x);
    return x / (1.0f + __expf(-2.0f * u));
  }
};
struct GeluB {
  __device__ float operator()(float g, float x) const {
    const float x2 = x * x;
    const float u = kGeluK * (x + kGeluC * x2 * x);
    const float du = kGeluK * (1.0f + 3.0f * kGeluC * x2);
    const float s = 1.0f / (1.0f + __expf(-2.0f * u));
    return g * (s + 2.0f * x * s * (1.0f - s) * du);
  }
};
struct SiluF { __device__ float operator()(float x) const { return x * sigm(x); } };
struct SiluB {
  __device__ float operator()(float g, float x) const {
    const float s = sigm(x);
    return g * s * (1.0f + x * (1.0f - s));
  }
};

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

cudaError_t tanh_forward(float* out, const float* inp, int64_t n) { return launch1<TanhF>(out, inp, n); }
cudaError_t tanh_backward(float* dinp, const float* dout, const float* out, int64_t n) { return launch2<TanhB>(dinp, dout, out, n); }
cudaError_t sigmoid_forward(float* out, const float* inp, int64_t n) { return launch1<SigF>(out, inp, n); }
cudaError_t sigmoid_backward(float* dinp, const float* dout, const float* out, int64_t n) { return launch2<SigB>(dinp, dout, out, n); }
cudaError_t relu_forward(float* out, const float* inp, int64_t n) { return launch1<ReluF>(out, inp, n); }
cudaError_t relu_backward(float* dinp, const float* dout, const float* inp, int64_t n) { return launch2<ReluB>(dinp, dout, inp, n); }
cudaError_t gelu_forward(float* out, const float* inp, int64_t n) { return launch1<GeluF>(out, inp, n); }
cudaError_t gelu_backward(float* dinp, const float* dout, const float* inp, int64_t n) { return launch2<GeluB>(dinp, dout, inp, n); }
cudaError_t silu_forward(float* out, const float* inp, int64_t n) { return launch1<SiluF>(out, inp, n); }
cudaError_t silu_backward(float* dinp, const float* dout, const float* inp, int64_t n) { return launch2<SiluB>(dinp, dout, inp, n); }

}  // namespace cuda
}  // namespace lmkit
