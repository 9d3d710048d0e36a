// Point-wise activations, all differentiable:
//   tanh(x), sigmoid(x), relu(x), gelu(x) (tanh approximation, as GPT-2), silu(x) = x * sigmoid(x)
// Vectorised native kernels (accurate to a few float ulps). The backward of tanh and sigmoid
// is computed from the output, the others from the input.
import { record } from '../autograd.js';
import { native, type NativeStorage } from '../native/index.js';
import { Tensor } from '../tensor.js';

type Forward = (out: NativeStorage, inp: NativeStorage, n: number) => void;
type Backward = (dinp: NativeStorage, dout: NativeStorage, saved: NativeStorage, n: number) => void;

function activation(op: string, x: Tensor, fwd: Forward, bwd: Backward, savesOut: boolean): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: x must be a Tensor`);
  if (x.disposed) throw new Error(`${op}: x (${x.toString()}) has been disposed`);
  if (x.dtype !== 'float32') throw new TypeError(`${op}: x must be float32, got ${x.describe()}`);
  const out = Tensor.empty(x.shape);
  fwd(out.storage, x.storage, x.size);
  record(op, [x], [out], ([g]) => {
    const dx = Tensor.empty(x.shape);
    bwd(dx.storage, g!.storage, (savesOut ? out : x).storage, x.size);
    return [dx];
  });
  return out;
}

/** Hyperbolic tangent. */
export function tanh(x: Tensor): Tensor {
  return activation('tanh', x, native.tanh_forward, native.tanh_backward, true);
}

/** Logistic sigmoid 1 / (1 + e^-x). */
export function sigmoid(x: Tensor): Tensor {
  return activation('sigmoid', x, native.sigmoid_forward, native.sigmoid_backward, true);
}

/** max(x, 0) (NaN stays NaN; the gradient at 0 is 0). */
export function relu(x: Tensor): Tensor {
  return activation('relu', x, native.relu_forward, native.relu_backward, false);
}

/** GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function gelu(x: Tensor): Tensor {
  return activation('gelu', x, native.gelu_forward, native.gelu_backward, false);
}

/** SiLU (swish): x * sigmoid(x). */
export function silu(x: Tensor): Tensor {
  return activation('silu', x, native.silu_forward, native.silu_backward, false);
}
