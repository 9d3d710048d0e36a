import { describe, expect, it } from 'vitest';

import { native } from '../../lib/native/index.js';
import {
  add,
  addInPlace,
  addScalar,
  axpyInPlace,
  broadcastShapes,
  broadcastTo,
  div,
  exp,
  log,
  mul,
  mulScalar,
  neg,
  pow,
  scale,
  sqrt,
  square,
  sub,
} from '../../lib/ops/elementwise.js';
import { Tensor } from '../../lib/tensor.js';
import { expectClose, gradCheck, randomArray, randomTensor } from '../helpers.js';

type Op = 'add' | 'sub' | 'mul' | 'div';
const fns = { add, sub, mul, div };
const ref = {
  add: (x: number, y: number) => x + y,
  sub: (x: number, y: number) => x - y,
  mul: (x: number, y: number) => x * y,
  div: (x: number, y: number) => x / y,
};

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Plain broadcasting reference, rounded through float32 like the kernel. */
function refBinary(op: Op, A: ArrayLike<number>, as: number[], B: ArrayLike<number>, bs: number[]) {
  const n = Math.max(as.length, bs.length);
  const pa = [...new Array<number>(n - as.length).fill(1), ...as];
  const pb = [...new Array<number>(n - bs.length).fill(1), ...bs];
  const shape = pa.map((d, i) => (d === 1 ? pb[i]! : d));
  const out = new Float32Array(size(shape));
  const idx = new Array<number>(n).fill(0);
  for (let k = 0; k < out.length; k++) {
    let rem = k;
    for (let d = n - 1; d >= 0; d--) {
      idx[d] = rem % shape[d]!;
      rem = Math.floor(rem / shape[d]!);
    }
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < n; d++) {
      ia = ia * pa[d]! + (pa[d] === 1 ? 0 : idx[d]!);
      ib = ib * pb[d]! + (pb[d] === 1 ? 0 : idx[d]!);
    }
    out[k] = ref[op](A[ia]!, B[ib]!);
  }
  return { shape, out };
}

/** Random values bounded away from 0 (for divisors). */
function awayFromZero(shape: number[], seed: number): Tensor {
  const v = randomArray(size(shape), seed, 0.5, 1.5);
  const s = randomArray(size(shape), seed + 1);
  for (let i = 0; i < v.length; i++) if (s[i]! < 0) v[i] = -v[i]!;
  return Tensor.fromArray(v, shape);
}

const shapePairs: [number[], number[]][] = [
  [[7, 13], [7, 13]], // same shape
  [[37, 13], [13]], // bias add (row broadcast)
  [[5, 1], [5, 7]], // column broadcast on the left operand
  [[], [3, 4]], // scalar
  [[1], [2, 3]],
  [[3, 1, 7], [1, 13, 1]], // outer-product broadcast
  [[13], [4, 1, 13]], // lower rank on the left
  [[2, 1, 3, 1, 2, 3], [1, 4, 1, 5, 1, 3]], // rank 6
  [[0, 3], [3]], // empty
  [[1, 1], [1, 1]],
];

