// lmkit CPU kernels: LayerNorm and RMSNorm over the last dimension.
//
// Shapes: inp/out/dout/dinp are (N, C) row-major; weight/bias/dweight/dbias are (C);
// mean/rstd are (N), saved by the forward for the backward.
//
//   layernorm:  mean = sum(x)/C, var = sum((x-mean)^2)/C (biased, two-pass), rstd = 1/sqrt(var+eps)
//               out = (x - mean) * rstd * weight + bias         (bias may be null: no bias)
//   rmsnorm:    rstd = 1/sqrt(sum(x^2)/C + eps),  out = x * rstd * weight
//
// Gradients:
//   dinp            OVERWRITE (=)  activation gradient
//   dweight, dbias  ACCUMULATE (+=) parameter gradients (dbias may be null)
//
// Threads: rows are split over threads. The parameter-gradient reductions over N use
// fixed row blocks whose size depends only on (N, C): each block's partial sums are
// written to a scratch buffer and the blocks are then added in order, so dweight/dbias
// are bitwise identical for any thread count.
// Forward: mean/rstd may be null (nothing saved, e.g. inference). out may alias inp, dinp may
// alias dout.
#pragma once
#include <cstdint>

namespace lmkit {
namespace cpu {

void layernorm_forward(float* out,           // (N,C)
                       float* mean,          // (N) saved, may be null
                       float* rstd,          // (N) saved, may be null
                       const float* inp,     // (N,C)
                       const float* weight,  // (C)
                       const float* bias,    // (C) may be null
                       int64_t N, int64_t C, float eps);

void layernorm_backward(float* dinp,          // (N,C) OVERWRITE
                        float* dweight,       // (C)   ACCUMULATE
                        float* dbias,         // (C)   ACCUMULATE, may be null
                        const float* dout,    // (N,C)
                        const float* inp,     // (N,C)
                        const float* weight,  // (C)
                        const float* mean,    // (N)
                        const float* rstd,    // (N)
                        int64_t N, int64_t C);

void rmsnorm_forward(float* out,           // (N,C)
                     float* rstd,          // (N) saved, may be null
                     const float* inp,     // (N,C)
                     const float* weight,  // (C)
                     int64_t N, int64_t C, float eps);

void rmsnorm_backward(float* dinp,          // (N,C) OVERWRITE
                      float* dweight,       // (C)   ACCUMULATE
                      const float* dout,    // (N,C)
                      const float* inp,     // (N,C)
                      const float* weight,  // (C)
                      const float* rstd,    // (N)
                      int64_t N, int64_t C);

}  // namespace cpu
}  // namespace lmkit
