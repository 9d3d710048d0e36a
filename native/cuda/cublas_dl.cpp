// cuBLAS through dlopen (see cublas_dl.h). Never run on a GPU yet.
#include "cublas_dl.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "runtime.h"

namespace lmkit {
namespace cuda {
namespace cublas {

namespace {
using CreateFn = cublasStatus_t (*)(cublasHandle_t*);
using SetStreamFn = cublasStatus_t (*)(cublasHandle_t, cudaStream_t);
using SetMathModeFn = cublasStatus_t (*)(cublasHandle_t, int);
using GetVersionFn = cublasStatus_t (*)(cublasHandle_t, int*);
using SgemmSBFn = cublasStatus_t (*)(cublasHandle_t, int, int, int, int, int, const float*, const float*, int, long long,
                                     const float*, int, long long, const float*, float*, int, long long, int);

struct Lib {
  std::once_flag once;
  void* so = nullptr;
  std::string path, error;
  CreateFn create = nullptr;
  SetStreamFn set_stream = nullptr;
  SetMathModeFn set_math_mode = nullptr;
  GetVersionFn get_version = nullptr;
  SgemmSBFn sgemm_sb = nullptr;
  std::once_flag handle_once;
  cublasHandle_t handle = nullptr;
  int version = 0;
};
Lib& lib() {
  static Lib* l = new Lib();
  return *l;
}

void load(Lib& l) {
  const char* env = std::getenv("LMKIT_CUBLAS");
  if (env != nullptr && std::strcmp(env, "0") == 0) {
    l.error = "disabled by LMKIT_CUBLAS=0";
    return;
  }
  std::vector<std::string> names;
  if (env != nullptr && env[0] != '\0') names.push_back(env);
  names.push_back("libcublas.so.13");
  names.push_back("libcublas.so.12");
  names.push_back("libcublas.so");
  if (const char* dir = std::getenv("LMKIT_CUBLAS_DIR")) {
    names.push_back(std::string(dir) + "/libcublas.so.12");
    names.push_back(std::string(dir) + "/libcublas.so.13");
  }
  std::string errors;
  for (const std::string& n : names) {
    void* so = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (so == nullptr) {
      const char* e = dlerror();
      if (errors.empty() && e != nullptr) errors = e;
      continue;
    }
    l.create = reinterpret_cast<CreateFn>(dlsym(so, "cublasCreate_v2"));
    l.set_stream = reinterpret_cast<SetStreamFn>(dlsym(so, "cublasSetStream_v2"));
    l.set_math_mode = reinterpret_cast<SetMathModeFn>(dlsym(so, "cublasSetMathMode"));
    l.get_version = reinterpret_cast<GetVersionFn>(dlsym(so, "cublasGetVersion_v2"));
    l.sgemm_sb = reinterpret_cast<SgemmSBFn>(dlsym(so, "cublasSgemmStridedBatched"));
    if (l.create && l.set_stream && l.set_math_mode && l.get_version && l.sgemm_sb) {
      l.so = so;
      l.path = n;
      return;
    }
    errors = n + " lacks a cuBLAS symbol";
    dlclose(so);
  }
  l.error = errors.empty() ? "libcublas.so.13/.12 not found" : errors;
}

Lib& loaded() {
  Lib& l = lib();
  std::call_once(l.once, [&l] { load(l); });
  return l;
}
}  // namespace

bool available() { return loaded().so != nullptr; }
std::string loaded_path() { return loaded().path; }
std::string load_error() { return loaded().error; }

cublasHandle_t handle() {
  Lib& l = loaded();
  if (l.so == nullptr) return nullptr;
  std::call_once(l.handle_once, [&l] {
    if (ensure_init() != cudaSuccess) return;
    cublasHandle_t h = nullptr;
    if (l.create(&h) != CUBLAS_STATUS_SUCCESS) {
      l.error = "cublasCreate failed";
      return;
    }
    if (l.set_stream(h, stream()) != CUBLAS_STATUS_SUCCESS) {
      l.error = "cublasSetStream failed";
      return;
    }
    const char* tf32 = std::getenv("LMKIT_CUDA_TF32");
    const bool use_tf32 = tf32 == nullptr || std::strcmp(tf32, "0") != 0;
    l.set_math_mode(h, use_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
    l.get_version(h, &l.version);
    l.handle = h;  // never destroyed: it lives as long as the process
  });
  return l.handle;
}

int version() {
  Lib& l = loaded();
  return l.handle != nullptr ? l.version : 0;
}

cublasStatus_t sgemm_strided_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                     const float* alpha, const float* A, int lda, long long strideA, const float* B,
                                     int ldb, long long strideB, const float* beta, float* C, int ldc, long long strideC,
                                     int batch) {
  return loaded().sgemm_sb(h, ta, tb, m, n, k, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC, batch);
}

}  // namespace cublas
}  // namespace cuda
}  // namespace lmkit
