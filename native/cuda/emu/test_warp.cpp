// lmkit emulated CUDA backend: checks that the warp emulation of cuda_on_hip.h computes what an
// NVIDIA GPU computes (32-lane warps; HIP-CPU's own are 64 wide), and that LMKIT_LAUNCH refuses
// launch configurations the CUDA runtime refuses. Built and run by scripts/test-cuda-emu.sh;
// prints one line per check and `warp emulation: N passed, M failed`.
#include <cuda_runtime.h>

#include <cstdio>
#include <vector>

#include "../common.cuh"

namespace {
int g_pass = 0, g_fail = 0;
void check(bool ok, const char* what) {
  std::printf("%s  %s\n", ok ? "ok  " : "FAIL", what);
  (ok ? g_pass : g_fail)++;
}

__global__ void shfl_xor_k(int* out, int o, int width) {
  const int t = threadIdx.x;
  out[t] = __shfl_xor_sync(0xffffffffu, t, o, width);
}
__global__ void shfl_k(int* out, int src, int width) {
  const int t = threadIdx.x;
  out[t] = __shfl_sync(0xffffffffu, t * 10, src, width);
}
__global__ void ballot_k(unsigned* out, unsigned mask) {
  const int t = threadIdx.x;
  out[t] = __ballot_sync(mask, t % 3 == 0 || t % 7 == 0);
}
__global__ void warp_sum_k(float* out) {
  out[threadIdx.x] = lmkit::cuda::warp_sum(float(threadIdx.x));
}
__global__ void block_sum_k(float* out) {
  __shared__ float scratch[32];
  out[threadIdx.x] = lmkit::cuda::block_sum(float(threadIdx.x % 5), scratch);
}
__global__ void touch_k(int* out) { out[threadIdx.x] = 1; }

template <class T>
std::vector<T> run(int threads, void (*launch)(T*, int)) {
  T* d = nullptr;
  cudaMallocAsync(reinterpret_cast<void**>(&d), sizeof(T) * threads, nullptr);
  launch(d, threads);
  std::vector<T> h(threads);
  cudaMemcpyAsync(h.data(), d, sizeof(T) * threads, cudaMemcpyDeviceToHost, nullptr);
  cudaStreamSynchronize(nullptr);
  cudaFreeAsync(d, nullptr);
  return h;
}

int g_o = 0, g_src = 0;
unsigned g_mask = 0xffffffffu;
}  // namespace

