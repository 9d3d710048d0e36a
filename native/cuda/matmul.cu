// lmkit CUDA kernel family: batched matmul. See matmul.h. Never run on a GPU yet.
//
// The own kernel: each 256-thread block computes a 64x64 tile of C for one batch entry,
// stepping through K in slices of 16: the A slice (64x16) and B slice (16x64) are staged in
// shared memory (out-of-range elements read as 0), and each thread accumulates a 4x4
// sub-tile in registers. Transposes only change how the slices are loaded.
#include <climits>
#include <string>

#include "common.cuh"
#include "cublas_dl.h"
#include "matmul.h"

namespace lmkit {
namespace cuda {
namespace {
constexpr int BM = 64, BN = 64, BK = 16;

__global__ void __launch_bounds__(256) sgemm_kernel(float* C, const float* A, const float* B, int64_t batch, int64_t M,
                                                    int64_t N, int64_t K, bool tA, bool tB, float alpha, float beta) {
  __shared__ float As[BK][BM + 4];
  __shared__ float Bs[BK][BN + 4];
  const int tid = threadIdx.x;
  const int tx = tid % 16, ty = tid / 16;  // 16x16 threads, 4x4 outputs each
  const int64_t m0 = int64_t(blockIdx.y) * BM, n0 = int64_t(blockIdx.x) * BN;
  for (int64_t z = blockIdx.z; z < batch; z += gridDim.z) {
    const float* a = A + z * M * K;
    const float* b = B + z * K * N;
    float* c = C + z * M * N;
    float acc[4][4] = {};
    for (int64_t k0 = 0; k0 < K; k0 += BK) {
      // 1024 elements of each slice, 4 per thread.
      for (int e = tid; e < BM * BK; e += 256) {
        int mm, kk;
        if (tA) {  // a stored (K,M): consecutive threads walk m
          mm = e % BM;
          kk = e / BM;
        } else {   // a stored (M,K): consecutive threads walk k
          kk = e % BK;
          mm = e / BK;
        }
        const int64_t gm = m0 + mm, gk = k0 + kk;
        float v = 0.0f;
        if (gm < M && gk < K) v = tA ? a[gk * M + gm] : a[gm * K + gk];
        As[kk][mm] = v;
      }
      for (int e = tid; e < BK * BN; e += 256) {
        int kk, nn;
        if (tB) {  // b stored (N,K)
          kk = e % BK;
          nn = e / BK;
        } else {   // b stored (K,N)
          nn = e % BN;
          kk = e / BN;
        }
        const int64_t gk = k0 + kk, gn = n0 + nn;
        float v = 0.0f;
        if (gk < K && gn < N) v = tB ? b[gn * K + gk] : b[gk * N + gn];
        Bs[kk][nn] = v;
      }
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < BK; ++kk) {
        float ar[4], br[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) ar[i] = As[kk][ty + 16 * i];
#pragma unroll
        for (int j = 0; j < 4; ++j) br[j] = Bs[kk][tx + 16 * j];
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
          for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(ar[i], br[j], acc[i][j]);
      }
      __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int64_t gm = m0 + ty + 16 * i;
      if (gm >= M) continue;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int64_t gn = n0 + tx + 16 * j;
        if (gn >= N) continue;
        float* p = c + gm * N + gn;
        *p = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *p;
      }
    }
  }
}

bool fits_int(int64_t v) { return v <= INT_MAX; }

std::string& backend_text() {
  static std::string* s = new std::string();
  return *s;
}
}  // namespace

