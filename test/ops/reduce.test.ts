import { describe, expect, it } from 'vitest';

import { native } from '../../lib/native/index.js';
import { argmax, max, mean, sum, sumToShape } from '../../lib/ops/reduce.js';
import { Tensor } from '../../lib/tensor.js';
import { expectClose, gradCheck, randomArray, randomTensor } from '../helpers.js';

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Reference axis reduction in double: returns (outer, inner) values. */
function refReduce(
  x: ArrayLike<number>,
  shape: number[],
  axis: number | undefined,
  fn: (vals: number[]) => number,
): number[] {
  if (axis === undefined) return [fn(Array.from(x))];
  const ax = axis < 0 ? axis + shape.length : axis;
  const outer = size(shape.slice(0, ax));
  const R = shape[ax]!;
  const inner = size(shape.slice(ax + 1));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const vals: number[] = [];
      for (let r = 0; r < R; r++) vals.push(x[(o * R + r) * inner + i]!);
      out.push(fn(vals));
    }
  }
  return out;
}
const refSum = (v: number[]) => v.reduce((a, b) => a + b, 0);
const refMean = (v: number[]) => refSum(v) / v.length;
const refArgmax = (v: number[]) => v.reduce((best, t, i) => (t > v[best]! ? i : best), 0);

const reducedShape = (shape: number[], axis: number | undefined, keep: boolean): number[] => {
  if (axis === undefined) return keep ? shape.map(() => 1) : [];
  const ax = axis < 0 ? axis + shape.length : axis;
  return keep ? shape.map((d, k) => (k === ax ? 1 : d)) : shape.filter((_, k) => k !== ax);
};

describe('sum and mean', () => {
  const cases: [number[], (number | undefined)[]][] = [
    [[7], [undefined, 0, -1]],
    [[13, 37], [undefined, 0, 1, -2]],
    [[2, 3, 5, 7], [0, 1, 2, 3, -1]],
    [[1, 1], [undefined, 0, 1]],
    [[], [undefined]],
    [[3, 1, 17], [1, 2]],
  ];
  for (const [shape, axes] of cases) {
    for (const axis of axes) {
      for (const keepDims of [false, true]) {
        it(`shape ${JSON.stringify(shape)} axis ${axis} keepDims ${keepDims}: forward and gradients`, () => {
          const x = randomTensor(shape, 3 + shape.length);
          const xs = x.toArray();
          const s = sum(x, axis, keepDims);
          const m = mean(x, axis, keepDims);
          const want = reducedShape(shape, axis, keepDims);
          expect(s.shape).toEqual(want);
          expect(m.shape).toEqual(want);
          expectClose(s.toArray(), refReduce(xs, shape, axis, refSum), { atol: 1e-6, rtol: 1e-6 });
          expectClose(m.toArray(), refReduce(xs, shape, axis, refMean), { atol: 1e-6, rtol: 1e-6 });
          gradCheck((t) => sum(t!, axis, keepDims), [x], { maxChecks: 10 });
          gradCheck((t) => mean(t!, axis, keepDims), [x], { maxChecks: 10 });
        });
      }
    }
  }

  it('the gradient is the upstream gradient broadcast (scaled by 1/R for mean)', () => {
    const x = randomTensor([3, 4], 1).requireGrad();
    sum(x, 1).backward(Tensor.fromArray([1, 2, 3]));
    expect(Array.from(x.grad!.toArray())).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
    x.grad = null;
    mean(x, 0).backward(Tensor.fromArray([3, 6, 9, 12]));
    expect(Array.from(x.grad!.toArray())).toEqual([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]);
  });

  it('empty axes: sum is 0, mean is NaN', () => {
    const x = Tensor.zeros([0, 3]);
    expect(Array.from(sum(x, 0).toArray())).toEqual([0, 0, 0]);
    expect(Array.from(mean(x, 0).toArray()).every(Number.isNaN)).toBe(true);
    expect(sum(x).item()).toBe(0);
    expect(sum(x, 1).shape).toEqual([0]);
  });

  it('large sums are accurate (double accumulation) on every threading path', () => {
    // 10^6 copies of 0.1f: float accumulation would be off by ~1%.
    const ones = Tensor.full([1000000], 0.1);
    expect(Math.abs(sum(ones).item() - 1e6 * Math.fround(0.1))).toBeLessThan(0.01);
    for (const [shape, axis] of [
      [[3, 100003], 1], // rows of contiguous sums
      [[1, 200003], 1], // one long row: split across threads
      [[100003, 3], 0], // few long columns: R split across threads
      [[20011, 300], 0], // column sums in chunks
      [[7, 5003, 13], 1],
    ] as [number[], number][]) {
      const x = randomTensor(shape, 9);
      expectClose(sum(x, axis).toArray(), refReduce(x.toArray(), shape, axis, refSum), {
        atol: 1e-4,
        rtol: 1e-6,
        what: `sum ${JSON.stringify(shape)} axis ${axis}`,
      });
    }
  });
});

