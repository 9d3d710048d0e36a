// Each native/napi/ops_<family>.cpp registers its exports with one line at file scope:
//   LMKIT_REGISTER_OPS(embedding, [](Napi::Env env, Napi::Object exports) { ... });
// addon.cpp calls every registered function when the module loads, so adding a family
// touches no shared file.
#pragma once
#include <napi.h>

namespace lmkit {
namespace napi {

using RegisterFn = void (*)(Napi::Env env, Napi::Object exports);

struct OpRegistrar {
  OpRegistrar(const char* family, RegisterFn fn);
};

void register_all(Napi::Env env, Napi::Object exports);

}  // namespace napi
}  // namespace lmkit

#define LMKIT_REGISTER_OPS(family, fn) \
  static ::lmkit::napi::OpRegistrar lmkit_registrar_##family(#family, fn)
