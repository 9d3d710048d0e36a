// Embedding lookup (token ids -> rows of a table).
//
//   embedding_forward : out (N,C) = table (V,C) [ids (N)]            OVERWRITE (activation)
//   embedding_backward: dtable (V,C) += scatter_add(dout (N,C), ids)  ACCUMULATE (parameter grad)
//
// ids are int32 in [0, V) (checked by the binding). Repeated ids add up. The backward is
// thread-safe without atomics: threads own disjoint blocks of whole dtable rows (picked by a hash
// of the row block, so any id pattern spreads evenly), and each dtable element receives its
// contributions in increasing n, so the result does not depend on the thread count.
#pragma once
#include <cstdint>

namespace lmkit {
namespace cpu {

void embedding_forward(float* out,            // (N,C)
                       const int32_t* ids,    // (N)
                       const float* table,    // (V,C)
                       int64_t N, int64_t V, int64_t C);

void embedding_backward(float* dtable,        // (V,C)  +=
                        const float* dout,    // (N,C)
                        const int32_t* ids,   // (N)
                        int64_t N, int64_t V, int64_t C);

}  // namespace cpu
}  // namespace lmkit
