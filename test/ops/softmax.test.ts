import { describe, expect, it } from 'vitest';

import { Tensor, logSoftmax, native, noGrad, softmax, tidy } from '../../lib/index.js';
import { expectClose, gradCheck, randomArray, randomTensor } from '../helpers.js';

// Plain float64 references over the last axis.
function refRows(x: Float32Array, C: number, log: boolean): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / C; r++) {
    let m = -Infinity;
    for (let i = 0; i < C; i++) m = Math.max(m, x[r * C + i]!);
    let s = 0;
    for (let i = 0; i < C; i++) s += Math.exp(x[r * C + i]! - m);
    for (let i = 0; i < C; i++) {
      const v = x[r * C + i]! - m;
      out[r * C + i] = log ? v - Math.log(s) : Math.exp(v) / s;
    }
  }
  return out;
}

const shapes: number[][] = [[1], [1, 1], [5], [3, 7], [2, 13], [5, 37], [4, 3, 17], [2, 100], [1, 1000], [67, 9]];

describe('softmax / logSoftmax forward', () => {
  for (const shape of shapes) {
    it(`matches the reference on ${JSON.stringify(shape)}`, () => {
      tidy(() => {
        const x = randomTensor(shape, shape.length * 31 + shape[shape.length - 1]!, -5, 5);
        const C = shape[shape.length - 1]!;
        const xs = x.toArray() as Float32Array;
        const y = softmax(x);
        const ly = logSoftmax(x);
        expect(y.shape).toEqual(shape);
        expectClose(y.toArray(), refRows(xs, C, false), { atol: 1e-6, rtol: 1e-5, what: 'softmax' });
        expectClose(ly.toArray(), refRows(xs, C, true), { atol: 1e-5, rtol: 1e-5, what: 'logSoftmax' });
      });
    });
  }

  it('is stable for large logits and gives exact zeros for -Infinity entries', () => {
    tidy(() => {
      const data = Float32Array.from([1000, 999, -1000, 0, -Infinity, 3e4, 3e4 - 1, -Infinity, 5, 7, 9, 11]);
      const x = Tensor.fromArray(data, [2, 6]);
      const y = softmax(x).toArray();
      const ly = logSoftmax(x).toArray();
      expect(y.every((v) => Number.isFinite(v))).toBe(true);
      expect(y[4]).toBe(0);
      expect(y[7]).toBe(0);
      expect(ly[4]).toBe(-Infinity);
      expectClose(y, refRows(data, 6, false), { atol: 1e-6, what: 'softmax' });
      const finite = Array.from(ly).map((v, i) => (Number.isFinite(v) ? v : 0));
      const ref = Array.from(refRows(data, 6, true)).map((v) => (Number.isFinite(v) ? v : 0));
      expectClose(finite, ref, { atol: 1e-4, what: 'logSoftmax' });
      // A row of all -inf is NaN (as in PyTorch).
      const masked = softmax(Tensor.fromArray([-Infinity, -Infinity, -Infinity], [1, 3])).toArray();
      expect(Number.isNaN(masked[0])).toBe(true);
    });
  });

  it('rows sum to one and exp(logSoftmax) equals softmax', () => {
    tidy(() => {
      const x = randomTensor([11, 29], 5, -8, 8);
      const y = softmax(x).toArray();
      const ly = logSoftmax(x).toArray();
      for (let r = 0; r < 11; r++) {
        let s = 0;
        for (let i = 0; i < 29; i++) s += y[r * 29 + i]!;
        expect(Math.abs(s - 1)).toBeLessThan(1e-5);
      }
      expectClose(Array.from(ly).map(Math.exp), y, { atol: 1e-6, rtol: 1e-5, what: 'exp(logSoftmax)' });
    });
  });

  it('handles an empty tensor', () => {
    tidy(() => {
      expect(softmax(Tensor.zeros([0, 5])).shape).toEqual([0, 5]);
      expect(logSoftmax(Tensor.zeros([3, 0])).shape).toEqual([3, 0]);
    });
  });
});