int main() {
  // __shfl_xor_sync at blockDim 256 (8 warps): lane ^ o within each warp, for o = 1..16.
  for (int o = 1; o <= 16; o <<= 1) {
    g_o = o;
    auto h = run<int>(256, [](int* d, int n) { LMKIT_LAUNCH(shfl_xor_k, 1, n, 0, nullptr)(d, g_o, 32); });
    bool ok = true;
    for (int t = 0; t < 256; ++t) ok = ok && h[t] == ((t & ~31) | ((t & 31) ^ o));
    char what[96];
    std::snprintf(what, sizeof what, "__shfl_xor_sync(lane ^ %d), 8 warps of 32 (HIP-CPU's warp is 64)", o);
    check(ok, what);
  }
  // width 16: a source in a later 16-lane segment returns the caller's own value.
  {
    g_o = 16;
    auto h = run<int>(64, [](int* d, int n) { LMKIT_LAUNCH(shfl_xor_k, 1, n, 0, nullptr)(d, g_o, 16); });
    bool ok = true;
    for (int t = 0; t < 64; ++t) {
      const int lane = t & 31, src = lane ^ 16;
      const int want = (src & ~15) > (lane & ~15) ? t : (t & ~31) + src;
      ok = ok && h[t] == want;
    }
    check(ok, "__shfl_xor_sync(lane ^ 16, width 16): later segment gives the own value");
  }
  // __shfl_sync broadcast from lane 5 of each 8-lane segment.
  {
    g_src = 5;
    auto h = run<int>(96, [](int* d, int n) { LMKIT_LAUNCH(shfl_k, 1, n, 0, nullptr)(d, g_src, 8); });
    bool ok = true;
    for (int t = 0; t < 96; ++t) ok = ok && h[t] == ((t & ~7) + 5) * 10;
    check(ok, "__shfl_sync(src 5, width 8): each 8-lane segment reads its own lane 5");
  }
  // __ballot_sync: one 32-bit word per warp, only the lanes in the mask; a 48-thread block has a
  // 16-lane tail warp whose upper bits are 0.
  for (unsigned mask : {0xffffffffu, 0x0f0f00ffu}) {
    g_mask = mask;
    auto h = run<unsigned>(48, [](unsigned* d, int n) { LMKIT_LAUNCH(ballot_k, 1, n, 0, nullptr)(d, g_mask); });
    bool ok = true;
    for (int t = 0; t < 48; ++t) {
      unsigned want = 0;
      for (int i = 0; i < 32; ++i) {
        const int u = (t & ~31) + i;
        if (u < 48 && ((mask >> i) & 1u) && (u % 3 == 0 || u % 7 == 0)) want |= 1u << i;
      }
      ok = ok && h[t] == want;
    }
    check(ok, mask == 0xffffffffu ? "__ballot_sync, full mask, 32 + 16-lane tail warp" : "__ballot_sync, partial mask");
  }
  // lmkit's warp_sum (common.cuh): each warp sums its own 32 lanes.
  {
    auto h = run<float>(256, [](float* d, int n) { LMKIT_LAUNCH(warp_sum_k, 1, n, 0, nullptr)(d); });
    bool ok = true;
    for (int t = 0; t < 256; ++t) {
      const int w = t >> 5;
      ok = ok && h[t] == float(32 * 32 * w + 496);  // sum of 32w .. 32w+31
    }
    check(ok, "warp_sum: 8 independent 32-lane sums");
  }
  // block_sum over 1024 threads (32 warps).
  {
    auto h = run<float>(1024, [](float* d, int n) { LMKIT_LAUNCH(block_sum_k, 1, n, 0, nullptr)(d); });
    float want = 0;
    for (int t = 0; t < 1024; ++t) want += float(t % 5);
    bool ok = true;
    for (int t = 0; t < 1024; ++t) ok = ok && h[t] == want;
    check(ok, "block_sum over 1024 threads: every thread gets the total");
  }
  // Launch configurations the CUDA runtime refuses: nothing runs, cudaGetLastError says why once.
  {
    int* d = nullptr;
    cudaMallocAsync(reinterpret_cast<void**>(&d), sizeof(int) * 2048, nullptr);
    cudaMemsetAsync(d, 0, sizeof(int) * 2048, nullptr);
    cudaGetLastError();
    LMKIT_LAUNCH(touch_k, 1, 2048, 0, nullptr)(d);
    const cudaError_t e1 = cudaGetLastError(), e2 = cudaGetLastError();
    LMKIT_LAUNCH(touch_k, dim3(1, 70000), 32, 0, nullptr)(d);
    const cudaError_t e3 = cudaGetLastError();
    LMKIT_LAUNCH(touch_k, 0u, 32, 0, nullptr)(d);
    const cudaError_t e4 = cudaGetLastError();
    int h = -1;
    cudaMemcpyAsync(&h, d, sizeof(int), cudaMemcpyDeviceToHost, nullptr);
    cudaStreamSynchronize(nullptr);
    cudaFreeAsync(d, nullptr);
    check(e1 == cudaErrorInvalidConfiguration && e2 == cudaSuccess, "block of 2048 threads: cudaErrorInvalidConfiguration, then cleared");
    check(e3 == cudaErrorInvalidConfiguration && e4 == cudaErrorInvalidConfiguration && h == 0,
          "grid.y of 70000 and an empty grid are refused, and no refused kernel ran");
  }
  std::printf("warp emulation: %d passed, %d failed\n", g_pass, g_fail);
  return g_fail == 0 ? 0 : 1;
}
