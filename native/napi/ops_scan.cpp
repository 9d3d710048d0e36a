// Bindings of the scan family (native/cpu/scan.h).
#include <initializer_list>

#include "../cpu/scan.h"
#ifdef LMKIT_WITH_CUDA
#include "../cuda/scan.h"
#endif
#include "args.h"
#include "registry.h"

namespace lmkit {
namespace napi {
namespace {

// scan_forward(y, hs | null, x, delta, A, Bm, Cm, Dskip, B, T, D, N)
Napi::Value ScanForward(const Napi::CallbackInfo& info) {
  Args a(info, "scan_forward", 12);
  LMKIT_CUDA_ALLOW(a);
  const int64_t B = a.dim(8, "B"), T = a.dim(9, "T"), D = a.dim(10, "D"), N = a.dim(11, "N");
  const int64_t BTD = a.mul(B, T, D), BTN = a.mul(B, T, N), DN = a.mul(D, N), BTDN = a.mul(BTD, N);
  float* y = a.f32(0, "y", BTD);
  float* hs = a.f32_opt(1, "hs", BTDN);
  const float* x = a.f32(2, "x", BTD);
  const float* delta = a.f32(3, "delta", BTD);
  const float* A = a.f32(4, "A", DN);
  const float* Bm = a.f32(5, "Bm", BTN);
  const float* Cm = a.f32(6, "Cm", BTN);
  const float* Dskip = a.f32(7, "Dskip", D);
  if (BTD > 0) a.check_no_alias({y, hs}, {y, hs, x, delta, A, Bm, Cm, Dskip});
#ifdef LMKIT_WITH_CUDA
  if (a.on_cuda() && N > cuda::kScanMaxN) {
    a.range_error("N = " + std::to_string(N) + " is above the CUDA kernel's limit of " + std::to_string(cuda::kScanMaxN));
  }
#endif
  LMKIT_CUDA_CALL(a, cuda::scan_forward(y, hs, x, delta, A, Bm, Cm, Dskip, B, T, D, N));
  cpu::scan_forward(y, hs, x, delta, A, Bm, Cm, Dskip, B, T, D, N);
  return info.Env().Undefined();
}

// scan_backward(dx, ddelta, dA, dBm, dCm, dDskip, dy, x, delta, A, Bm, Cm, Dskip, hs, B, T, D, N)
Napi::Value ScanBackward(const Napi::CallbackInfo& info) {
  Args a(info, "scan_backward", 18);
  LMKIT_CUDA_ALLOW(a);
  const int64_t B = a.dim(14, "B"), T = a.dim(15, "T"), D = a.dim(16, "D"), N = a.dim(17, "N");
  const int64_t BTD = a.mul(B, T, D), BTN = a.mul(B, T, N), DN = a.mul(D, N), BTDN = a.mul(BTD, N);
  float* dx = a.f32(0, "dx", BTD);
  float* ddelta = a.f32(1, "ddelta", BTD);
  float* dA = a.f32(2, "dA", DN);
  float* dBm = a.f32(3, "dBm", BTN);
  float* dCm = a.f32(4, "dCm", BTN);
  float* dDskip = a.f32(5, "dDskip", D);
  const float* dy = a.f32(6, "dy", BTD);
  const float* x = a.f32(7, "x", BTD);
  const float* delta = a.f32(8, "delta", BTD);
  const float* A = a.f32(9, "A", DN);
  const float* Bm = a.f32(10, "Bm", BTN);
  const float* Cm = a.f32(11, "Cm", BTN);
  const float* Dskip = a.f32(12, "Dskip", D);
  const float* hs = a.f32(13, "hs", BTDN);
  if (BTD > 0 || BTN > 0 || DN > 0) {
    a.check_no_alias({dx, ddelta, dA, dBm, dCm, dDskip},
                   {dx, ddelta, dA, dBm, dCm, dDskip, dy, x, delta, A, Bm, Cm, Dskip, hs});
  }
#ifdef LMKIT_WITH_CUDA
  if (a.on_cuda() && N > cuda::kScanMaxN) {
    a.range_error("N = " + std::to_string(N) + " is above the CUDA kernel's limit of " + std::to_string(cuda::kScanMaxN));
  }
#endif
  LMKIT_CUDA_CALL(a, cuda::scan_backward(dx, ddelta, dA, dBm, dCm, dDskip, dy, x, delta, A, Bm, Cm, Dskip, hs, B, T, D, N));
  cpu::scan_backward(dx, ddelta, dA, dBm, dCm, dDskip, dy, x, delta, A, Bm, Cm, Dskip, hs, B, T, D, N);
  return info.Env().Undefined();
}

}  // namespace

LMKIT_REGISTER_OPS(scan, [](Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "scan_forward", ScanForward);
  export_fn(env, exports, "scan_backward", ScanBackward);
});

}  // namespace napi
}  // namespace lmkit