cudaError_t gemm(float* C, const float* A, const float* B, int64_t batch, int64_t M, int64_t N, int64_t K, bool transA,
                 bool transB, float alpha, float beta, bool use_cublas) {
  if (batch == 0 || M == 0 || N == 0) return cudaSuccess;
  if (use_cublas && K > 0 && fits_int(M) && fits_int(N) && fits_int(K) && fits_int(batch)) {
    if (cublas::cublasHandle_t h = cublas::handle()) {
      // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
      const cublas::cublasStatus_t st = cublas::sgemm_strided_batched(
          h, transB ? cublas::CUBLAS_OP_T : cublas::CUBLAS_OP_N, transA ? cublas::CUBLAS_OP_T : cublas::CUBLAS_OP_N,
          int(N), int(M), int(K), &alpha, B, int(transB ? K : N), (long long)(K * N), A, int(transA ? M : K),
          (long long)(M * K), &beta, C, int(N), (long long)(M * N), int(batch));
      if (st == cublas::CUBLAS_STATUS_SUCCESS) return cudaGetLastError();
      // A cuBLAS failure is reported as a launch failure (the napi layer names the op).
      return cudaErrorLaunchFailure;
    }
  }
  dim3 grid(static_cast<unsigned>((N + BN - 1) / BN), static_cast<unsigned>((M + BM - 1) / BM),
            static_cast<unsigned>(batch < max_blocks(65535) ? batch : max_blocks(65535)));
  if ((N + BN - 1) / BN > INT_MAX || (M + BM - 1) / BM > 65535) return cudaErrorInvalidConfiguration;
  LMKIT_LAUNCH(sgemm_kernel, grid, 256, 0, stream())(C, A, B, batch, M, N, K, transA, transB, alpha, beta);
  return cudaGetLastError();
}

cudaError_t matmul_forward(float* out, const float* a, const float* b, int64_t batch, int64_t M, int64_t N, int64_t K,
                           bool transA, bool transB) {
  return gemm(out, a, b, batch, M, N, K, transA, transB, 1.0f, 0.0f);
}

namespace {
// dL/dop(a) = dout op(b)^T,  dL/dop(b) = op(a)^T dout, written in the storage layout of a / b.
cudaError_t backward(float* da, float* db, const float* dout, const float* a, const float* b, int64_t batch, int64_t M,
                     int64_t N, int64_t K, bool tA, bool tB, float beta) {
  cudaError_t e = cudaSuccess;
  if (da != nullptr) {
    e = tA ? gemm(da, b, dout, batch, K, M, N, tB, true, 1.0f, beta)     // da (K,M) = op(b) dout^T
           : gemm(da, dout, b, batch, M, K, N, false, !tB, 1.0f, beta);  // da (M,K) = dout op(b)^T
    if (e != cudaSuccess) return e;
  }
  if (db != nullptr) {
    e = tB ? gemm(db, dout, a, batch, N, K, M, true, tA, 1.0f, beta)     // db (N,K) = dout^T op(a)
           : gemm(db, a, dout, batch, K, N, M, !tA, false, 1.0f, beta);  // db (K,N) = op(a)^T dout
  }
  return e;
}
}  // namespace

cudaError_t matmul_backward(float* da, float* db, const float* dout, const float* a, const float* b, int64_t batch,
                            int64_t M, int64_t N, int64_t K, bool transA, bool transB) {
  return backward(da, db, dout, a, b, batch, M, N, K, transA, transB, 0.0f);
}
cudaError_t matmul_backward_accumulate(float* da, float* db, const float* dout, const float* a, const float* b,
                                       int64_t batch, int64_t M, int64_t N, int64_t K, bool transA, bool transB) {
  return backward(da, db, dout, a, b, batch, M, N, K, transA, transB, 1.0f);
}

const char* sgemm_backend() {
  // Never creates the cuBLAS handle itself (that happens at the first matmul).
  std::string& s = backend_text();
  if (!cublas::available()) {
    s = "own CUDA SGEMM kernel (cuBLAS: " + cublas::load_error() + ")";
  } else if (cublas::version() > 0) {
    s = "cublas " + std::to_string(cublas::version()) + " (" + cublas::loaded_path() + ")";
  } else if (!cublas::load_error().empty()) {
    s = "own CUDA SGEMM kernel (cuBLAS: " + cublas::load_error() + ")";
  } else {
    s = "cublas (" + cublas::loaded_path() + "; handle created at the first matmul)";
  }
  return s.c_str();
}

}  // namespace cuda
}  // namespace lmkit
