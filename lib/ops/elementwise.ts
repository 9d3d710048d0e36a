// Element-wise arithmetic, all differentiable.
//   add(a, b), sub(a, b), mul(a, b), div(a, b)   NumPy broadcasting (rank <= 6); b may be a number
//   addScalar(a, s), mulScalar(a, s) (alias scale), neg(a)
//   exp(x), log(x), sqrt(x), square(x), pow(x, p) (p a number)
//   broadcastTo(x, shape)
// For the autograd engine and optimizers (not recorded, in place):
//   axpyInPlace(y, x, alpha)   y += alpha * x
//   addInPlace(y, x)           y += x
// Broadcasting: shapes are aligned on the right; each pair of dims must be equal or one of
// them 1. One native kernel walks the output with per-operand strides (0 on broadcast dims).
// Backward: the gradient of a broadcast operand is summed back to its shape (sumToShape).
import { needsGrad, record } from '../autograd.js';
import { native } from '../native/index.js';
import type { BinaryOpName } from '../native/elementwise.js';
import { Tensor, deviceOf, formatShape, type Shape } from '../tensor.js';
import { checkFloat, unary } from './pointwise.js';
import { broadcastRaw } from './reduce.js';

const MAX_RANK = 6;

function checkScalar(op: string, name: string, s: number): void {
  if (typeof s !== 'number') throw new TypeError(`${op}: ${name} must be a number, got ${typeof s}`);
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The broadcast shape of a and b (NumPy rules), or a RangeError naming the op. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[i - (n - a.length)] ?? 1;
    const db = b[i - (n - b.length)] ?? 1;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else {
      throw new RangeError(
        `${op}: shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast (dimension ${i}: ${da} vs ${db})`,
      );
    }
  }
  if (n > MAX_RANK) throw new RangeError(`${op}: rank ${n} is above the supported ${MAX_RANK}`);
  return out;
}

/** Strides of a dense `shape` right-aligned to `out` (rank >= shape's), 0 on broadcast dims. */
function broadcastStrides(shape: Shape, out: Shape): number[] {
  const off = out.length - shape.length;
  const st = new Array<number>(out.length).fill(0);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    st[d + off] = shape[d] === 1 ? 0 : s;
    s *= shape[d]!;
  }
  return st;
}

/** out = a op b with broadcasting (no autograd). */
function binaryRaw(op: BinaryOpName, a: Tensor, b: Tensor, outShape: Shape): Tensor {
  const out = Tensor.empty(outShape, 'float32', deviceOf(op, a, b));
  native.binary_forward(
    op,
    out.storage,
    a.storage,
    b.storage,
    outShape,
    broadcastStrides(a.shape, outShape),
    broadcastStrides(b.shape, outShape),
  );
  return out;
}

/** out = alpha * x + beta (no autograd). */
function affineRaw(x: Tensor, alpha: number, beta: number): Tensor {
  const out = Tensor.empty(x.shape, 'float32', x.device);
  native.affine_forward(out.storage, x.storage, x.size, alpha, beta);
  return out;
}

/**
 * A fresh tensor: `full` (a gradient of the broadcast output's shape) summed to `shape`.
 * With `owned`, `full` is consumed (returned as is when no reduction is needed, else freed).
 */
function reduceTo(full: Tensor, shape: Shape, owned: boolean): Tensor {
  if (sameShape(full.shape, shape)) return owned ? full : full.clone();
  const lead = full.shape.length - shape.length;
  const target = [...full.shape.slice(0, lead).map(() => 1), ...shape];
  const out = Tensor.empty(shape, 'float32', full.device);
  native.sum_to_shape(out.storage, full.storage, full.shape, target);
  if (owned) full.dispose();
  return out;
}