describe('binary ops with broadcasting', () => {
  for (const op of ['add', 'sub', 'mul', 'div'] as const) {
    for (const [as, bs] of shapePairs) {
      it(`${op} ${JSON.stringify(as)} ${JSON.stringify(bs)}: forward and gradients`, () => {
        const a = randomTensor(as, 3 + as.length);
        const b = op === 'div' ? awayFromZero(bs, 11) : randomTensor(bs, 5 + bs.length);
        const out = fns[op](a, b);
        const r = refBinary(op, a.toArray(), as, b.toArray(), bs);
        expect(out.shape).toEqual(r.shape);
        expectClose(out.toArray(), r.out, { atol: 0, rtol: op === 'div' ? 1e-6 : 0 });
        if (out.size > 0) gradCheck((x, y) => fns[op](x!, y!), [a, b], { maxChecks: 12 });
      });
    }
  }

  it('large inputs match the reference (threaded same-shape, bias and general paths)', () => {
    for (const [as, bs] of [
      [[300, 257], [257]],
      [[100003], [100003]],
      [[41, 1, 53], [1, 67, 53]],
      [[257, 300], [257, 1]],
    ] as [number[], number[]][]) {
      const a = randomTensor(as, 1);
      const b = randomTensor(bs, 2);
      for (const op of ['add', 'mul'] as const) {
        expectClose(fns[op](a, b).toArray(), refBinary(op, a.toArray(), as, b.toArray(), bs).out, { atol: 0, rtol: 0 });
      }
    }
  });

  it('reduces broadcast gradients exactly: d(sum(a + bias))/dbias counts rows', () => {
    const a = randomTensor([37, 13], 1).requireGrad();
    const bias = randomTensor([13], 2).requireGrad();
    add(a, bias).backward(Tensor.ones([37, 13]));
    expect(Array.from(bias.grad!.toArray())).toEqual(new Array(13).fill(37));
    expect(Array.from(a.grad!.toArray())).toEqual(new Array(37 * 13).fill(1));
  });

  it('x * x gets both gradient contributions', () => {
    const x = Tensor.fromArray([1, -2, 3]).requireGrad();
    mul(x, x).backward(Tensor.ones([3]));
    expect(Array.from(x.grad!.toArray())).toEqual([2, -4, 6]);
  });

  it('accepts a number as the right operand', () => {
    const x = randomTensor([7, 3], 9);
    const xs = x.toArray();
    expectClose(add(x, 2).toArray(), Array.from(xs, (v) => Math.fround(v + 2)), { atol: 0, rtol: 0 });
    expectClose(sub(x, 2).toArray(), Array.from(xs, (v) => Math.fround(v - 2)), { atol: 0, rtol: 0 });
    expectClose(mul(x, 3).toArray(), Array.from(xs, (v) => Math.fround(v * 3)), { atol: 0, rtol: 0 });
    expectClose(div(x, 4).toArray(), Array.from(xs, (v) => v / 4), { atol: 0, rtol: 1e-7 });
    gradCheck((t) => div(sub(mul(add(t!, 2), 3), 1), 5), [x]);
  });

  it('broadcastShapes follows NumPy rules', () => {
    expect(broadcastShapes('t', [3, 1, 5], [4, 1])).toEqual([3, 4, 5]);
    expect(broadcastShapes('t', [], [2])).toEqual([2]);
    expect(broadcastShapes('t', [0, 1], [1, 3])).toEqual([0, 3]);
  });

  it('broadcastTo copies and its gradient sums back', () => {
    const x = randomTensor([3, 1], 4);
    const y = broadcastTo(x, [2, 3, 5]);
    expect(y.shape).toEqual([2, 3, 5]);
    const xs = x.toArray();
    expect(Array.from(y.toArray())).toEqual(Array.from({ length: 30 }, (_, k) => xs[Math.floor(k / 5) % 3]!));
    gradCheck((t) => broadcastTo(t!, [2, 3, 5]), [x]);
    expect(() => broadcastTo(x, [2, 2])).toThrow(/do not broadcast/);
    expect(() => broadcastTo(x, [1])).toThrow(/broadcastTo: cannot broadcast \[3,1\] to \[1\]/);
  });
});

describe('scalar and unary ops', () => {
  const x = randomTensor([13, 7], 21);
  const xs = Array.from(x.toArray());
  const pos = randomTensor([37], 22, 0.2, 3);
  const ps = Array.from(pos.toArray());

  it('addScalar, mulScalar, scale, neg: forward and gradients', () => {
    expectClose(addScalar(x, 1.5).toArray(), xs.map((v) => Math.fround(v + 1.5)), { atol: 0, rtol: 0 });
    expectClose(mulScalar(x, -3).toArray(), xs.map((v) => Math.fround(v * -3)), { atol: 0, rtol: 0 });
    expectClose(scale(x, 0.5).toArray(), xs.map((v) => v * 0.5), { atol: 0, rtol: 0 });
    expectClose(neg(x).toArray(), xs.map((v) => -v), { atol: 0, rtol: 0 });
    gradCheck((t) => addScalar(t!, 1.5), [x]);
    gradCheck((t) => mulScalar(t!, -3), [x]);
    gradCheck((t) => scale(t!, 0.5), [x]);
    gradCheck((t) => neg(t!), [x]);
  });

  it('exp, log, sqrt, square, pow: forward vs Math and gradients', () => {
    expectClose(exp(x).toArray(), xs.map(Math.exp), { atol: 0, rtol: 3e-7 });
    expectClose(log(pos).toArray(), ps.map(Math.log), { atol: 1e-7, rtol: 1e-6 });
    expectClose(sqrt(pos).toArray(), ps.map(Math.sqrt), { atol: 0, rtol: 1e-7 });
    expectClose(square(x).toArray(), xs.map((v) => Math.fround(v * v)), { atol: 0, rtol: 0 });
    for (const p of [2, 3, 1, 0, -1, 0.5, 1.7, -2.5]) {
      expectClose(pow(pos, p).toArray(), ps.map((v) => v ** p), { atol: 1e-7, rtol: 1e-6, what: `pow ${p}` });
      gradCheck((t) => pow(t!, p), [pos], { maxChecks: 8 });
    }
    gradCheck((t) => exp(t!), [x]);
    gradCheck((t) => log(t!), [pos]);
    gradCheck((t) => sqrt(t!), [pos]);
    gradCheck((t) => square(t!), [x]);
  });

  it('exp is accurate over the whole float range and handles the limits', () => {
    const v = new Float32Array(20001);
    for (let i = 0; i < v.length; i++) v[i] = -87 + (175 * i) / (v.length - 1);
    const e = exp(Tensor.fromArray(v)).toArray();
    expectClose(e, Array.from(v, (t) => Math.fround(Math.exp(t))), { atol: 0, rtol: 3e-7 });
    const special = exp(Tensor.fromArray([Infinity, -Infinity, NaN, 100, -120, 0])).toArray();
    expect(Array.from(special)).toEqual([Infinity, 0, NaN, Infinity, 0, 1]);
  });

  it('large unary inputs run threaded and match', () => {
    const big = randomTensor([70001], 5, -3, 3);
    const bs = big.toArray();
    expectClose(exp(big).toArray(), Array.from(bs, Math.exp), { atol: 0, rtol: 3e-7 });
    expectClose(mulScalar(big, 2).toArray(), Array.from(bs, (t) => 2 * t), { atol: 0, rtol: 0 });
  });
});

