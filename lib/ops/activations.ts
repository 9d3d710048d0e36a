// Point-wise activations, all differentiable:
//   tanh(x), sigmoid(x), relu(x), gelu(x) (tanh approximation, as GPT-2), silu(x) = x * sigmoid(x)
// Vectorised native kernels (accurate to a few float ulps). The backward of tanh and sigmoid
// is computed from the output, the others from the input.
import { native } from '../native/index.js';
import type { Tensor } from '../tensor.js';
import { unary } from './pointwise.js';

/** Hyperbolic tangent. */
export function tanh(x: Tensor): Tensor {
  return unary('tanh', x, native.tanh_forward, native.tanh_backward, true);
}

/** Logistic sigmoid 1 / (1 + e^-x). */
export function sigmoid(x: Tensor): Tensor {
  return unary('sigmoid', x, native.sigmoid_forward, native.sigmoid_backward, true);
}

/** max(x, 0) (NaN stays NaN; the gradient at 0 is 0). */
export function relu(x: Tensor): Tensor {
  return unary('relu', x, native.relu_forward, native.relu_backward, false);
}

/** GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function gelu(x: Tensor): Tensor {
  return unary('gelu', x, native.gelu_forward, native.gelu_backward, false);
}

/** SiLU (swish): x * sigmoid(x). */
export function silu(x: Tensor): Tensor {
  return unary('silu', x, native.silu_forward, native.silu_backward, false);
}
