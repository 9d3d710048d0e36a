// lmkit CPU kernels: softmax and log-softmax over the last dimension.
//
// Shapes: every tensor is (N, C) row-major; each of the N rows is normalised over its C
// entries. Both forwards are numerically stable (the row max is subtracted before exp).
//
//   softmax_forward       out  = exp(x - max) / sum(exp(x - max))
//   softmax_backward      dinp = y * (dout - sum(dout * y))          (OVERWRITE, activation grad)
//   log_softmax_forward   out  = x - max - log(sum(exp(x - max)))
//   log_softmax_backward  dinp = dout - exp(y) * sum(dout)           (OVERWRITE, activation grad)
//
// The backwards take the forward's OUTPUT y (not its input). No gradient here accumulates.
// out may alias inp, and dinp may alias dout (each row is read fully before it is written).
// A row whose entries are all -inf (or holds a NaN) gives NaN, as in PyTorch.
// Rows run in parallel (lmkit::parallel_for); an AVX2/FMA path with a vectorised exp is
// picked at run time, the portable path uses std::exp.
#pragma once
#include <cstdint>

namespace lmkit {
namespace cpu {

void softmax_forward(float* out,        // (N,C)
                     const float* inp,  // (N,C)
                     int64_t N, int64_t C);

void softmax_backward(float* dinp,        // (N,C) OVERWRITE
                      const float* dout,  // (N,C)
                      const float* out,   // (N,C) the forward's output
                      int64_t N, int64_t C);

void log_softmax_forward(float* out,        // (N,C)
                         const float* inp,  // (N,C)
                         int64_t N, int64_t C);

void log_softmax_backward(float* dinp,        // (N,C) OVERWRITE
                          const float* dout,  // (N,C)
                          const float* out,   // (N,C) the forward's output (log-probabilities)
                          int64_t N, int64_t C);

}  // namespace cpu
}  // namespace lmkit