function binary(op: BinaryOpName, a: Tensor, b: Tensor): Tensor {
  checkFloat(op, 'a', a);
  checkFloat(op, 'b', b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = binaryRaw(op, a, b, shape);
  record(op, [a, b], [out], ([g]) => {
    const ga = needsGrad(a);
    const gb = needsGrad(b);
    switch (op) {
      case 'add':
      case 'sub': {
        const da = ga ? reduceTo(g!, a.shape, false) : null;
        let db: Tensor | null = null;
        if (gb) {
          db = reduceTo(g!, b.shape, false);
          if (op === 'sub') db.storage.scale(-1);
        }
        return [da, db];
      }
      case 'mul':
        return [
          ga ? reduceTo(binaryRaw('mul', g!, b, shape), a.shape, true) : null,
          gb ? reduceTo(binaryRaw('mul', g!, a, shape), b.shape, true) : null,
        ];
      case 'div': {
        // d/da = g / b;  d/db = -g a / b^2 = -(g / b) * out
        const gOverB = binaryRaw('div', g!, b, shape);
        let db: Tensor | null = null;
        if (gb) {
          db = reduceTo(binaryRaw('mul', gOverB, out, shape), b.shape, true);
          db.storage.scale(-1);
        }
        if (ga) return [reduceTo(gOverB, a.shape, true), db];
        gOverB.dispose();
        return [null, db];
      }
    }
  });
  return out;
}

/** a + b with broadcasting (b may be a number). */
export function add(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === 'number' ? scalarOp('add', a, 1, b) : binary('add', a, b);
}

/** a - b with broadcasting (b may be a number). */
export function sub(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === 'number' ? scalarOp('sub', a, 1, -b) : binary('sub', a, b);
}

/** a * b with broadcasting (b may be a number). */
export function mul(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === 'number' ? scalarOp('mul', a, b, 0) : binary('mul', a, b);
}

/** a / b with broadcasting (b may be a number). */
export function div(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === 'number' ? scalarOp('div', a, 1 / b, 0) : binary('div', a, b);
}

/** out = alpha * a + beta, recorded (gradient alpha * g). */
function scalarOp(op: string, a: Tensor, alpha: number, beta: number): Tensor {
  checkFloat(op, 'a', a);
  checkScalar(op, 'alpha', alpha);
  checkScalar(op, 'beta', beta);
  const out = affineRaw(a, alpha, beta);
  record(op, [a], [out], ([g]) => [alpha === 1 ? g!.clone() : affineRaw(g!, alpha, 0)]);
  return out;
}

/** a + s. */
export function addScalar(a: Tensor, s: number): Tensor {
  checkScalar('addScalar', 's', s);
  return scalarOp('addScalar', a, 1, s);
}

/** a * s. */
export function mulScalar(a: Tensor, s: number): Tensor {
  checkScalar('mulScalar', 's', s);
  return scalarOp('mulScalar', a, s, 0);
}

/** a * s (alias of mulScalar). */
export function scale(a: Tensor, s: number): Tensor {
  checkScalar('scale', 's', s);
  return scalarOp('scale', a, s, 0);
}

/** -a. */
export function neg(a: Tensor): Tensor {
  return scalarOp('neg', a, -1, 0);
}

/** e^x. */
export function exp(x: Tensor): Tensor {
  return unary('exp', x, native.exp_forward, native.exp_backward, true);
}

/** Natural logarithm (NaN below 0, -Infinity at 0). */
export function log(x: Tensor): Tensor {
  return unary('log', x, native.log_forward, native.log_backward, false);
}

/** Square root (NaN below 0). */
export function sqrt(x: Tensor): Tensor {
  return unary('sqrt', x, native.sqrt_forward, native.sqrt_backward, true);
}

/** x^p for a number p (p = 2, 3, 1, 0, -1, 0.5 are exact fast paths). */
export function pow(x: Tensor, p: number): Tensor {
  checkFloat('pow', 'x', x);
  if (typeof p !== 'number' || Number.isNaN(p)) throw new TypeError(`pow: p must be a number, got ${String(p)}`);
  if (!Number.isFinite(p)) throw new RangeError(`pow: p must be finite, got ${p}`);
  const out = Tensor.empty(x.shape, 'float32', x.device);
  native.pow_scalar_forward(out.storage, x.storage, x.size, p);
  record('pow', [x], [out], ([g]) => {
    const dx = Tensor.empty(x.shape, 'float32', x.device);
    native.pow_scalar_backward(dx.storage, g!.storage, x.storage, x.size, p);
    return [dx];
  });
  return out;
}

/** x * x. */
export function square(x: Tensor): Tensor {
  checkFloat('square', 'x', x);
  return pow(x, 2);
}

/** x broadcast (NumPy rules) to `shape`, as a new tensor. Backward: sumToShape. */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  checkFloat('broadcastTo', 'x', x);
  const full = broadcastShapes('broadcastTo', x.shape, shape);
  if (!sameShape(full, shape)) {
    throw new RangeError(`broadcastTo: cannot broadcast ${formatShape(x.shape)} to ${formatShape(shape)}`);
  }
  const aligned = [...shape.slice(0, shape.length - x.shape.length).map(() => 1), ...x.shape];
  const out = broadcastRaw(x, aligned, shape);
  record('broadcastTo', [x], [out], ([g]) => [reduceTo(g!, x.shape, false)]);
  return out;
}

function checkInPlace(op: string, y: Tensor, x: Tensor): void {
  checkFloat(op, 'y', y);
  checkFloat(op, 'x', x);
  if (!sameShape(y.shape, x.shape)) {
    throw new RangeError(`${op}: shapes differ: y ${formatShape(y.shape)}, x ${formatShape(x.shape)}`);
  }
}

/** y += alpha * x, in place and not recorded (for the autograd engine and optimizers). */
export function axpyInPlace(y: Tensor, x: Tensor, alpha: number): void {
  checkInPlace('axpyInPlace', y, x);
  checkScalar('axpyInPlace', 'alpha', alpha);
  native.axpy(y.storage, x.storage, y.size, alpha);
}

/** y += x, in place and not recorded. */
export function addInPlace(y: Tensor, x: Tensor): void {
  checkInPlace('addInPlace', y, x);
  native.axpy(y.storage, x.storage, y.size, 1);
}
