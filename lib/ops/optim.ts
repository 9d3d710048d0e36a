// Ops of the `optim` family: fused, in-place parameter updates (one pass over parameter,
// gradient and state). They are not recorded on the autograd tape.
//
// sgdStep (PyTorch SGD, dampening 0):
//   g = grad + weightDecay * p;  v = momentum * v + g;  p -= lr * (nesterov ? g + momentum * v : v)
// adamwStep (PyTorch Adam/AdamW), step t >= 1:
//   decoupled (AdamW): p *= 1 - lr * weightDecay       otherwise (Adam): g = grad + weightDecay * p
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// adafactorStep (Shazeer & Stern 2018, no momentum), param seen as (rows, cols) = (size / last, last):
//   factored: row = b2 row + (1 - b2) rowmean(g^2 + eps1); col = b2 col + (1 - b2) colmean(g^2 + eps1)
//             V = row col / mean(row)          unfactored: v = b2 v + (1 - b2)(g^2 + eps1); V = v
//   U = g / sqrt(V) / max(1, RMS(U) / clip);  alpha = scaleParameter ? max(eps2, RMS(p)) * rho : rho
//   p -= alpha * (U + weightDecay * p)
// sophiaStep (Sophia-G, Liu et al. 2023):
//   p *= 1 - lr * weightDecay;  m = b1 m + (1 - b1) g;  p -= lr * sign(m) * min(|m| / (rho bs h + eps), 1)
// sophiaHessianUpdate: h = b2 h + (1 - b2) * scale * ghat^2
// sampleLabels: one label per row drawn from softmax(logits), reproducible from a seed.
import { native } from '../native/index.js';
import { Tensor, formatShape, shapeSize } from '../tensor.js';

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

// ---- Adafactor ---------------------------------------------------------------------

/** Second-moment state of Adafactor: factored (row and column averages) or full. */
export type AdafactorState = { row: Tensor; col: Tensor } | { v: Tensor };

export interface AdafactorStepOptions {
  /** Relative step size rho_t (or the absolute step when scaleParameter is false). */
  rho: number;
  /** Second-moment decay for this step, in [0, 1) (the paper: 1 - t^-0.8). */
  beta2: number;
  /** Added to g^2. Default 1e-30. */
  eps1?: number;
  /** Lower bound of RMS(param) in the step size. Default 1e-3. */
  eps2?: number;
  /** Update clipping threshold d: U /= max(1, RMS(U) / d). Default 1. */
  clip?: number;
  /** Decoupled decay: p -= alpha * weightDecay * p. Default 0. */
  weightDecay?: number;
  /** alpha = max(eps2, RMS(p)) * rho when true (default), alpha = rho otherwise. */
  scaleParameter?: boolean;
}

/**
 * The (rows, cols) matrix view Adafactor factors a parameter of this shape into: rank >= 2 gives
 * (size / last dim, last dim); rank <= 1 gives null (unfactored, full second moment).
 */
export function adafactorFactorShape(shape: readonly number[]): [number, number] | null {
  if (shape.length < 2) return null;
  const cols = shape[shape.length - 1]!;
  return [cols === 0 ? 0 : shapeSize(shape) / cols, cols];
}

