// lmkit CPU kernels: element-wise arithmetic (see elementwise.h).
#include "elementwise.h"

#include <algorithm>
#include <cmath>

namespace lmkit {
namespace cpu {
namespace {

// Work per thread chunk: memory-bound loops need large chunks to pay for the hand-off;
// loops with a transcendental per element pay off sooner.
constexpr int64_t kGrainCheap = 1 << 15;
constexpr int64_t kGrainMath = 1 << 13;

struct AddF {
  float operator()(float x, float y) const { return x + y; }
};
struct SubF {
  float operator()(float x, float y) const { return x - y; }
};
struct MulF {
  float operator()(float x, float y) const { return x * y; }
};
struct DivF {
  float operator()(float x, float y) const { return x / y; }
};

// One run of `len` outputs along the innermost (collapsed) dimension.
template <class Op>
inline void binary_run(Op op, float* out, const float* a, const float* b, int64_t len, int64_t sa, int64_t sb) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < len; ++i) out[i] = op(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float y = b[0];
    for (int64_t i = 0; i < len; ++i) out[i] = op(a[i], y);
  } else if (sa == 0 && sb == 1) {
    const float x = a[0];
    for (int64_t i = 0; i < len; ++i) out[i] = op(x, b[i]);
  } else {
    for (int64_t i = 0; i < len; ++i) out[i] = op(a[i * sa], b[i * sb]);
  }
}

template <class Op>
void binary_impl(Op op, float* out, const float* a, const float* b, int ndim, const int64_t* shape,
                 const int64_t* a_strides, const int64_t* b_strides) {
  // Collapse: drop size-1 dims, merge a dim into the previous one when both operands
  // step through them as one flat dimension.
  int64_t sh[kMaxDims + 1], sa[kMaxDims + 1], sb[kMaxDims + 1];
  int k = 0;
  int64_t total = 1;
  for (int d = 0; d < ndim; ++d) {
    total *= shape[d];
    if (shape[d] == 1) continue;
    if (k > 0 && sa[k - 1] == a_strides[d] * shape[d] && sb[k - 1] == b_strides[d] * shape[d]) {
      sh[k - 1] *= shape[d];
      sa[k - 1] = a_strides[d];
      sb[k - 1] = b_strides[d];
    } else {
      sh[k] = shape[d];
      sa[k] = a_strides[d];
      sb[k] = b_strides[d];
      ++k;
    }
  }
  if (total == 0) return;
  if (k == 0) {
    out[0] = op(a[0], b[0]);
    return;
  }
  const int64_t inner = sh[k - 1], ia = sa[k - 1], ib = sb[k - 1];
  const int outer_dims = k - 1;

  parallel_for(total, kGrainCheap, [&](int64_t begin, int64_t end) {
    // Odometer over the outer dims, started at row begin / inner.
    int64_t idx[kMaxDims] = {0};
    int64_t row = begin / inner;
    int64_t col = begin % inner;
    int64_t oa = 0, ob = 0;
    for (int d = outer_dims - 1; d >= 0; --d) {
      idx[d] = row % sh[d];
      row /= sh[d];
      oa += idx[d] * sa[d];
      ob += idx[d] * sb[d];
    }
    int64_t pos = begin;
    while (pos < end) {
      const int64_t len = std::min(inner - col, end - pos);
      binary_run(op, out + pos, a + oa + col * ia, b + ob + col * ib, len, ia, ib);
      pos += len;
      col = 0;
      for (int d = outer_dims - 1; d >= 0; --d) {
        oa += sa[d];
        ob += sb[d];
        if (++idx[d] < sh[d]) break;
        oa -= sa[d] * sh[d];
        ob -= sb[d] * sh[d];
        idx[d] = 0;
      }
    }
  });
}

}  // namespace

using detail::map1;
using detail::map2;

