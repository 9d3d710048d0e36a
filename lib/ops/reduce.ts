// Reductions.
//   sum(x, axis?, keepDims?)   sum over all elements (axis omitted) or over one axis
//   mean(x, axis?, keepDims?)  the same divided by the number of reduced elements
//   max(x, axis?, keepDims?)   maximum (gradient flows to the first maximal element)
//   argmax(x, axis?, keepDims?) int32 position of the first maximum (no gradient)
//   sumToShape(x, shape)       sums x over the dims that broadcasting `shape` to x.shape
//                              expanded (the gradient reduction of broadcasting ops)
// Axes may be negative (Python style: -1 is the last). Without keepDims the reduced axis is
// removed; with it, it stays with size 1. A full reduction gives shape [] (or all-ones).
// Sums accumulate in double in the native kernels. Backward: the upstream gradient
// broadcast back over the reduced axis (scaled by 1/R for mean).
import { isGradEnabled, needsGrad, record } from '../autograd.js';
import { native } from '../native/index.js';
import { Tensor, formatShape, keep, type Shape } from '../tensor.js';

/** Checks that `t` is a live float32 tensor (or int32 when `allowInt`). */
function checkInput(op: string, name: string, t: Tensor, allowInt = false): void {
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a Tensor`);
  if (t.disposed) throw new Error(`${op}: ${name} (${t.toString()}) has been disposed`);
  if (t.dtype !== 'float32' && !(allowInt && t.dtype === 'int32')) {
    throw new TypeError(`${op}: ${name} must be float32, got ${t.describe()}`);
  }
}

/** Normalises a Python-style axis (negative counts from the end) against `rank`. */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis)) throw new TypeError(`${op}: axis must be an integer, got ${String(axis)}`);
  if (axis < -rank || axis >= rank) {
    throw new RangeError(
      rank === 0
        ? `${op}: axis ${axis} is out of range for a tensor of rank 0 (it has no axes)`
        : `${op}: axis ${axis} is out of range for a tensor of rank ${rank} (expected ${-rank} to ${rank - 1})`,
    );
  }
  return axis < 0 ? axis + rank : axis;
}

interface AxisView {
  outer: number;
  R: number;
  inner: number;
  outShape: number[];
}

/** The (outer, R, inner) view of x for a reduction over `axis` (all elements when undefined). */
function axisView(op: string, x: Tensor, axis: number | undefined, keepDims: boolean): AxisView {
  if (typeof keepDims !== 'boolean') throw new TypeError(`${op}: keepDims must be a boolean`);
  const shape = x.shape;
  if (axis === undefined) {
    return { outer: 1, R: x.size, inner: 1, outShape: keepDims ? shape.map(() => 1) : [] };
  }
  const ax = normalizeAxis(op, axis, shape.length);
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < ax; d++) outer *= shape[d]!;
  for (let d = ax + 1; d < shape.length; d++) inner *= shape[d]!;
  const outShape = keepDims ? shape.map((s, d) => (d === ax ? 1 : s)) : shape.filter((_, d) => d !== ax);
  return { outer, R: shape[ax]!, inner, outShape };
}

function sumLike(op: 'sum' | 'mean', x: Tensor, axis: number | undefined, keepDims: boolean): Tensor {
  checkInput(op, 'x', x);
  const { outer, R, inner, outShape } = axisView(op, x, axis, keepDims);
  const scale = op === 'mean' ? 1 / R : 1;
  const out = Tensor.empty(outShape, 'float32', x.device);
  if (op === 'mean' && R === 0) {
    out.storage.fill(NaN); // the mean of nothing
  } else {
    native.sum_axis_forward(out.storage, x.storage, outer, R, inner, scale);
  }
  record(op, [x], [out], ([g]) => {
    const dx = Tensor.empty(x.shape, 'float32', x.device);
    native.sum_axis_backward(dx.storage, g!.storage, outer, R, inner, R === 0 ? 0 : scale);
    return [dx];
  });
  return out;
}

/** Sum over all elements (axis omitted) or over one axis. */
export function sum(x: Tensor, axis?: number, keepDims = false): Tensor {
  return sumLike('sum', x, axis, keepDims);
}

/** Mean over all elements (axis omitted) or over one axis. The mean of an empty axis is NaN. */
export function mean(x: Tensor, axis?: number, keepDims = false): Tensor {
  return sumLike('mean', x, axis, keepDims);
}

function maxImpl(op: 'max' | 'argmax', x: Tensor, axis: number | undefined, keepDims: boolean): [Tensor, Tensor] {
  checkInput(op, 'x', x);
  const { outer, R, inner, outShape } = axisView(op, x, axis, keepDims);
  if (R === 0) {
    throw new RangeError(
      `${op}: cannot reduce an empty ${axis === undefined ? 'tensor' : `axis ${axis}`} of ${x.describe()}`,
    );
  }
  const values = Tensor.empty(outShape, 'float32', x.device);
  const idx = Tensor.empty(outShape, 'int32', x.device);
  native.max_axis_forward(values.storage, idx.storage, x.storage, outer, R, inner);
  return [values, idx];
}

/** Maximum over all elements (axis omitted) or over one axis; NaN wins. The gradient goes to the first maximum. */
export function max(x: Tensor, axis?: number, keepDims = false): Tensor {
  const [values, idx] = maxImpl('max', x, axis, keepDims);
  if (!isGradEnabled() || !needsGrad(x)) {
    idx.dispose();
    return values;
  }
  const { outer, R, inner } = axisView('max', x, axis, keepDims);
  keep(idx); // saved for the backward, which frees it (or the GC, if it never runs)
  record('max', [x], [values], ([g]) => {
    const dx = Tensor.empty(x.shape, 'float32', x.device);
    native.max_axis_backward(dx.storage, g!.storage, idx.storage, outer, R, inner);
    idx.dispose();
    return [dx];
  });
  return values;
}

/** int32 position of the first maximum along `axis` (over the flattened tensor when omitted). */
export function argmax(x: Tensor, axis?: number, keepDims = false): Tensor {
  const [values, idx] = maxImpl('argmax', x, axis, keepDims);
  values.dispose();
  return idx;
}

/** `shape` right-aligned to `rank` with leading 1s, after checking that it broadcasts to `full`. */
function alignedTarget(op: string, full: Shape, shape: Shape): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new TypeError(`${op}: shape must be an array of non-negative integers, got ${String(shape)}`);
  }
  if (shape.length > full.length) {
    throw new RangeError(`${op}: cannot sum ${formatShape(full)} to the higher-rank shape ${formatShape(shape)}`);
  }
  const lead = full.length - shape.length;
  const target = [...full.slice(0, lead).map(() => 1), ...shape];
  target.forEach((d, i) => {
    if (d !== 1 && d !== full[i]) {
      throw new RangeError(
        `${op}: cannot sum ${formatShape(full)} to ${formatShape(shape)}: ` +
          `${formatShape(shape)} does not broadcast to ${formatShape(full)}`,
      );
    }
  });
  if (full.length > 6) throw new RangeError(`${op}: rank ${full.length} is above the supported 6`);
  return target;
}

/**
 * Sums x over the dimensions along which `shape` broadcasts to x.shape, giving a tensor of
 * `shape` (the gradient of broadcasting). `shape` must broadcast to x.shape (NumPy rules).
 * Backward: the gradient broadcast back to x.shape.
 */
export function sumToShape(x: Tensor, shape: Shape): Tensor {
  checkInput('sumToShape', 'x', x);
  const target = alignedTarget('sumToShape', x.shape, shape);
  const out = Tensor.empty(shape, 'float32', x.device);
  native.sum_to_shape(out.storage, x.storage, x.shape, target);
  record('sumToShape', [x], [out], ([g]) => [broadcastRaw(g!, target, x.shape)]);
  return out;
}

/** @internal g (any shape whose aligned form is `aligned`) broadcast to `full` in a new tensor. */
export function broadcastRaw(g: Tensor, aligned: readonly number[], full: Shape): Tensor {
  const out = Tensor.empty(full, 'float32', g.device);
  if (out.size === 0) return out;
  const strides = new Array<number>(full.length).fill(0);
  let s = 1;
  for (let d = full.length - 1; d >= 0; d--) {
    strides[d] = aligned[d] === 1 ? 0 : s;
    s *= aligned[d]!;
  }
  const zero = Tensor.zeros([1], 'float32', g.device);
  try {
    native.binary_forward('add', out.storage, g.storage, zero.storage, full, strides, full.map(() => 0));
  } finally {
    zero.dispose();
  }
  return out;
}
