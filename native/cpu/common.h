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
// - On aarch64 the fast paths are NEON (Advanced SIMD, part of every ARMv8-A core, so no
//   target attribute is needed), picked with lmkit::cpu_use_neon().
// - Every architecture builds the portable (scalar, auto-vectorised) path. x86 intrinsics
//   appear only behind LMKIT_X86, NEON intrinsics only behind LMKIT_ARM64.
// - LMKIT_CPU_GENERIC=1 (read once, at first use) turns every SIMD path off (AVX2 and NEON,
//   GEMM included), so the portable kernels can be tested on any machine.
//   LMKIT_GEMM_GENERIC=1 does the same for the SGEMM micro-kernel only.
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

#if defined(__aarch64__) || defined(_M_ARM64)
#define LMKIT_ARM64 1
#else
#define LMKIT_ARM64 0
#endif

#if LMKIT_X86
#include <xmmintrin.h>
#endif
#include <cstdlib>

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
#elif LMKIT_ARM64 && (defined(__GNUC__) || defined(__clang__))
  // AArch64: FPCR.FZ (bit 24) flushes denormal inputs and results of FP and Advanced SIMD
  // instructions to zero (the x86 FTZ + DAZ pair in one bit).
  FlushDenormals() : saved_(get_fpcr()) { set_fpcr(saved_ | kBits); }
  ~FlushDenormals() { set_fpcr(saved_); }
  static void set_for_this_thread() { set_fpcr(get_fpcr() | kBits); }

 private:
  static uint64_t get_fpcr() {
    uint64_t v;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(v));
    return v;
  }
  static void set_fpcr(uint64_t v) { __asm__ __volatile__("msr fpcr, %0" : : "r"(v)); }
  static constexpr uint64_t kBits = uint64_t{1} << 24;  // FZ
  uint64_t saved_;
#else
  FlushDenormals() {}
  static void set_for_this_thread() {}
#endif
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;
};

// LMKIT_CPU_GENERIC set (and not "0"): every SIMD fast path is off.
inline bool cpu_force_generic() {
  static const bool on = [] {
    const char* s = std::getenv("LMKIT_CPU_GENERIC");
    return s != nullptr && s[0] != '\0' && !(s[0] == '0' && s[1] == '\0');
  }();
  return on;
}

inline bool cpu_has_avx2_fma() {
#if LMKIT_X86
  static const bool ok = [] {
    if (cpu_force_generic()) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return ok;
#else
  return false;
#endif
}

// The NEON kernels run (aarch64, unless LMKIT_CPU_GENERIC is set).
inline bool cpu_use_neon() {
#if LMKIT_ARM64
  return !cpu_force_generic();
#else
  return false;
#endif
}

// Which SIMD family the element-wise fast paths use: "avx2-fma", "neon" or "generic".
inline const char* cpu_simd_name() {
  if (cpu_has_avx2_fma()) return "avx2-fma";
  if (cpu_use_neon()) return "neon";
  return "generic";
}

}  // namespace lmkit
