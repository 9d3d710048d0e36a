// lmkit emulated CUDA backend: launch counters, the sticky launch error and CUDA's launch
// limits (see launch_emu.h). Compiled only into the emulated build.
#include "launch_emu.h"

#include <atomic>
#include <cstring>
#include <mutex>

namespace lmkit {
namespace emu {
namespace {
struct Counters {
  std::mutex mu;
  std::map<std::string, uint64_t> n;
};
Counters& counters() {
  static Counters* c = new Counters();  // leaked: launches may come from finalizers at exit
  return *c;
}
std::atomic<int> g_last_error{0};

const char* base_name(const char* path) {
  const char* s = std::strrchr(path, '/');
  return s != nullptr ? s + 1 : path;
}
}  // namespace

void count_launch(const char* file, const char* kernel) noexcept {
  try {
    Counters& c = counters();
    std::lock_guard<std::mutex> lock(c.mu);
    ++c.n[std::string(base_name(file)) + ":" + kernel];
  } catch (...) {
    // Counting is a report; a failed allocation must not stop the launch.
  }
}

std::map<std::string, uint64_t> launch_counts() {
  Counters& c = counters();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.n;
}

void reset_launch_counts() noexcept {
  Counters& c = counters();
  std::lock_guard<std::mutex> lock(c.mu);
  c.n.clear();
}

void set_last_error(hipError_t e) noexcept {
  int expected = 0;
  g_last_error.compare_exchange_strong(expected, static_cast<int>(e));  // the first error sticks until read
}
hipError_t take_last_error() noexcept { return static_cast<hipError_t>(g_last_error.exchange(0)); }
hipError_t peek_last_error() noexcept { return static_cast<hipError_t>(g_last_error.load()); }

bool valid_config(const dim3& g, const dim3& b, size_t shmem) noexcept {
  if (g.x == 0 || g.y == 0 || g.z == 0 || b.x == 0 || b.y == 0 || b.z == 0) return false;
  if (g.x > 2147483647u || g.y > 65535u || g.z > 65535u) return false;
  if (b.x > 1024u || b.y > 1024u || b.z > 64u) return false;
  if (uint64_t(b.x) * b.y * b.z > 1024u) return false;
  return shmem <= 48u * 1024u;
}

}  // namespace emu
}  // namespace lmkit