/** One Adafactor update of `param` in place (state tensors updated in place). */
export function adafactorStep(param: Tensor, grad: Tensor, state: AdafactorState, opts: AdafactorStepOptions): void {
  const op = 'adafactorStep';
  const rho = checkNumber(op, 'rho', opts.rho, 0);
  const beta2 = checkNumber(op, 'beta2', opts.beta2, 0, 1, true);
  const eps1 = checkNumber(op, 'eps1', opts.eps1 ?? 1e-30, 0);
  if (!(eps1 > 0)) throw new RangeError(`${op}: eps1 must be > 0, got ${eps1}`);
  const eps2 = checkNumber(op, 'eps2', opts.eps2 ?? 1e-3, 0);
  const clip = checkNumber(op, 'clip', opts.clip ?? 1, 0);
  if (!(clip > 0)) throw new RangeError(`${op}: clip must be > 0, got ${clip}`);
  const weightDecay = checkNumber(op, 'weightDecay', opts.weightDecay ?? 0, 0);
  const scaleParameter = opts.scaleParameter ?? true;
  if (typeof scaleParameter !== 'boolean') throw new TypeError(`${op}: scaleParameter must be a boolean`);
  checkState(op, param, [
    [param, 'param'],
    [grad, 'grad'],
  ]);
  if ('v' in state) {
    checkState(op, param, [[state.v, 'v']]);
    native.adafactor_step(param.storage, null, null, state.v.storage, grad.storage, 1, param.size, rho, beta2, eps1, eps2, clip, weightDecay, scaleParameter);
    return;
  }
  const f = adafactorFactorShape(param.shape);
  if (f === null) throw new RangeError(`${op}: a factored state needs a parameter of rank >= 2, got ${param.describe()}`);
  const [rows, cols] = f;
  for (const [t, what, n] of [
    [state.row, 'row', rows],
    [state.col, 'col', cols],
  ] as const) {
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor`);
    if (t.disposed) throw new Error(`${op}: ${what} ${t.describe()} has been disposed`);
    if (t.dtype !== 'float32') throw new TypeError(`${op}: ${what} must be float32, got ${t.describe()}`);
    if (t.size !== n) throw new RangeError(`${op}: ${what} must hold ${n} elements for param ${param.describe()}, got ${t.describe()}`);
  }
  native.adafactor_step(param.storage, state.row.storage, state.col.storage, null, grad.storage, rows, cols, rho, beta2, eps1, eps2, clip, weightDecay, scaleParameter);
}

// ---- Sophia-G ----------------------------------------------------------------------

export interface SophiaStepOptions {
  lr: number;
  /** Default 0.965. */
  beta1?: number;
  /** Default 0.04. */
  rho?: number;
  /** Decoupled: p *= 1 - lr * weightDecay. Default 0. */
  weightDecay?: number;
  /** Tokens per batch (scales the Hessian estimate in the clipping ratio), > 0. */
  bs: number;
  /** Default 1e-15. */
  eps?: number;
}

/** One Sophia-G update of `param` in place (first moment m updated in place; h read only). */
export function sophiaStep(param: Tensor, grad: Tensor, m: Tensor, h: Tensor, opts: SophiaStepOptions): void {
  const op = 'sophiaStep';
  const lr = checkNumber(op, 'lr', opts.lr, 0);
  const beta1 = checkNumber(op, 'beta1', opts.beta1 ?? 0.965, 0, 1, true);
  const rho = checkNumber(op, 'rho', opts.rho ?? 0.04, 0);
  const weightDecay = checkNumber(op, 'weightDecay', opts.weightDecay ?? 0, 0);
  const bs = checkNumber(op, 'bs', opts.bs, 0);
  if (!(bs > 0)) throw new RangeError(`${op}: bs (tokens per batch) must be > 0, got ${bs}`);
  const eps = checkNumber(op, 'eps', opts.eps ?? 1e-15, 0);
  if (!(eps > 0)) throw new RangeError(`${op}: eps must be > 0, got ${eps}`);
  checkState(op, param, [
    [param, 'param'],
    [grad, 'grad'],
    [m, 'm'],
    [h, 'h'],
  ]);
  native.sophia_step(param.storage, m.storage, h.storage, grad.storage, param.size, lr, beta1, rho, weightDecay, bs, eps);
}

export interface SophiaHessianOptions {
  /** Default 0.99. */
  beta2?: number;
  /** Multiplies ghat^2 (e.g. the batch size B of the paper's estimator). Default 1. */
  scale?: number;
}

/** h = beta2 h + (1 - beta2) * scale * ghat^2, in place (Gauss-Newton-Bartlett estimate). */
export function sophiaHessianUpdate(h: Tensor, ghat: Tensor, opts: SophiaHessianOptions = {}): void {
  const op = 'sophiaHessianUpdate';
  const beta2 = checkNumber(op, 'beta2', opts.beta2 ?? 0.99, 0, 1, true);
  const scale = checkNumber(op, 'scale', opts.scale ?? 1, 0);
  checkState(op, h, [
    [h, 'h'],
    [ghat, 'ghat'],
  ]);
  if (h === ghat) throw new RangeError(`${op}: h and ghat must be different tensors`);
  native.sophia_hessian(h.storage, ghat.storage, h.size, beta2, scale);
}

/**
 * Samples one label per row of `logits` (..., V) from softmax(logits): int32 tensor of shape
 * logits.shape[:-1]. Deterministic for a given seed (any integer), whatever the thread count.
 */
export function sampleLabels(logits: Tensor, seed: number): Tensor {
  const op = 'sampleLabels';
  if (!(logits instanceof Tensor)) throw new TypeError(`${op}: logits must be a Tensor`);
  if (logits.dtype !== 'float32') throw new TypeError(`${op}: logits must be float32, got ${logits.describe()}`);
  if (logits.rank < 2) throw new RangeError(`${op}: logits must have shape (N, V), got ${logits.describe()}`);
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) throw new RangeError(`${op}: seed must be a safe integer, got ${String(seed)}`);
  const V = logits.shape[logits.rank - 1]!;
  if (V < 1) throw new RangeError(`${op}: the vocabulary dimension must be >= 1, got ${logits.describe()}`);
  const outShape = logits.shape.slice(0, -1);
  const N = shapeSize(outShape);
  const out = Tensor.empty(outShape, 'int32', logits.device);
  native.sample_labels(out.storage, logits.storage, N, V, seed);
  return out;
}
