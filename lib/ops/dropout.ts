// Ops of the `dropout` family.
//   dropout(x, p, { seed, training }) zeroes each element with probability p and scales the
//   kept ones by 1 / (1 - p). The mask is a counter-based hash of (seed, element index):
//   the same seed gives the same mask on any machine and for any thread count. The caller
//   owns the randomness: the training loop passes a fresh seed per step (e.g. derived from
//   the run seed and the step number), so a run is reproducible from its seed.
import { record } from '../autograd.js';
import { native } from '../native/index.js';
import { Tensor } from '../tensor.js';

export interface DropoutOptions {
  /** Any safe integer; required when training with p > 0. */
  seed?: number;
  /** When false (evaluation), dropout is the identity. Default true. */
  training?: boolean;
}

/**
 * Inverted dropout. p in [0, 1). With `training: false` or p = 0 the result is a view of x
 * (no copy, gradients pass through unchanged).
 */
export function dropout(x: Tensor, p: number, opts: DropoutOptions = {}): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError('dropout: x must be a Tensor');
  if (x.disposed) throw new Error(`dropout: ${x.describe()} has been disposed`);
  if (x.dtype !== 'float32') throw new TypeError(`dropout: x must be float32, got ${x.describe()}`);
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  const training = opts.training ?? true;
  if (!training || p === 0) return x.reshape(x.shape);
  const seed = opts.seed;
  if (seed === undefined) {
    throw new TypeError('dropout: a seed is required in training mode (the training loop passes one per step)');
  }
  if (!Number.isSafeInteger(seed)) throw new RangeError(`dropout: seed must be a safe integer, got ${seed}`);
  const n = x.size;
  const out = Tensor.empty(x.shape, 'float32', x.device);
  const mask = Tensor.empty([Math.ceil(n / 32)], 'int32', x.device);
  native.dropout_forward(out.storage, mask.storage, x.storage, n, p, seed);
  record('dropout', [x], [out], ([g]) => {
    const dx = Tensor.empty(x.shape, 'float32', x.device);
    native.dropout_backward(dx.storage, g!.storage, mask.storage, n, p);
    return [dx];
  });
  return out;
}
