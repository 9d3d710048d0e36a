// Ops of the `norm` family: normalisation over the last axis, differentiable in x, weight
// and bias.
//   layerNorm(x, weight, bias?, eps) = (x - mean) / sqrt(var + eps) * weight + bias
//   rmsNorm(x, weight, eps)          = x / sqrt(mean(x^2) + eps) * weight
// x is (..., C), weight and bias are (C). The variance is the biased one (divides by C),
// as in PyTorch. Parameter gradients are reduced deterministically (same bits for any
// thread count).
import { isGradEnabled, needsGrad, record } from '../autograd.js';
import { native } from '../native/index.js';
import { Tensor, deviceOf, formatShape } from '../tensor.js';

function checkFloat(op: string, t: unknown, what: string): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor`);
  if (t.disposed) throw new Error(`${op}: ${what} ${t.describe()} has been disposed`);
  if (t.dtype !== 'float32') throw new TypeError(`${op}: ${what} must be float32, got ${t.describe()}`);
}

function rowsOf(op: string, x: Tensor, weight: Tensor, bias: Tensor | null | undefined, eps: number): { N: number; C: number } {
  checkFloat(op, x, 'x');
  checkFloat(op, weight, 'weight');
  if (bias != null) checkFloat(op, bias, 'bias');
  if (x.rank < 1) throw new RangeError(`${op}: x must have at least 1 dimension, got a scalar`);
  const C = x.shape[x.rank - 1]!;
  if (C < 1) throw new RangeError(`${op}: the last dimension of x must be >= 1, got ${formatShape(x.shape)}`);
  if (weight.rank !== 1 || weight.shape[0] !== C) {
    throw new RangeError(`${op}: weight must have shape [${C}] (the last dimension of x ${formatShape(x.shape)}), got ${formatShape(weight.shape)}`);
  }
  if (bias != null && (bias.rank !== 1 || bias.shape[0] !== C)) {
    throw new RangeError(`${op}: bias must have shape [${C}] (the last dimension of x ${formatShape(x.shape)}), got ${formatShape(bias.shape)}`);
  }
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0) {
    throw new RangeError(`${op}: eps must be a finite number >= 0, got ${eps}`);
  }
  return { N: x.size / C, C };
}

/** LayerNorm over the last axis. `bias` is optional (undefined or null: no bias). */
export function layerNorm(x: Tensor, weight: Tensor, bias?: Tensor | null, eps = 1e-5): Tensor {
  const { N, C } = rowsOf('layerNorm', x, weight, bias, eps);
  deviceOf('layerNorm', x, weight, bias);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const recording = isGradEnabled() && inputs.some(needsGrad);
  const out = Tensor.empty(x.shape, 'float32', x.device);
  const mean = recording ? Tensor.empty([N], 'float32', x.device) : null;
  const rstd = recording ? Tensor.empty([N], 'float32', x.device) : null;
  native.layernorm_forward(
    out.storage,
    mean?.storage ?? null,
    rstd?.storage ?? null,
    x.storage,
    weight.storage,
    bias?.storage ?? null,
    N,
    C,
    eps,
  );
  if (recording) {
    record('layerNorm', inputs, [out], ([g]) => {
      const dx = Tensor.empty(x.shape, 'float32', x.device);
      const dw = Tensor.zeros([C], 'float32', x.device);
      const db = bias && needsGrad(bias) ? Tensor.zeros([C], 'float32', x.device) : null;
      native.layernorm_backward(
        dx.storage,
        dw.storage,
        db?.storage ?? null,
        g!.storage,
        x.storage,
        weight.storage,
        mean!.storage,
        rstd!.storage,
        N,
        C,
      );
      const grads: (Tensor | null)[] = [keepIf(dx, needsGrad(x)), keepIf(dw, needsGrad(weight))];
      if (bias) grads.push(db);
      return grads;
    });
  }
  return out;
}

/** RMSNorm over the last axis (no mean subtraction, no bias). */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-5): Tensor {
  const { N, C } = rowsOf('rmsNorm', x, weight, undefined, eps);
  deviceOf('rmsNorm', x, weight);
  const recording = isGradEnabled() && (needsGrad(x) || needsGrad(weight));
  const out = Tensor.empty(x.shape, 'float32', x.device);
  const rstd = recording ? Tensor.empty([N], 'float32', x.device) : null;
  native.rmsnorm_forward(out.storage, rstd?.storage ?? null, x.storage, weight.storage, N, C, eps);
  if (recording) {
    record('rmsNorm', [x, weight], [out], ([g]) => {
      const dx = Tensor.empty(x.shape, 'float32', x.device);
      const dw = Tensor.zeros([C], 'float32', x.device);
      native.rmsnorm_backward(dx.storage, dw.storage, g!.storage, x.storage, weight.storage, rstd!.storage, N, C);
      return [keepIf(dx, needsGrad(x)), keepIf(dw, needsGrad(weight))];
    });
  }
  return out;
}

// The kernels always write dinp and dweight; a gradient nobody needs is freed at once.
function keepIf(t: Tensor, wanted: boolean): Tensor | null {
  if (wanted) return t;
  t.dispose();
  return null;
}
