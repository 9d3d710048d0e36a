// Fused softmax cross-entropy.
//   crossEntropy(logits (N,V), targets (N) int32, { reduction?, ignoreIndex?, inplace? }) -> scalar []
// loss_n = logsumexp(logits_n) - logits_n[targets_n]; rows whose target is ignoreIndex (default
// -100) are skipped. 'mean' (default) divides by the number of non-ignored rows ('sum' does not);
// with every row ignored the loss and its gradient are 0.
//
// When logits need a gradient, one native pass computes the loss AND the gradient
// (softmax - onehot) * scale during the forward; the recorded backward only multiplies it by
// the upstream gradient. Without grad (noGrad, or logits not requiring it) a forward-only kernel
// runs and the logits are untouched.
//
// inplace: true (only with grad) writes the gradient over the logits' own storage, so no second
// (N,V) buffer is allocated. The logits tensor is then CONSUMED: reading it afterwards (toArray,
// item, reshape, passing it to another op, or the backward of an op that saved it) throws
// "crossEntropy(inplace) consumed ...". Views sharing its storage made earlier (reshape/detach)
// are not guarded and see gradient values. Logits that are a leaf requiring grad (a parameter)
// are refused: its values would be lost. Without grad, inplace is ignored.
import { isGradEnabled, needsGrad, record } from '../autograd.js';
import { native } from '../native/index.js';
import { Tensor, deviceOf, formatShape, keep } from '../tensor.js';

export interface CrossEntropyOptions {
  reduction?: 'mean' | 'sum';
  /** Target value whose rows are skipped (loss 0, gradient 0). Default -100. */
  ignoreIndex?: number;
  /** Reuse the logits' storage for their gradient (see above). Default false. */
  inplace?: boolean;
}

function markConsumed(t: Tensor): void {
  t._consume(
    'crossEntropy(inplace) consumed it: its storage now holds the gradient; use inplace: false to read the logits afterwards',
  );
}

export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const reduction = opts.reduction ?? 'mean';
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const inplace = opts.inplace ?? false;
  if (reduction !== 'mean' && reduction !== 'sum') {
    throw new RangeError(`crossEntropy: reduction must be 'mean' or 'sum', got '${String(reduction)}'`);
  }
  if (!Number.isInteger(ignoreIndex) || ignoreIndex < -2147483648 || ignoreIndex > 2147483647) {
    throw new RangeError(`crossEntropy: ignoreIndex must be an int32, got ${String(ignoreIndex)}`);
  }
  if (logits.dtype !== 'float32') throw new TypeError(`crossEntropy: logits must be float32, got ${logits.describe()}`);
  if (targets.dtype !== 'int32') throw new TypeError(`crossEntropy: targets must be int32, got ${targets.describe()}`);
  if (logits.rank !== 2) {
    throw new RangeError(`crossEntropy: logits must be 2-D (N,V), got ${formatShape(logits.shape)}`);
  }
  const [N, V] = logits.shape as [number, number];
  if (V === 0) throw new RangeError(`crossEntropy: logits ${formatShape(logits.shape)} have no classes`);
  if (targets.rank !== 1 || targets.shape[0] !== N) {
    throw new RangeError(
      `crossEntropy: targets must be [${N}] for logits ${formatShape(logits.shape)}, got ${formatShape(targets.shape)}`,
    );
  }
  const mean = reduction === 'mean';
  const losses = Tensor.empty([N], 'float32', deviceOf('crossEntropy', logits, targets));
  try {
    const withGrad = isGradEnabled() && needsGrad(logits);
    if (!withGrad) {
      const loss = native.crossentropy_forward(losses.storage, logits.storage, targets.storage, N, V, ignoreIndex, mean);
      return Tensor.full([], loss, 'float32', logits.device);
    }
    if (inplace && logits._node === null) {
      throw new Error(
        `crossEntropy: inplace would overwrite ${logits.describe()}, a leaf that requires grad (a parameter); use inplace: false`,
      );
    }
    // The gradient's tensor: a fresh buffer, or (inplace) a view of the logits' own storage.
    const dlogits = inplace ? logits.detach() : Tensor.empty([N, V], 'float32', logits.device);
    let loss: number;
    try {
      loss = native.crossentropy_forward_backward(
        losses.storage,
        dlogits.storage,
        logits.storage,
        targets.storage,
        N,
        V,
        ignoreIndex,
        mean,
        1,
      );
    } catch (err) {
      dlogits.dispose();
      throw err;
    }
    if (inplace) markConsumed(logits);
    const out = Tensor.full([], loss, 'float32', logits.device);
    keep(dlogits); // freed by the backward (or the GC if it never runs)
    record('crossEntropy', [logits], [out], ([g]) => {
      const up = g!.item();
      if (up !== 1) native.crossentropy_backward(dlogits.storage, N * V, up);
      return [dlogits];
    });
    return out;
  } finally {
    losses.dispose();
  }
}
