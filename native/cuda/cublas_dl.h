// lmkit CUDA backend: cuBLAS loaded at run time (dlopen), declared here by hand.
//
// There are no cuBLAS headers on the build machines and the addon must load where only the
// NVIDIA driver is installed, so nothing links against cuBLAS. The few types, enum values
// and functions used are declared below (values as in cublas_api.h of CUDA 12/13) and
// resolved with dlsym from the first of:
//   $LMKIT_CUBLAS (a path), libcublas.so.13, libcublas.so.12, libcublas.so,
//   PyTorch's pip wheel locations: $LMKIT_CUBLAS_DIR/libcublas.so.12 (set it to
//   <site-packages>/nvidia/cublas/lib).
// When none loads (or LMKIT_CUBLAS=0), the own SGEMM kernel in matmul.cu serves.
// NOTE: never run on a GPU yet (see docs/cuda.md).
#pragma once
#include <cuda_runtime_api.h>

#include <string>

namespace lmkit {
namespace cuda {
namespace cublas {

typedef struct cublasContext* cublasHandle_t;
typedef int cublasStatus_t;  // CUBLAS_STATUS_SUCCESS = 0
enum cublasOperation_t : int { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
enum cublasMath_t : int { CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3 };
constexpr cublasStatus_t CUBLAS_STATUS_SUCCESS = 0;

// True when the library and every symbol below were found (tries once).
bool available();
// Which file was loaded ("" when none), and why none was when not.
std::string loaded_path();
std::string load_error();
// cublasGetVersion (e.g. 120402), 0 when not loaded.
int version();

// A handle bound to lmkit's stream (created once; nullptr when unavailable or creation
// failed). TF32 tensor-core math is on unless LMKIT_CUDA_TF32=0.
cublasHandle_t handle();

// Column-major strided-batched SGEMM, as cublasSgemmStridedBatched.
cublasStatus_t sgemm_strided_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                     const float* alpha, const float* A, int lda, long long strideA, const float* B,
                                     int ldb, long long strideB, const float* beta, float* C, int ldc, long long strideC,
                                     int batch);

}  // namespace cublas
}  // namespace cuda
}  // namespace lmkit
