// lmkit CUDA kernel family: dropout with the CPU's counter-based RNG (contract of
// native/cpu/dropout.h): keep(i) = hash(seed, i) >= p, the same splitmix64 mix as on CPU,
// so a seed gives the SAME mask on both devices. mask is bit-packed, (n + 31) / 32 words.
// Backward OVERWRITES dinp. out may alias inp, dinp may alias dout.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace lmkit {
namespace cuda {
cudaError_t dropout_forward(float* out,        // (n)
                            uint32_t* mask,    // ((n+31)/32) bit-packed keep mask
                            const float* inp,  // (n)
                            int64_t n, double p, uint64_t seed);
cudaError_t dropout_backward(float* dinp,           // (n) OVERWRITE
                             const float* dout,     // (n)
                             const uint32_t* mask,  // ((n+31)/32)
                             int64_t n, double p);
}  // namespace cuda
}  // namespace lmkit
