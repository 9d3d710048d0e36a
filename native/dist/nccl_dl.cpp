// See nccl_dl.h.
#include "nccl_dl.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <vector>

namespace lmkit {
namespace dist {
namespace nccl {

namespace {
struct Lib {
  std::once_flag once;
  Api api;
  bool ok = false;
  std::string path, error;
  int version = 0;
};
Lib& lib() {
  static Lib* l = new Lib();
  return *l;
}

template <typename F>
bool sym(void* so, const char* name, F& out) {
  out = reinterpret_cast<F>(dlsym(so, name));
  return out != nullptr;
}

void* openFirst(const std::vector<std::string>& names, std::string& found, std::string& err) {
  for (const std::string& n : names) {
    void* so = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (so != nullptr) {
      found = n;
      return so;
    }
    // Every attempt's reason, in order (each names its file).
    const char* e = dlerror();
    err += (err.empty() ? "" : "; ") + std::string(e != nullptr ? e : n + ": not loadable");
  }
  return nullptr;
}

void load(Lib& l) {
  std::vector<std::string> names;
  if (const char* f = std::getenv("LMKIT_NCCL"); f != nullptr && f[0] != '\0') names.push_back(f);
  names.push_back("libnccl.so.2");
  if (const char* d = std::getenv("LMKIT_NCCL_DIR"); d != nullptr && d[0] != '\0') names.push_back(std::string(d) + "/libnccl.so.2");
  std::string err;
  void* so = openFirst(names, l.path, err);
  if (so == nullptr) {
    l.error = err.empty() ? "libnccl.so.2 not found" : err;
    return;
  }
  Api& a = l.api;
  if (!(sym(so, "ncclGetVersion", a.getVersion) && sym(so, "ncclGetUniqueId", a.getUniqueId) &&
        sym(so, "ncclCommInitRank", a.commInitRank) && sym(so, "ncclAllReduce", a.allReduce) &&
        sym(so, "ncclBroadcast", a.broadcast) && sym(so, "ncclCommDestroy", a.commDestroy) &&
        sym(so, "ncclCommAbort", a.commAbort) && sym(so, "ncclGetErrorString", a.getErrorString) &&
        sym(so, "ncclGroupStart", a.groupStart) && sym(so, "ncclGroupEnd", a.groupEnd))) {
    l.error = l.path + " lacks an NCCL symbol";
    return;
  }
  std::string cudart_path, cudart_err;
  void* rt = openFirst({"libcudart.so.13", "libcudart.so.12", "libcudart.so"}, cudart_path, cudart_err);
  if (rt == nullptr || !(sym(rt, "cudaSetDevice", a.setDevice) && sym(rt, "cudaStreamSynchronize", a.streamSynchronize))) {
    l.error = "NCCL found (" + l.path + ") but not the CUDA runtime libcudart.so.12/13: " + cudart_err;
    return;
  }
  a.getVersion(&l.version);
  l.ok = true;
}

Lib& loaded() {
  Lib& l = lib();
  std::call_once(l.once, [&] { load(l); });
  return l;
}
}  // namespace

const Api* api() { return loaded().ok ? &loaded().api : nullptr; }
const std::string& path() { return loaded().path; }
const std::string& error() { return loaded().error; }
int version() { return loaded().version; }

}  // namespace nccl
}  // namespace dist
}  // namespace lmkit
