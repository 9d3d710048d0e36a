import { describe, expect, it } from 'vitest';

import { noGrad, tidy } from '../../lib/index.js';
import { causalConv1d } from '../../lib/ops/conv.js';
import { Tensor } from '../../lib/tensor.js';
import { expectClose, gradCheck, randomTensor } from '../helpers.js';

function refConv(x: Float32Array, w: Float32Array, bias: Float32Array, B: number, T: number, C: number, K: number): Float32Array {
  const y = new Float32Array(B * T * C);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < C; c++) {
        let s = bias[c]!;
        for (let k = 0; k < K; k++) {
          const u = t - K + 1 + k;
          if (u >= 0) s += w[c * K + k]! * x[(b * T + u) * C + c]!;
        }
        y[(b * T + t) * C + c] = s;
      }
    }
  }
  return y;
}

const cases: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [2, 5, 3, 4],
  [3, 2, 7, 4], // K > T
  [1, 9, 17, 3],
  [4, 33, 40, 4],
  [2, 70, 130, 5],
];

describe('causalConv1d', () => {
  for (const [B, T, C, K] of cases) {
    it(`forward matches a plain reference: B=${B} T=${T} C=${C} K=${K}`, () => {
      tidy(() => {
        const x = randomTensor([B, T, C], 1 + T);
        const w = randomTensor([C, K], 2 + C);
        const bias = randomTensor([C], 3 + K);
        const y = noGrad(() => causalConv1d(x, w, bias));
        expect(y.shape).toEqual([B, T, C]);
        const ref = refConv(x.toArray() as Float32Array, w.toArray() as Float32Array, bias.toArray() as Float32Array, B, T, C, K);
        expectClose(y.toArray(), ref, { atol: 1e-5, what: 'y' });
      });
    });
  }

  for (const [B, T, C, K] of [
    [1, 1, 1, 1],
    [2, 5, 3, 4],
    [3, 2, 7, 4],
    [2, 11, 20, 3],
  ] as const) {
    it(`gradients match finite differences: B=${B} T=${T} C=${C} K=${K}`, () => {
      gradCheck((x, w, b) => causalConv1d(x!, w!, b!), [randomTensor([B, T, C], 7), randomTensor([C, K], 8), randomTensor([C], 9)], {
        maxChecks: 30,
      });
    });
  }

  it('is causal: y[t] does not depend on x[t+1..]', () => {
    tidy(() => {
      const x = randomTensor([1, 6, 3], 4);
      const w = randomTensor([3, 4], 5);
      const b = randomTensor([3], 6);
      const y1 = noGrad(() => causalConv1d(x, w, b)).toArray();
      x.storage.write(Float32Array.of(9, 9, 9), 3 * 3);
      const y2 = noGrad(() => causalConv1d(x, w, b)).toArray();
      expectClose(y2.slice(0, 9), y1.slice(0, 9), { atol: 0, rtol: 0, what: 'y[t<3]' });
      expect(y2[9]).not.toBe(y1[9]);
    });
  });

  it('parameter gradients accumulate; rejects bad shapes', () => {
    const x = randomTensor([2, 4, 3], 1);
    const w = randomTensor([3, 2], 2).requireGrad();
    const b = randomTensor([3], 3).requireGrad();
    const run = (): void => tidy(() => causalConv1d(x, w, b).backward(Tensor.ones([2, 4, 3])));
    run();
    const w1 = Array.from(w.grad!.toArray());
    const b1 = Array.from(b.grad!.toArray());
    expectClose(b1, [8, 8, 8], { what: 'dbias' });
    run();
    expectClose(w.grad!.toArray(), w1.map((v) => 2 * v), { what: 'dweight' });
    expectClose(b.grad!.toArray(), b1.map((v) => 2 * v), { what: 'dbias x2' });
    expect(() => causalConv1d(x, randomTensor([4, 2], 1), b)).toThrow(/causalConv1d: weight must be \(C,K\)/);
    expect(() => causalConv1d(x, w, randomTensor([2], 1))).toThrow(/causalConv1d/);
    expect(() => causalConv1d(x.reshape([8, 3]), w, b)).toThrow(/x \(B,T,C\)/);
    expect(() => causalConv1d(x, Tensor.zeros([3, 0]), b)).toThrow(/K must be >= 1/);
    expect(() => causalConv1d(Tensor.zeros([2, 4, 3], 'int32'), w, b)).toThrow(/x must be float32/);
  });
});
