// Bindings of the `activations` family (native/cpu/activations.h).
#include "../cpu/activations.h"
#ifdef LMKIT_WITH_CUDA
#include "../cuda/activations.h"
#endif
#include "args.h"
#include "pointwise.h"
#include "registry.h"

namespace lmkit {
namespace napi {
namespace {

#define LMKIT_ACT(name, saved)                                                            \
  Napi::Value name##Forward(const Napi::CallbackInfo& info) {                             \
    return UnaryForward<cpu::name##_forward LMKIT_DEV(name##_forward)>(info, #name "_forward");                     \
  }                                                                                       \
  Napi::Value name##Backward(const Napi::CallbackInfo& info) {                            \
    return UnaryBackward<cpu::name##_backward LMKIT_DEV(name##_backward)>(info, #name "_backward", saved);           \
  }

LMKIT_ACT(tanh, "out")
LMKIT_ACT(sigmoid, "out")
LMKIT_ACT(relu, "inp")
LMKIT_ACT(gelu, "inp")
LMKIT_ACT(silu, "inp")
#undef LMKIT_ACT

}  // namespace

LMKIT_REGISTER_OPS(activations, [](Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "tanh_forward", tanhForward);
  export_fn(env, exports, "tanh_backward", tanhBackward);
  export_fn(env, exports, "sigmoid_forward", sigmoidForward);
  export_fn(env, exports, "sigmoid_backward", sigmoidBackward);
  export_fn(env, exports, "relu_forward", reluForward);
  export_fn(env, exports, "relu_backward", reluBackward);
  export_fn(env, exports, "gelu_forward", geluForward);
  export_fn(env, exports, "gelu_backward", geluBackward);
  export_fn(env, exports, "silu_forward", siluForward);
  export_fn(env, exports, "silu_backward", siluBackward);
});

}  // namespace napi
}  // namespace lmkit
