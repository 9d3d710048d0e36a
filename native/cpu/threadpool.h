// lmkit CPU thread pool.
//
// One process-wide pool of persistent workers. The calling thread takes part in
// every parallel_for, so `num_threads() == 1` means "run inline, no workers".
// Size: LMKIT_NUM_THREADS if set (>= 1), else std::thread::hardware_concurrency().
// set_num_threads() changes it at run time (benchmarks use 1 and 2).
//
// parallel_for(n, fn) calls fn(begin, end) on disjoint ranges that cover [0, n).
// A parallel_for issued from inside a worker (nested) runs inline on that thread.
// fn must not throw (kernels never throw; the N-API layer validates before calling).
#pragma once
#include <cstdint>
#include <functional>

namespace lmkit {

int num_threads();
void set_num_threads(int n);  // n < 1 resets to the default

// Splits [0, n) into at most num_threads() contiguous chunks of at least `grain`
// items each (grain >= 1) and runs them concurrently.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// Runs fn(tid, nthreads) once on each of `nthreads` threads (nthreads <= num_threads();
// pass 0 for num_threads()). For kernels that partition work themselves (GEMM).
void parallel_run(int nthreads, const std::function<void(int, int)>& fn);

}  // namespace lmkit
