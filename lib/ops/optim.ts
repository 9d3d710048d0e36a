// Ops of the `optim` family: fused, in-place parameter updates (one pass over parameter,
// gradient and state). They are not recorded on the autograd tape.
//
// sgdStep (PyTorch SGD, dampening 0):
//   g = grad + weightDecay * p;  v = momentum * v + g;  p -= lr * (nesterov ? g + momentum * v : v)
// adamwStep (PyTorch Adam/AdamW), step t >= 1:
//   decoupled (AdamW): p *= 1 - lr * weightDecay       otherwise (Adam): g = grad + weightDecay * p
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
import { native } from '../native/index.js';
import { Tensor, formatShape } from '../tensor.js';

export interface SgdStepOptions {
  lr: number;
  /** Default 0. With momentum > 0 a velocity tensor is required. */
  momentum?: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
  /** Nesterov momentum (needs momentum > 0). Default false. */
  nesterov?: boolean;
}

export interface AdamwStepOptions {
  lr: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-8. */
  eps?: number;
  /** Default 0. Decoupled (AdamW) or L2 (Adam) according to `decoupled`. */
  weightDecay?: number;
  /** 1 for the first update (bias correction). */
  step: number;
  /** true: AdamW (decoupled weight decay); false: Adam with L2. Default true. */
  decoupled?: boolean;
}

function checkState(op: string, param: Tensor, list: [Tensor, string][]): void {
  for (const [t, what] of list) {
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor`);
    if (t.disposed) throw new Error(`${op}: ${what} ${t.describe()} has been disposed`);
    if (t.dtype !== 'float32') throw new TypeError(`${op}: ${what} must be float32, got ${t.describe()}`);
  }
  for (const [t, what] of list) {
    if (t === param) continue;
    if (t.size !== param.size || formatShape(t.shape) !== formatShape(param.shape)) {
      throw new RangeError(`${op}: ${what} shape ${formatShape(t.shape)} differs from param shape ${formatShape(param.shape)}`);
    }
  }
}

function checkNumber(op: string, name: string, v: unknown, lo: number, hi = Infinity, hiOpen = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (hiOpen && v === hi)) {
    const range = hi === Infinity ? `>= ${lo}` : `in [${lo}, ${hi}${hiOpen ? ')' : ']'}`;
    throw new RangeError(`${op}: ${name} must be a finite number ${range}, got ${String(v)}`);
  }
  return v;
}

/** One SGD update of `param` in place (velocity updated in place; may be null when momentum is 0). */
export function sgdStep(param: Tensor, grad: Tensor, velocity: Tensor | null, opts: SgdStepOptions): void {
  const op = 'sgdStep';
  const lr = checkNumber(op, 'lr', opts.lr, 0);
  const momentum = checkNumber(op, 'momentum', opts.momentum ?? 0, 0);
  const weightDecay = checkNumber(op, 'weightDecay', opts.weightDecay ?? 0, 0);
  const nesterov = opts.nesterov ?? false;
  if (typeof nesterov !== 'boolean') throw new TypeError(`${op}: nesterov must be a boolean`);
  if (nesterov && momentum === 0) throw new RangeError(`${op}: nesterov needs momentum > 0`);
  if (momentum > 0 && velocity === null) throw new RangeError(`${op}: momentum > 0 needs a velocity tensor`);
  const list: [Tensor, string][] = [
    [param, 'param'],
    [grad, 'grad'],
  ];
  if (velocity !== null) list.push([velocity, 'velocity']);
  checkState(op, param, list);
  native.sgd_step(param.storage, velocity?.storage ?? null, grad.storage, param.size, lr, momentum, weightDecay, nesterov);
}

/** One Adam/AdamW update of `param` in place (moments m and v updated in place). */
export function adamwStep(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, opts: AdamwStepOptions): void {
  const op = 'adamwStep';
  const lr = checkNumber(op, 'lr', opts.lr, 0);
  const beta1 = checkNumber(op, 'beta1', opts.beta1 ?? 0.9, 0, 1, true);
  const beta2 = checkNumber(op, 'beta2', opts.beta2 ?? 0.999, 0, 1, true);
  const eps = checkNumber(op, 'eps', opts.eps ?? 1e-8, 0);
  const weightDecay = checkNumber(op, 'weightDecay', opts.weightDecay ?? 0, 0);
  const step = opts.step;
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 1) {
    throw new RangeError(`${op}: step must be an integer >= 1, got ${String(step)}`);
  }
  const decoupled = opts.decoupled ?? true;
  if (typeof decoupled !== 'boolean') throw new TypeError(`${op}: decoupled must be a boolean`);
  checkState(op, param, [
    [param, 'param'],
    [grad, 'grad'],
    [m, 'm'],
    [v, 'v'],
  ]);
  native.adamw_step(param.storage, m.storage, v.storage, grad.storage, param.size, lr, beta1, beta2, eps, weightDecay, step, decoupled);
}