describe('max and argmax', () => {
  for (const [shape, axis] of [
    [[7], 0],
    [[13, 37], 0],
    [[13, 37], -1],
    [[2, 3, 5, 7], 2],
    [[300, 301], 1],
    [[5, 4], undefined],
  ] as [number[], number | undefined][]) {
    it(`shape ${JSON.stringify(shape)} axis ${axis}: values, indices (first on ties) and gradient`, () => {
      // Quantised values so that ties happen.
      const v = randomArray(size(shape), 17).map((t) => Math.round(t * 4) / 4);
      const x = Tensor.fromArray(v, shape);
      expectClose(max(x, axis).toArray(), refReduce(v, shape, axis, (a) => Math.max(...a)), { atol: 0, rtol: 0 });
      const idx = argmax(x, axis, true);
      expect(idx.dtype).toBe('int32');
      expect(idx.shape).toEqual(reducedShape(shape, axis, true));
      expect(Array.from(idx.toArray())).toEqual(refReduce(v, shape, axis, refArgmax));
      // The gradient goes to the first maximum only.
      x.requireGrad();
      const out = max(x, axis);
      const g = randomArray(out.size, 3);
      out.backward(Tensor.fromArray(g, out.shape));
      const want = new Float32Array(x.size);
      const ax = axis === undefined ? 0 : axis < 0 ? axis + shape.length : axis;
      const outer = axis === undefined ? 1 : size(shape.slice(0, ax));
      const R = axis === undefined ? x.size : shape[ax]!;
      const inner = axis === undefined ? 1 : size(shape.slice(ax + 1));
      const ids = idx.toArray();
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) want[(o * R + ids[o * inner + i]!) * inner + i] = g[o * inner + i]!;
      }
      expect(Array.from(x.grad!.toArray())).toEqual(Array.from(want));
    });
  }

  it('gradient matches finite differences (distinct values)', () => {
    const x = Tensor.fromArray(Float32Array.from({ length: 24 }, (_, i) => ((i * 7) % 24) * 0.5 - 3), [4, 6]);
    gradCheck((t) => max(t!, 1), [x]);
    gradCheck((t) => max(t!, 0, true), [x]);
  });

  it('NaN propagates', () => {
    const x = Tensor.fromArray([1, NaN, 3, 2], [1, 4]);
    expect(Number.isNaN(max(x, 1).item())).toBe(true);
    expect(argmax(x, 1).item()).toBe(1);
  });
});

