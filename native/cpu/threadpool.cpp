// lmkit CPU thread pool: persistent workers, the caller takes part, short spin
// before sleeping so that back-to-back small kernels do not pay a wake-up each.
#include "threadpool.h"

#include "common.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#define LMKIT_PAUSE() _mm_pause()
#else
#define LMKIT_PAUSE() std::this_thread::yield()
#endif

namespace lmkit {
namespace {

thread_local bool t_in_pool = false;

int default_threads() {
  if (const char* s = std::getenv("LMKIT_NUM_THREADS")) {
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (end != s && v >= 1 && v <= 1024) return static_cast<int>(v);
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

class Pool {
 public:
  static Pool& get() {
    // Leaked on purpose: workers may still be parked when static destructors run.
    static Pool* p = new Pool(default_threads());
    return *p;
  }

  int size() const { return size_.load(std::memory_order_relaxed); }

  void resize(int n) {
    if (n < 1) n = default_threads();
    std::lock_guard<std::mutex> busy(busy_);
    if (n == size()) return;
    stop_workers();
    start_workers(n);
  }

  void run(int nt, const std::function<void(int, int)>& fn) {
    const int sz = size();
    if (nt <= 0 || nt > sz) nt = sz;
    if (nt <= 1) {
      fn(0, 1);
      return;
    }
    // Nested call, or another thread is using the pool: run every part here.
    if (t_in_pool || !busy_.try_lock()) {
      for (int i = 0; i < nt; ++i) fn(i, nt);
      return;
    }
    job_fn_ = &fn;
    pending_.store(nt - 1, std::memory_order_relaxed);
    // The job's size travels in the same atomic word as its generation, so a worker that
    // sits this job out can never pair this generation with the next job's size.
    publish(static_cast<uint64_t>(nt));
    t_in_pool = true;
    fn(0, nt);
    t_in_pool = false;
    // Spin briefly, then yield: if another process holds a core, the worker we wait for
    // needs this core to finish its part.
    for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
      if (spins < 256) {
        LMKIT_PAUSE();
      } else {
        std::this_thread::yield();
      }
    }
    busy_.unlock();
  }

 private:
  explicit Pool(int n) { start_workers(n); }

  // state_ = (generation << 16) | job size; a new value wakes the workers.
  void publish(uint64_t nt) {
    const uint64_t next = ((state_.load(std::memory_order_relaxed) >> 16) + 1) << 16 | nt;
    state_.store(next, std::memory_order_release);
    {
      std::lock_guard<std::mutex> lk(m_);
    }
    cv_.notify_all();
  }

  void start_workers(int n) {
    stop_.store(false);
    size_.store(n);
    const uint64_t g0 = state_.load(std::memory_order_acquire);
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, i, g0] { worker(i, g0); });
  }

  void stop_workers() {
    stop_.store(true);
    publish(0);
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  void worker(int idx, uint64_t seen) {
    t_in_pool = true;
    FlushDenormals::set_for_this_thread();
    for (;;) {
      uint64_t g;
      int spins = 0;
      while ((g = state_.load(std::memory_order_acquire)) == seen) {
        if (++spins < kSpin) {
          // Give the core away now and then: the thread that posts the next job may be waiting
          // for this very core (the scheduler can wake both on one core, e.g. after a sleep, or
          // another process holds the other cores), and pure spinning would keep it off until
          // the spin ends: ~0.4 ms per job, far more than a small kernel takes.
          if ((spins & 63) == 0) {
            std::this_thread::yield();
          } else {
            LMKIT_PAUSE();
          }
        } else {
          std::unique_lock<std::mutex> lk(m_);
          cv_.wait(lk, [&] { return state_.load(std::memory_order_acquire) != seen; });
        }
      }
      seen = g;
      if (stop_.load()) return;
      const int nt = static_cast<int>(g & 0xffff);
      if (idx < nt) {
        (*job_fn_)(idx, nt);
        pending_.fetch_sub(1, std::memory_order_release);
      }
    }
  }

  static constexpr int kSpin = 1 << 14;
  std::atomic<int> size_{1};
  std::vector<std::thread> workers_;
  std::mutex busy_;  // held by the thread that owns the current job
  std::mutex m_;
  std::condition_variable cv_;
  std::atomic<uint64_t> state_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(int, int)>* job_fn_ = nullptr;
};

}  // namespace

int num_threads() { return Pool::get().size(); }

void set_num_threads(int n) { Pool::get().resize(n); }

void parallel_run(int nthreads, const std::function<void(int, int)>& fn) { Pool::get().run(nthreads, fn); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int64_t chunks = (n + grain - 1) / grain;
  const int nt = num_threads();
  if (chunks > nt) chunks = nt;
  if (chunks <= 1 || t_in_pool) {
    fn(0, n);
    return;
  }
  Pool::get().run(static_cast<int>(chunks), [&](int tid, int parts) {
    int64_t b = n * tid / parts, e = n * (tid + 1) / parts;
    if (b < e) fn(b, e);
  });
}

}  // namespace lmkit
