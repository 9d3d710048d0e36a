// Bindings of the lstm family (native/cpu/lstm.h).
#include <initializer_list>

#include "../cpu/lstm.h"
#ifdef LMKIT_WITH_CUDA
#include "../cuda/lstm.h"
#endif
#include "args.h"
#include "registry.h"

namespace lmkit {
namespace napi {
namespace {

// lstm_cell_forward(h, c, gates, gatesPre, cPrev, B, H)
Napi::Value LstmCellForward(const Napi::CallbackInfo& info) {
  Args a(info, "lstm_cell_forward", 7);
  LMKIT_CUDA_ALLOW(a);
  const int64_t B = a.dim(5, "B"), H = a.dim(6, "H");
  const int64_t BH = a.mul(B, H), B4H = a.mul(BH, 4);
  float* h = a.f32(0, "h", BH);
  float* c = a.f32(1, "c", BH);
  float* gates = a.f32(2, "gates", B4H);
  const float* gates_pre = a.f32(3, "gatesPre", B4H);
  const float* c_prev = a.f32(4, "cPrev", BH);
  if (BH > 0) a.check_no_alias({h, c, gates}, {h, c, gates, gates_pre, c_prev});
  LMKIT_CUDA_CALL(a, cuda::lstm_cell_forward(h, c, gates, gates_pre, c_prev, B, H));
  cpu::lstm_cell_forward(h, c, gates, gates_pre, c_prev, B, H);
  return info.Env().Undefined();
}

// lstm_cell_backward(dgatesPre, dcPrev | null, dh, dcNext | null, gates, c, cPrev, B, H)
Napi::Value LstmCellBackward(const Napi::CallbackInfo& info) {
  Args a(info, "lstm_cell_backward", 9);
  LMKIT_CUDA_ALLOW(a);
  const int64_t B = a.dim(7, "B"), H = a.dim(8, "H");
  const int64_t BH = a.mul(B, H), B4H = a.mul(BH, 4);
  float* dgates_pre = a.f32(0, "dgatesPre", B4H);
  float* dc_prev = a.f32_opt(1, "dcPrev", BH);
  const float* dh = a.f32(2, "dh", BH);
  const float* dc_next = a.f32_opt(3, "dcNext", BH);
  const float* gates = a.f32(4, "gates", B4H);
  const float* c = a.f32(5, "c", BH);
  const float* c_prev = a.f32(6, "cPrev", BH);
  if (BH > 0) a.check_no_alias({dgates_pre, dc_prev}, {dgates_pre, dc_prev, dh, dc_next, gates, c, c_prev});
  LMKIT_CUDA_CALL(a, cuda::lstm_cell_backward(dgates_pre, dc_prev, dh, dc_next, gates, c, c_prev, B, H));
  cpu::lstm_cell_backward(dgates_pre, dc_prev, dh, dc_next, gates, c, c_prev, B, H);
  return info.Env().Undefined();
}

}  // namespace

LMKIT_REGISTER_OPS(lstm, [](Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "lstm_cell_forward", LstmCellForward);
  export_fn(env, exports, "lstm_cell_backward", LstmCellBackward);
});

}  // namespace napi
}  // namespace lmkit
