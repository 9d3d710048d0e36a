// lmkit emulated CUDA backend: a reference implementation of the cuBLAS entry points that
// native/cuda/cublas_dl.cpp resolves with dlsym, with cuBLAS's semantics: column-major
// operands, op(A)/op(B) by cublasOperation_t, leading dimensions that must cover op's rows,
// strided batches, alpha/beta read from host pointers, and beta == 0 meaning C is not read
// (NaN or garbage in C does not propagate), as cublasSgemmStridedBatched documents.
//
// Compiled only into the emulated addon, whose exported symbols then play libcublas: the
// build links `libcublas-emu.so` to lmkit_cuda.node and the loader points LMKIT_CUBLAS at it,
// so the real dlopen/dlsym path of cublas_dl.cpp is what gets exercised, and with it the
// operand swaps, transposes and leading dimensions at the call sites (matmul.cu). The GEMM
// runs as a kernel on the stream given to cublasSetStream, ordered with lmkit's own kernels.
// It accumulates in double: it is the reference, not a model of cuBLAS's rounding (nor of
// TF32; the math mode is recorded and ignored).
#include <hip/hip_runtime.h>

#include <cstdint>
#include <new>
#include <utility>

#include "launch_emu.h"

namespace {
constexpr int kSuccess = 0, kNotInitialized = 1, kInvalidValue = 7;
constexpr int kOpN = 0, kOpT = 1, kOpC = 2;  // CUBLAS_OP_C equals T for real types

struct Context {
  hipStream_t stream = nullptr;
  int math_mode = 0;
};

__global__ void sgemm_ref(int m, int n, int k, float alpha, const float* A, int lda, long long sA, bool tA,
                          const float* B, int ldb, long long sB, bool tB, float beta, float* C, int ldc, long long sC,
                          int batch) {
  const int64_t per = int64_t(m) * n, total = per * batch;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t z = e / per, r = e - z * per;
    const int64_t j = r / m, i = r - j * m;  // column-major: i walks the rows of C
    const float* a = A + z * sA;
    const float* b = B + z * sB;
    float* c = C + z * sC + i + j * int64_t(ldc);
    double acc = 0.0;
    for (int64_t l = 0; l < k; ++l) {
      const float av = tA ? a[l + i * int64_t(lda)] : a[i + l * int64_t(lda)];  // op(A)(i,l)
      const float bv = tB ? b[j + l * int64_t(ldb)] : b[l + j * int64_t(ldb)];  // op(B)(l,j)
      acc += double(av) * double(bv);
    }
    const double out = double(alpha) * acc + (beta == 0.0f ? 0.0 : double(beta) * double(*c));
    *c = static_cast<float>(out);
  }
}

int max1(int v) { return v > 1 ? v : 1; }
}  // namespace

extern "C" {
__attribute__((visibility("default"))) int cublasCreate_v2(Context** h) {
  if (h == nullptr) return kInvalidValue;
  *h = new (std::nothrow) Context();
  return *h != nullptr ? kSuccess : 3;  // CUBLAS_STATUS_ALLOC_FAILED
}
__attribute__((visibility("default"))) int cublasSetStream_v2(Context* h, hipStream_t s) {
  if (h == nullptr) return kNotInitialized;
  h->stream = s;
  return kSuccess;
}
__attribute__((visibility("default"))) int cublasSetMathMode(Context* h, int mode) {
  if (h == nullptr) return kNotInitialized;
  h->math_mode = mode;
  return kSuccess;
}
// Version 1: not a cuBLAS release number (those are 5-6 digits); `lmkit info` shows the path.
__attribute__((visibility("default"))) int cublasGetVersion_v2(Context* h, int* v) {
  if (h == nullptr) return kNotInitialized;
  if (v == nullptr) return kInvalidValue;
  *v = 1;
  return kSuccess;
}
__attribute__((visibility("default"))) int cublasSgemmStridedBatched(Context* h, int ta, int tb, int m, int n, int k,
                                                                     const float* alpha, const float* A, int lda,
                                                                     long long strideA, const float* B, int ldb,
                                                                     long long strideB, const float* beta, float* C,
                                                                     int ldc, long long strideC, int batch) {
  if (h == nullptr) return kNotInitialized;
  if ((ta != kOpN && ta != kOpT && ta != kOpC) || (tb != kOpN && tb != kOpT && tb != kOpC)) return kInvalidValue;
  if (m < 0 || n < 0 || k < 0 || batch < 0 || alpha == nullptr || beta == nullptr) return kInvalidValue;
  const bool tA = ta != kOpN, tB = tb != kOpN;
  if (lda < max1(tA ? k : m) || ldb < max1(tB ? n : k) || ldc < max1(m)) return kInvalidValue;
  if (m == 0 || n == 0 || batch == 0) return kSuccess;
  const int64_t total = int64_t(m) * n * batch;
  int64_t blocks = (total + 255) / 256;
  if (blocks > 4096) blocks = 4096;
  lmkit::emu::make_launch(__FILE__, "sgemm_ref (cuBLAS reference)", unsigned(blocks), 256u, 0, h->stream,
                          [](auto&&... xs) { sgemm_ref(std::forward<decltype(xs)>(xs)...); })(
      m, n, k, *alpha, A, lda, strideA, tA, B, ldb, strideB, tB, *beta, C, ldc, strideC, batch);
  return kSuccess;
}
}  // extern "C"
