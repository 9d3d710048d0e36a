// lmkit CPU kernels: shared conventions.
//
// - Every kernel family lives in its own file pair native/cpu/<family>.{h,cpp} with
//   `<family>_forward` and `<family>_backward` side by side.
// - Arguments: outputs first, then inputs, then sizes. Each pointer is commented with
//   its shape, e.g. `// (B,T,C)`. All tensors are dense, row-major, float32 unless the
//   name says otherwise (token ids are int32).
// - Gradients: parameter gradients ACCUMULATE (+=) into what the caller passes;
//   activation gradients OVERWRITE (=). Each header says which argument is which.
// - Kernels never validate user input and never throw: the N-API layer checks shapes,
//   dtypes and index ranges before calling. Kernels may assume valid arguments.
// - Multi-threading goes through lmkit::parallel_for / parallel_run (threadpool.h).
// - Fast paths that need AVX2/FMA are compiled with LMKIT_TARGET_AVX2 and picked at
//   run time with lmkit::cpu_has_avx2_fma(), so one binary runs on any x86-64.
#pragma once
#include <cstddef>
#include <cstdint>

#include "threadpool.h"

#if defined(__x86_64__) || defined(_M_X64)
#define LMKIT_X86 1
#define LMKIT_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define LMKIT_X86 0
#define LMKIT_TARGET_AVX2
#endif

#if LMKIT_X86
#include <xmmintrin.h>
#endif

namespace lmkit {

// Denormal floats are flushed to zero while kernels run (FTZ + DAZ in MXCSR), as most ML
// runtimes do on CPU: gradients such as softmax(x) / N underflow into the denormal range,
// and x86 multiplies denormals up to ~100x slower. The N-API layer holds a FlushDenormals
// for the span of each call (the JS thread's own mode is restored afterwards); the pool's
// worker threads set the mode once for their lifetime.
class FlushDenormals {
 public:
#if LMKIT_X86
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kBits); }
  ~FlushDenormals() { _mm_setcsr(saved_); }
  static void set_for_this_thread() { _mm_setcsr(_mm_getcsr() | kBits); }

 private:
  static constexpr unsigned kBits = 0x8040;  // FTZ (bit 15) | DAZ (bit 6)
  unsigned saved_;
#else
  static void set_for_this_thread() {}
#endif
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;
};

inline bool cpu_has_avx2_fma() {
#if LMKIT_X86
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return ok;
#else
  return false;
#endif
}

}  // namespace lmkit
