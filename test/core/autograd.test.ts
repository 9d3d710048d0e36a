import { describe, expect, it } from 'vitest';

import {
  Tensor,
  add,
  crossEntropy,
  embedding,
  matmul,
  memory,
  mul,
  noGrad,
  sum,
  tanh,
  tidy,
  zeroGrad,
} from '../../lib/index.js';
import { expectClose, gradCheck, randomIds, randomTensor } from '../helpers.js';

describe('autograd tape', () => {
  it('matches finite differences on a small composite network (embedding -> linear -> tanh -> linear -> cross-entropy)', () => {
    const V = 11;
    const C = 5;
    const ctx = 3;
    const H = 7;
    const B = 4;
    const table = randomTensor([V, C], 1);
    const w1 = randomTensor([H, ctx * C], 2, -0.5, 0.5);
    const b1 = randomTensor([H], 3);
    const w2 = randomTensor([V, H], 4, -0.5, 0.5);
    const ids = randomIds([B, ctx], V, 5);
    const targets = randomIds([B], V, 6);
    const net = (tab: Tensor, a: Tensor, b: Tensor, c: Tensor): Tensor => {
      const x = embedding(tab, ids).reshape([B, ctx * C]);
      const h = tanh(add(matmul(x, a, { transB: true }), b));
      return crossEntropy(matmul(h, c, { transB: true }), targets);
    };
    gradCheck(net, [table, w1, b1, w2], { eps: 1e-2, maxChecks: 30 });
  });

  it('accumulates gradients across backward calls until zeroGrad', () => {
    const w = Tensor.fromArray([1, 2, 3]).requireGrad();
    const x = Tensor.fromArray([4, 5, 6]);
    tidy(() => sum(mul(w, x)).backward());
    expectClose(w.grad!.toArray(), [4, 5, 6]);
    tidy(() => sum(mul(w, x)).backward());
    expectClose(w.grad!.toArray(), [8, 10, 12]);
    zeroGrad([w]);
    expect(w.grad).toBeNull();
    tidy(() => sum(mul(w, w)).backward());
    expectClose(w.grad!.toArray(), [2, 4, 6]);
  });

  it('sums the gradients of a tensor used on several paths (diamond)', () => {
    const x = Tensor.fromArray([0.5, -1, 2]).requireGrad();
    tidy(() => {
      const a = tanh(x);
      const y = sum(add(mul(a, a), mul(a, x)));
      y.backward();
    });
    // d/dx [tanh(x)^2 + tanh(x) x] = 2 t (1-t^2) + (1-t^2) x + t
    const expected = [0.5, -1, 2].map((v) => {
      const t = Math.tanh(v);
      return 2 * t * (1 - t * t) + (1 - t * t) * v + t;
    });
    expectClose(x.grad!.toArray(), expected, { atol: 1e-5 });
  });

  it('records nothing under noGrad and explains why backward cannot run', () => {
    const w = Tensor.fromArray([1, 2]).requireGrad();
    const y = noGrad(() => sum(mul(w, w)));
    expect(y._node).toBeNull();
    expect(() => y.backward()).toThrow(/does not require a gradient/);
  });

  it('rejects a second backward through the same graph and a non-scalar root without a gradient', () => {
    const w = Tensor.fromArray([1, 2]).requireGrad();
    const m = mul(w, w);
    expect(() => m.backward()).toThrow(/not a scalar/);
    const y = sum(m);
    y.backward();
    expect(() => y.backward()).toThrow(/does not require a gradient|already used/);
    expect(() => m.backward(Tensor.ones([3]))).toThrow(/gradient shape/);
  });

  it('frees intermediate tensors and gradients: memory returns to its baseline', () => {
    const w = randomTensor([16, 16], 9).requireGrad();
    const x = randomTensor([8, 16], 10);
    const base = memory();
    for (let i = 0; i < 20; i++) {
      tidy(() => sum(tanh(matmul(x, w))).backward());
      zeroGrad([w]);
    }
    const after = memory();
    expect(after.tensors).toBe(base.tensors);
    expect(after.bytes).toBe(base.bytes);
  });
});
