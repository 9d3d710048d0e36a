// Data movement, all differentiable (float32; int32 tensors are moved too, without gradient):
//   transpose(x, dim0 = -2, dim1 = -1)   swaps two dims (default: the last two)
//   permute(x, dims)                     out dim d is x dim dims[d] (rank <= 6)
//   concat(tensors, axis = 0)            joins along an axis; the other dims must match
//   slice(x, axis, start, end?)          the range [start, end) along an axis
//   split(x, axis, sizes)                pieces along an axis: sizes is a list (summing to the
//                                        axis size) or one chunk size (the last piece may be smaller)
// Axes and slice bounds may be negative (Python style, counted from the end). The results
// are new dense tensors (reshape, which shares storage, is Tensor's own).
// Backward: permute by the inverse permutation; concat splits the gradient; split / slice
// write their gradients into a zero tensor of the input's shape.
import { needsGrad, record } from '../autograd.js';
import { native } from '../native/index.js';
import { Tensor, deviceOf, formatShape } from '../tensor.js';
import { normalizeAxis } from './reduce.js';

const MAX_RANK = 6;

function checkTensor(op: string, name: string, t: Tensor): void {
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a Tensor`);
  if (t.disposed) throw new Error(`${op}: ${name} (${t.toString()}) has been disposed`);
  if (t.dtype !== 'float32' && t.dtype !== 'int32') {
    throw new TypeError(`${op}: ${name} must be float32 or int32, got ${t.describe()}`);
  }
}

function product(dims: readonly number[], from: number, to: number): number {
  let p = 1;
  for (let d = from; d < to; d++) p *= dims[d]!;
  return p;
}

/** x with its dims reordered: output dim d is input dim dims[d]. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  checkTensor('permute', 'x', x);
  const rank = x.rank;
  if (!Array.isArray(dims as unknown)) throw new TypeError('permute: dims must be an array of axes');
  if (dims.length !== rank) {
    throw new RangeError(`permute: dims [${dims.join(',')}] must list all ${rank} axes of ${x.describe()}`);
  }
  if (rank > MAX_RANK) throw new RangeError(`permute: rank ${rank} is above the supported ${MAX_RANK}`);
  const perm = dims.map((d) => normalizeAxis('permute', d, rank));
  if (new Set(perm).size !== rank) {
    throw new RangeError(`permute: dims [${dims.join(',')}] is not a permutation of the ${rank} axes`);
  }
  const outShape = perm.map((p) => x.shape[p]!);
  const out = Tensor.empty(outShape, x.dtype, x.device);
  native.permute(out.storage, x.storage, x.shape, perm);
  const inv = new Array<number>(rank);
  perm.forEach((p, d) => (inv[p] = d));
  record('permute', [x], [out], ([g]) => {
    const dx = Tensor.empty(x.shape, 'float32', x.device);
    native.permute(dx.storage, g!.storage, outShape, inv);
    return [dx];
  });
  return out;
}

/** Swaps dims dim0 and dim1 (default: the last two). */
export function transpose(x: Tensor, dim0?: number, dim1?: number): Tensor {
  checkTensor('transpose', 'x', x);
  if (x.rank < 2 && dim0 === undefined && dim1 === undefined) {
    throw new RangeError(`transpose: ${x.describe()} has fewer than 2 dims; pass the dims to swap`);
  }
  const a = normalizeAxis('transpose', dim0 ?? -2, x.rank);
  const b = normalizeAxis('transpose', dim1 ?? -1, x.rank);
  const perm = x.shape.map((_, d) => (d === a ? b : d === b ? a : d));
  return permute(x, perm);
}

/** Joins tensors along `axis`; all must have the same dtype, rank and other dims. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors as unknown) || tensors.length === 0) {
    throw new TypeError('concat: tensors must be a non-empty array of Tensors');
  }
  tensors.forEach((t, i) => checkTensor('concat', `tensors[${i}]`, t));
  const first: Tensor = tensors[0]!;
  const rank = first.rank;
  const ax = normalizeAxis('concat', axis, rank);
  tensors.forEach((t, i) => {
    if (t.dtype !== first.dtype) {
      throw new TypeError(`concat: tensors[${i}] is ${t.dtype} but tensors[0] is ${first.dtype}`);
    }
    const ok = t.rank === rank && t.shape.every((d, k) => k === ax || d === first.shape[k]);
    if (!ok) {
      throw new RangeError(
        `concat: shapes must match except on axis ${axis}: ` +
          `tensors[0] ${formatShape(first.shape)}, tensors[${i}] ${formatShape(t.shape)}`,
      );
    }
  });
  const outer = product(first.shape, 0, ax);
  const inner = product(first.shape, ax + 1, rank);
  const sizes = tensors.map((t) => t.shape[ax]!);
  const total = sizes.reduce((s, c) => s + c, 0);
  const outShape = first.shape.map((d, k) => (k === ax ? total : d));
  const out = Tensor.empty(outShape, first.dtype, deviceOf('concat', ...tensors));
  const ld = total * inner;
  let off = 0;
  const offsets = sizes.map((c) => {
    const o = off;
    off += c;
    return o;
  });
  tensors.forEach((t, i) => {
    const w = sizes[i]! * inner;
    native.copy_2d(out.storage, offsets[i]! * inner, ld, t.storage, 0, w, outer, w);
  });
  record('concat', [...tensors], [out], ([g]) =>
    tensors.map((t, i) => {
      if (!needsGrad(t)) return null;
      const w = sizes[i]! * inner;
      const dt = Tensor.empty(t.shape, 'float32', t.device);
      native.copy_2d(dt.storage, 0, w, g!.storage, offsets[i]! * inner, ld, outer, w);
      return dt;
    }),
  );
  return out;
}

function checkIndex(op: string, name: string, v: number): void {
  if (!Number.isInteger(v)) throw new TypeError(`${op}: ${name} must be an integer, got ${String(v)}`);
}

/** The range [start, end) of x along `axis` (end defaults to the axis size; negatives count from the end). */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  checkTensor('slice', 'x', x);
  const ax = normalizeAxis('slice', axis, x.rank);
  const C = x.shape[ax]!;
  checkIndex('slice', 'start', start);
  if (end !== undefined) checkIndex('slice', 'end', end);
  const s = start < 0 ? start + C : start;
  const e = end === undefined ? C : end < 0 ? end + C : end;
  if (!(s >= 0 && s <= e && e <= C)) {
    throw new RangeError(
      `slice: [${start}, ${end ?? C}) is out of range for axis ${axis} of size ${C} in ${x.describe()}`,
    );
  }
  const outer = product(x.shape, 0, ax);
  const inner = product(x.shape, ax + 1, x.rank);
  const len = e - s;
  const out = Tensor.empty(
    x.shape.map((d, k) => (k === ax ? len : d)),
    x.dtype,
    x.device,
  );
  native.copy_2d(out.storage, 0, len * inner, x.storage, s * inner, C * inner, outer, len * inner);
  record('slice', [x], [out], ([g]) => {
    const dx = Tensor.zeros(x.shape, 'float32', x.device);
    native.copy_2d(dx.storage, s * inner, C * inner, g!.storage, 0, len * inner, outer, len * inner);
    return [dx];
  });
  return out;
}

/**
 * Splits x along `axis` into pieces of the given sizes (which must sum to the axis size), or
 * into chunks of `sizes` elements (the last one smaller when it does not divide).
 */
export function split(x: Tensor, axis: number, sizes: number | readonly number[]): Tensor[] {
  checkTensor('split', 'x', x);
  const ax = normalizeAxis('split', axis, x.rank);
  const C = x.shape[ax]!;
  let pieces: number[];
  if (typeof sizes === 'number') {
    if (!Number.isInteger(sizes) || sizes <= 0) {
      throw new RangeError(`split: the chunk size must be a positive integer, got ${sizes}`);
    }
    pieces = [];
    for (let c = 0; c < C; c += sizes) pieces.push(Math.min(sizes, C - c));
    if (pieces.length === 0) pieces.push(0);
  } else {
    if (!Array.isArray(sizes as unknown) || sizes.length === 0 || sizes.some((v) => !Number.isInteger(v) || v < 0)) {
      throw new TypeError('split: sizes must be a positive integer or a non-empty array of non-negative integers');
    }
    const sum = sizes.reduce((a, b) => a + b, 0);
    if (sum !== C) {
      throw new RangeError(
        `split: sizes [${sizes.join(',')}] sum to ${sum}, but axis ${axis} of ${x.describe()} has size ${C}`,
      );
    }
    pieces = [...sizes];
  }
  const outer = product(x.shape, 0, ax);
  const inner = product(x.shape, ax + 1, x.rank);
  const ld = C * inner;
  const offsets: number[] = [];
  let off = 0;
  for (const p of pieces) {
    offsets.push(off);
    off += p;
  }
  const outs = pieces.map((p, i) => {
    const t = Tensor.empty(
      x.shape.map((d, k) => (k === ax ? p : d)),
      x.dtype,
      x.device,
    );
    native.copy_2d(t.storage, 0, p * inner, x.storage, offsets[i]! * inner, ld, outer, p * inner);
    return t;
  });
  record('split', [x], outs, (gs) => {
    const dx = Tensor.zeros(x.shape, 'float32', x.device);
    gs.forEach((g, i) => {
      const w = pieces[i]! * inner;
      native.copy_2d(dx.storage, offsets[i]! * inner, ld, g.storage, 0, w, outer, w);
    });
    return [dx];
  });
  return outs;
}