describe('in-place ops for the engine', () => {
  it('axpyInPlace and addInPlace update y and record nothing', () => {
    const y = randomTensor([37, 3], 1);
    const x = randomTensor([37, 3], 2).requireGrad();
    const ys = y.toArray();
    const xv = x.toArray();
    axpyInPlace(y, x, -0.5);
    expectClose(y.toArray(), Array.from(ys, (v, i) => Math.fround(v + -0.5 * xv[i]!)), { atol: 0, rtol: 1e-7 });
    addInPlace(y, x);
    expectClose(y.toArray(), Array.from(ys, (v, i) => v + 0.5 * xv[i]!), { atol: 1e-6, rtol: 1e-6 });
    expect(y._node).toBeNull();
    const big = Tensor.zeros([100000]);
    axpyInPlace(big, Tensor.ones([100000]), 3);
    expect(big.toArray().every((v) => v === 3)).toBe(true);
  });
});

describe('bad inputs throw clear errors', () => {
  it('shapes that do not broadcast', () => {
    expect(() => add(Tensor.zeros([2, 3]), Tensor.zeros([4]))).toThrow(
      /add: shapes \[2,3\] and \[4\] do not broadcast \(dimension 1: 3 vs 4\)/,
    );
    expect(() => mul(Tensor.zeros([2, 3]), Tensor.zeros([3, 3]))).toThrow(/do not broadcast/);
  });

  it('rank above 6', () => {
    expect(() => add(Tensor.zeros([1, 1, 1, 1, 1, 1, 2]), Tensor.zeros([2]))).toThrow(/rank 7/);
  });

  it('wrong dtype, disposed tensors, non-tensors', () => {
    const i = Tensor.fromArray(new Int32Array([1, 2]));
    expect(() => add(i, Tensor.zeros([2]))).toThrow(/add: a must be float32/);
    expect(() => exp(i)).toThrow(/exp: x must be float32/);
    const d = Tensor.zeros([2]);
    d.dispose();
    expect(() => sub(Tensor.zeros([2]), d)).toThrow(/sub: b .*disposed/);
    expect(() => sqrt(d)).toThrow(/disposed/);
    expect(() => mul({} as Tensor, Tensor.zeros([2]))).toThrow(/mul: a must be a Tensor/);
    expect(() => mulScalar(Tensor.zeros([2]), '2' as unknown as number)).toThrow(/must be a number/);
    expect(() => pow(Tensor.zeros([2]), Infinity)).toThrow(/pow: p must be finite/);
  });

  it('in-place ops check shapes', () => {
    expect(() => axpyInPlace(Tensor.zeros([2, 3]), Tensor.zeros([3, 2]), 1)).toThrow(
      /axpyInPlace: shapes differ: y \[2,3\], x \[3,2\]/,
    );
    expect(() => addInPlace(Tensor.zeros([2]), Tensor.zeros([3]))).toThrow(/addInPlace: shapes differ/);
  });

  it('the native binding validates sizes, strides and the op name', () => {
    const a = Tensor.zeros([6]);
    const out = Tensor.zeros([6]);
    expect(() => native.binary_forward('add', out.storage, a.storage, a.storage, [2, 3], [3, 2], [3, 1])).toThrow(
      /binary_forward: a has 6 elements, the strides reach element 7/,
    );
    expect(() => native.binary_forward('add', out.storage, a.storage, a.storage, [2, 4], [4, 1], [4, 1])).toThrow(
      /binary_forward: out must have 8 elements/,
    );
    expect(() =>
      native.binary_forward('pow' as 'add', out.storage, a.storage, a.storage, [6], [1], [1]),
    ).toThrow(/op must be one of/);
    expect(() => native.binary_forward('add', out.storage, a.storage, a.storage, [6], [1, 0], [1])).toThrow(
      /aStrides must have one entry per dimension/,
    );
    expect(() => native.binary_forward('add', out.storage, a.storage, a.storage, [6], [-1], [1])).toThrow(
      /aStrides\[0\] must be an integer/,
    );
    expect(() => native.exp_forward(out.storage, a.storage, 7)).toThrow(/exp_forward: out must have 7 elements/);
    expect(() => native.axpy(out.storage, a.storage, 6, NaN)).toThrow(/axpy: alpha must be finite/);
  });
});