describe('softmax / logSoftmax gradients', () => {
  for (const shape of [[1], [3, 7], [2, 13], [2, 3, 5]]) {
    it(`softmax matches finite differences on ${JSON.stringify(shape)}`, () => {
      const x = randomTensor(shape, 7, -2, 2);
      gradCheck((a) => softmax(a), [x], { eps: 1e-2, atol: 1e-3 });
      x.dispose();
    });
    it(`logSoftmax matches finite differences on ${JSON.stringify(shape)}`, () => {
      const x = randomTensor(shape, 9, -2, 2);
      gradCheck((a) => logSoftmax(a), [x], { eps: 1e-2, atol: 1e-3 });
      x.dispose();
    });
  }

  it('backward kernels match the closed forms on a wide row (vectorised path and tail)', () => {
    tidy(() => {
      const N = 3;
      const C = 45;
      const x = randomTensor([N, C], 3, -3, 3);
      const g = randomArray(N * C, 4);
      const y = noGrad(() => softmax(x));
      const ly = noGrad(() => logSoftmax(x));
      const dx = Tensor.empty([N, C]);
      const ldx = Tensor.empty([N, C]);
      native.softmax_backward(dx.storage, Tensor.fromArray(g, [N, C]).storage, y.storage, N, C);
      native.log_softmax_backward(ldx.storage, Tensor.fromArray(g, [N, C]).storage, ly.storage, N, C);
      const ys = y.toArray();
      const ref = new Float64Array(N * C);
      const lref = new Float64Array(N * C);
      for (let r = 0; r < N; r++) {
        let dot = 0;
        let sum = 0;
        for (let i = 0; i < C; i++) {
          dot += g[r * C + i]! * ys[r * C + i]!;
          sum += g[r * C + i]!;
        }
        for (let i = 0; i < C; i++) {
          ref[r * C + i] = ys[r * C + i]! * (g[r * C + i]! - dot);
          lref[r * C + i] = g[r * C + i]! - ys[r * C + i]! * sum;
        }
      }
      expectClose(dx.toArray(), ref, { atol: 1e-6, what: 'softmax dinp' });
      expectClose(ldx.toArray(), lref, { atol: 1e-5, what: 'logSoftmax dinp' });
    });
  });
});

describe('softmax / logSoftmax bad inputs', () => {
  it('rejects int32, scalar and disposed tensors with clear errors', () => {
    const ids = Tensor.fromArray(Int32Array.from([1, 2, 3]), [3], 'int32');
    expect(() => softmax(ids)).toThrow(/softmax: expected a float32 tensor/);
    expect(() => logSoftmax(Tensor.scalar(1))).toThrow(/logSoftmax: expected at least 1 dimension/);
    const x = Tensor.ones([2, 3]);
    x.dispose();
    expect(() => softmax(x)).toThrow(/softmax: .*has been disposed/);
    ids.dispose();
  });

  it('the bindings reject wrong sizes, dtypes and argument counts', () => {
    tidy(() => {
      const x = Tensor.ones([2, 3]);
      const out = Tensor.empty([2, 3]);
      expect(() => native.softmax_forward(out.storage, x.storage, 3, 3)).toThrow(/softmax_forward: out must have 9 elements/);
      const ids = Tensor.zeros([6], 'int32');
      expect(() => native.log_softmax_forward(out.storage, ids.storage, 2, 3)).toThrow(/log_softmax_forward: inp must be float32/);
      expect(() => native.softmax_backward(out.storage, x.storage, x.storage, 2, -3)).toThrow(/C must be >= 0/);
      expect(() => (native.softmax_forward as unknown as (...a: unknown[]) => void)(out.storage, x.storage, 2)).toThrow(
        /expected 4 arguments/,
      );
    });
  });
});
