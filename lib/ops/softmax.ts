// Ops of the `softmax` family: softmax and log-softmax over the last axis.
//   softmax(x)    = exp(x - max) / sum(exp(x - max))
//   logSoftmax(x) = x - max - log(sum(exp(x - max)))
// Both are numerically stable and differentiable; the backward uses the saved output.
import { record } from '../autograd.js';
import { native, type NativeStorage } from '../native/index.js';
import { Tensor } from '../tensor.js';

type Kernel = (out: NativeStorage, inp: NativeStorage, N: number, C: number) => void;
type BackKernel = (dinp: NativeStorage, dout: NativeStorage, out: NativeStorage, N: number, C: number) => void;

function lastAxisOp(op: string, x: Tensor, forward: Kernel, backward: BackKernel): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor`);
  if (x.disposed) throw new Error(`${op}: ${x.describe()} has been disposed`);
  if (x.dtype !== 'float32') throw new TypeError(`${op}: expected a float32 tensor, got ${x.describe()}`);
  if (x.rank < 1) throw new RangeError(`${op}: expected at least 1 dimension, got a scalar ${x.describe()}`);
  const C = x.shape[x.rank - 1]!;
  const N = C === 0 ? 0 : x.size / C;
  const out = Tensor.empty(x.shape, 'float32', x.device);
  forward(out.storage, x.storage, N, C);
  record(op, [x], [out], ([g]) => {
    const dx = Tensor.empty(x.shape, 'float32', x.device);
    backward(dx.storage, g!.storage, out.storage, N, C);
    return [dx];
  });
  return out;
}

/** Softmax over the last axis (rows sum to 1). A row of all -inf gives NaN. */
export function softmax(x: Tensor): Tensor {
  return lastAxisOp(
    'softmax',
    x,
    (o, i, N, C) => native.softmax_forward(o, i, N, C),
    (d, g, y, N, C) => native.softmax_backward(d, g, y, N, C),
  );
}

/** Log-softmax over the last axis: log(softmax(x)), computed without overflow. */
export function logSoftmax(x: Tensor): Tensor {
  return lastAxisOp(
    'logSoftmax',
    x,
    (o, i, N, C) => native.log_softmax_forward(o, i, N, C),
    (d, g, y, N, C) => native.log_softmax_backward(d, g, y, N, C),
  );
}
