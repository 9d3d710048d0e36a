// lmkit CPU kernels: dropout with a counter-based RNG.
//
// Shapes: inp/out/dout/dinp hold n elements (any shape, flattened); the mask is bit-packed,
// (dropout_mask_words(n)) uint32 words: bit k of word w says whether element 32*w + k is kept.
// Bits past n in the last word are 0.
//
//   keep(i)  = hash(seed, i) >= p (as a 32-bit fraction), so P(keep) = 1 - p (to 2^-32)
//   forward  out[i]  = keep(i) ? inp[i] / (1 - p) : 0;   mask records keep(i)
//   backward dinp[i] = mask(i) ? dout[i] / (1 - p) : 0  (OVERWRITE, activation gradient)
//
// keep(i) depends only on (seed, i) — a splitmix64-style mix of the element's counter
// keyed by the seed, never on the thread count or on how the work is split — so a seed
// reproduces the same mask everywhere. p must be in [0, 1) (checked by the binding);
// p = 0 keeps everything and out = inp exactly. out may alias inp, dinp may alias dout.
#pragma once
#include <cstdint>

namespace lmkit {
namespace cpu {

constexpr int64_t dropout_mask_words(int64_t n) { return (n + 31) / 32; }

void dropout_forward(float* out,          // (n)
                     uint32_t* mask,      // (dropout_mask_words(n)) bit-packed keep mask
                     const float* inp,    // (n)
                     int64_t n, double p, uint64_t seed);

void dropout_backward(float* dinp,            // (n) OVERWRITE
                      const float* dout,      // (n)
                      const uint32_t* mask,   // (dropout_mask_words(n))
                      int64_t n, double p);

// The keep decision the forward uses for element i (for tests and for ops that want to
// regenerate a mask instead of storing it).
bool dropout_keep(uint64_t seed, int64_t i, double p);

}  // namespace cpu
}  // namespace lmkit