describe('sumToShape', () => {
  for (const [from, to] of [
    [[7, 13], [13]],
    [[7, 13], [7, 1]],
    [[2, 3, 5], [1, 3, 1]],
    [[2, 3, 5], [2, 1, 5]],
    [[4, 3, 2, 5, 2, 3], [3, 1, 5, 1, 3]],
    [[4, 3, 2, 5, 2, 3], [4, 1, 2, 1, 2, 1]],
    [[3, 4], [3, 4]],
    [[3, 4], []],
  ] as [number[], number[]][]) {
    it(`${JSON.stringify(from)} -> ${JSON.stringify(to)}`, () => {
      const x = randomTensor(from, from.length + to.length);
      const out = sumToShape(x, to);
      expect(out.shape).toEqual(to);
      // Reference: accumulate every element into its broadcast position.
      const aligned = [...new Array<number>(from.length - to.length).fill(1), ...to];
      const want = new Float64Array(size(to));
      const xs = x.toArray();
      for (let k = 0; k < xs.length; k++) {
        let rem = k;
        let j = 0;
        let mulr = 1;
        for (let d = from.length - 1; d >= 0; d--) {
          const i = rem % from[d]!;
          rem = Math.floor(rem / from[d]!);
          if (aligned[d] !== 1) j += i * mulr;
          mulr *= aligned[d]!;
        }
        want[j]! += xs[k]!;
      }
      expectClose(out.toArray(), want, { atol: 1e-5, rtol: 1e-6 });
      gradCheck((t) => sumToShape(t!, to), [x], { maxChecks: 8 });
    });
  }
});

describe('bad inputs throw clear errors', () => {
  it('axes out of range or not integers', () => {
    const x = Tensor.zeros([2, 3]);
    expect(() => sum(x, 2)).toThrow(/sum: axis 2 is out of range for a tensor of rank 2 \(expected -2 to 1\)/);
    expect(() => mean(x, -3)).toThrow(/mean: axis -3 is out of range/);
    expect(() => max(x, 1.5)).toThrow(/max: axis must be an integer/);
    expect(() => sum(Tensor.scalar(1), 0)).toThrow(/rank 0/);
  });

  it('wrong dtype, disposed, empty max, bad target shapes', () => {
    const i = Tensor.fromArray(new Int32Array([1, 2]));
    expect(() => sum(i)).toThrow(/sum: x must be float32/);
    const d = Tensor.zeros([2]);
    d.dispose();
    expect(() => mean(d)).toThrow(/mean: x .*disposed/);
    expect(() => max(Tensor.zeros([3, 0]), 1)).toThrow(/max: cannot reduce an empty axis 1/);
    expect(() => argmax(Tensor.zeros([0]))).toThrow(/argmax: cannot reduce an empty tensor/);
    expect(() => sumToShape(Tensor.zeros([2, 3]), [2])).toThrow(/sumToShape: cannot sum \[2,3\] to \[2\]/);
    expect(() => sumToShape(Tensor.zeros([3]), [2, 3])).toThrow(/higher-rank/);
  });

  it('the native binding validates sizes and indices', () => {
    const x = Tensor.zeros([6]);
    const o = Tensor.zeros([2]);
    expect(() => native.sum_axis_forward(o.storage, x.storage, 2, 4, 1, 1)).toThrow(
      /sum_axis_forward: inp must have 8 elements, got 6/,
    );
    const idx = Tensor.fromArray(new Int32Array([0, 3]));
    expect(() => native.max_axis_backward(x.storage, o.storage, idx.storage, 2, 3, 1)).toThrow(
      /max_axis_backward: idx\[1\] = 3 is out of range \[0, 3\)/,
    );
    expect(() => native.max_axis_forward(o.storage, o.storage, x.storage, 2, 3, 1)).toThrow(
      /max_axis_forward: idx must be int32/,
    );
    expect(() => native.sum_to_shape(o.storage, x.storage, [2, 3], [2, 2])).toThrow(
      /sum_to_shape: outShape\[1\] = 2 must be 1 or inShape\[1\] = 3/,
    );
    expect(() => native.sum_to_shape(o.storage, x.storage, [1, 1, 1, 1, 1, 1, 6], [1, 1, 1, 1, 1, 1, 2])).toThrow(
      /at most 6 are supported/,
    );
  });
});