void binary_forward(BinaryOp op, float* out, const float* a, const float* b, int ndim, const int64_t* shape,
                    const int64_t* a_strides, const int64_t* b_strides) {
  switch (op) {
    case BinaryOp::Add:
      binary_impl(AddF{}, out, a, b, ndim, shape, a_strides, b_strides);
      break;
    case BinaryOp::Sub:
      binary_impl(SubF{}, out, a, b, ndim, shape, a_strides, b_strides);
      break;
    case BinaryOp::Mul:
      binary_impl(MulF{}, out, a, b, ndim, shape, a_strides, b_strides);
      break;
    case BinaryOp::Div:
      binary_impl(DivF{}, out, a, b, ndim, shape, a_strides, b_strides);
      break;
  }
}

void affine_forward(float* out, const float* inp, int64_t n, float alpha, float beta) {
  map1(out, inp, n, kGrainCheap, [alpha, beta](float x) { return alpha * x + beta; });
}

void axpy(float* y, const float* x, int64_t n, float alpha) {
  map2(y, y, x, n, kGrainCheap, [alpha](float yv, float xv) { return yv + alpha * xv; });
}

void exp_forward(float* out, const float* inp, int64_t n) {
  map1(out, inp, n, kGrainMath, [](float x) { return exp_f32(x); });
}
void exp_backward(float* dinp, const float* dout, const float* out, int64_t n) {
  map2(dinp, dout, out, n, kGrainCheap, [](float g, float y) { return g * y; });
}

void log_forward(float* out, const float* inp, int64_t n) {
  map1(out, inp, n, kGrainMath, [](float x) { return std::log(x); });
}
void log_backward(float* dinp, const float* dout, const float* inp, int64_t n) {
  map2(dinp, dout, inp, n, kGrainCheap, [](float g, float x) { return g / x; });
}

void sqrt_forward(float* out, const float* inp, int64_t n) {
  map1(out, inp, n, kGrainCheap, [](float x) { return std::sqrt(x); });
}
void sqrt_backward(float* dinp, const float* dout, const float* out, int64_t n) {
  map2(dinp, dout, out, n, kGrainCheap, [](float g, float y) { return 0.5f * g / y; });
}

void pow_scalar_forward(float* out, const float* inp, int64_t n, float p) {
  if (p == 2.0f) {
    map1(out, inp, n, kGrainCheap, [](float x) { return x * x; });
  } else if (p == 1.0f) {
    map1(out, inp, n, kGrainCheap, [](float x) { return x; });
  } else if (p == 0.0f) {
    map1(out, inp, n, kGrainCheap, [](float) { return 1.0f; });
  } else if (p == 3.0f) {
    map1(out, inp, n, kGrainCheap, [](float x) { return x * x * x; });
  } else if (p == -1.0f) {
    map1(out, inp, n, kGrainCheap, [](float x) { return 1.0f / x; });
  } else if (p == 0.5f) {
    map1(out, inp, n, kGrainCheap, [](float x) { return std::sqrt(x); });
  } else {
    map1(out, inp, n, kGrainMath, [p](float x) { return std::pow(x, p); });
  }
}

void pow_scalar_backward(float* dinp, const float* dout, const float* inp, int64_t n, float p) {
  if (p == 2.0f) {
    map2(dinp, dout, inp, n, kGrainCheap, [](float g, float x) { return 2.0f * x * g; });
  } else if (p == 1.0f) {
    map2(dinp, dout, inp, n, kGrainCheap, [](float g, float) { return g; });
  } else if (p == 0.0f) {
    map2(dinp, dout, inp, n, kGrainCheap, [](float, float) { return 0.0f; });
  } else if (p == 3.0f) {
    map2(dinp, dout, inp, n, kGrainCheap, [](float g, float x) { return 3.0f * x * x * g; });
  } else if (p == -1.0f) {
    map2(dinp, dout, inp, n, kGrainCheap, [](float g, float x) { return -g / (x * x); });
  } else {
    map2(dinp, dout, inp, n, kGrainMath, [p](float g, float x) { return p * std::pow(x, p - 1.0f) * g; });
  }
}

}  // namespace cpu
}  // namespace lmkit
