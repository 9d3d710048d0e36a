import { describe, expect, it } from 'vitest';

import { noGrad, record } from '../../lib/autograd.js';
import { lstmCell } from '../../lib/ops/lstm.js';
import { Tensor } from '../../lib/tensor.js';
import { expectClose, gradCheck, randomArray, randomTensor } from '../helpers.js';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

function refCell(gp: Float32Array, cp: Float32Array, B: number, H: number): { h: Float32Array; c: Float32Array } {
  const h = new Float32Array(B * H);
  const c = new Float32Array(B * H);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < H; j++) {
      const row = b * 4 * H;
      const i = sigmoid(gp[row + j]!);
      const f = sigmoid(gp[row + H + j]!);
      const g = Math.tanh(gp[row + 2 * H + j]!);
      const o = sigmoid(gp[row + 3 * H + j]!);
      const cn = f * cp[b * H + j]! + i * g;
      c[b * H + j] = cn;
      h[b * H + j] = o * Math.tanh(cn);
    }
  }
  return { h, c };
}

// sum_k <outs[k], R_k> as ONE differentiable scalar. helpers.gradCheck projects each output and
// calls backward once per output, but the first backward releases the shared node, so the
// second output of a multi-output op (h and c here) would get no gradient; one root avoids that.
function projectSum(outs: Tensor[], seed = 777): Tensor {
  const rs = outs.map((o, k) => randomArray(o.size, seed + 31 * k));
  let s = 0;
  outs.forEach((o, k) => {
    const v = o.toArray();
    for (let i = 0; i < v.length; i++) s += v[i]! * rs[k]![i]!;
  });
  const out = Tensor.scalar(s);
  record('projectSum', outs, [out], ([g]) => {
    const up = g!.item();
    return outs.map((o, k) => Tensor.fromArray(rs[k]!.map((x) => x * up), o.shape));
  });
  return out;
}

describe('lstmCell', () => {
  const cases: [number, number][] = [
    [1, 1],
    [3, 7],
    [2, 13],
    [5, 37],
    [64, 65],
  ];
  for (const [B, H] of cases) {
    it(`forward matches a plain reference: B=${B} H=${H}`, () => {
      const gp = randomTensor([B, 4 * H], B * 100 + H, -3, 3);
      const cp = randomTensor([B, H], B * 100 + H + 1, -2, 2);
      const { h, c } = lstmCell(gp, cp);
      expect(h.shape).toEqual([B, H]);
      expect(c.shape).toEqual([B, H]);
      const ref = refCell(gp.toArray() as Float32Array, cp.toArray() as Float32Array, B, H);
      expectClose(h.toArray(), ref.h, { atol: 1e-6, what: 'h' });
      expectClose(c.toArray(), ref.c, { atol: 1e-6, what: 'c' });
    });
  }

  for (const [B, H] of [
    [1, 1],
    [3, 7],
    [2, 13],
  ] as const) {
    it(`gradients through h and c match finite differences: B=${B} H=${H}`, () => {
      gradCheck(
        (gp, cp) => {
          const { h, c } = lstmCell(gp!, cp!);
          return projectSum([h, c]);
        },
        [randomTensor([B, 4 * H], 11 + H, -2, 2), randomTensor([B, H], 12 + H, -1.5, 1.5)],
        { maxChecks: 40 },
      );
    });
  }

  it('gradients through two chained steps (c feeds the next cell) match finite differences', () => {
    const B = 2;
    const H = 5;
    gradCheck(
      (gp1, gp2, c0) => {
        const s1 = lstmCell(gp1!, c0!);
        const s2 = lstmCell(gp2!, s1.c);
        return projectSum([s1.h, s2.h, s2.c]);
      },
      [randomTensor([B, 4 * H], 21, -2, 2), randomTensor([B, 4 * H], 22, -2, 2), randomTensor([B, H], 23)],
      { eps: 1e-3, maxChecks: 40 },
    );
  });

  it('only h used: the unused c gets a zero gradient and cPrev without grad gets none', () => {
    const gp = randomTensor([2, 12], 31).requireGrad();
    const cp = randomTensor([2, 3], 32);
    const { h } = lstmCell(gp, cp);
    h.backward(Tensor.ones([2, 3]));
    expect(gp.grad!.shape).toEqual([2, 12]);
    expect(cp.grad).toBeNull();
    expect(Array.from(gp.grad!.toArray()).every(Number.isFinite)).toBe(true);
  });

  it('records nothing without grad', () => {
    const gp = randomTensor([2, 8], 41).requireGrad();
    const { h, c } = noGrad(() => lstmCell(gp, randomTensor([2, 2], 42)));
    expect(h._node).toBeNull();
    expect(c._node).toBeNull();
  });

  it('rejects bad inputs with clear errors', () => {
    const cp = randomTensor([2, 3], 1);
    expect(() => lstmCell(randomTensor([2, 9], 2), cp)).toThrow(/gatesPre \[2,9\] must be \[2,12\]/);
    expect(() => lstmCell(randomTensor([3, 12], 2), cp)).toThrow(RangeError);
    expect(() => lstmCell(randomTensor([24], 2), cp)).toThrow(/must be \(B,4H\)/);
    expect(() => lstmCell(Tensor.zeros([2, 12], 'int32'), cp)).toThrow(/must be float32/);
    const gone = randomTensor([2, 12], 3);
    gone.dispose();
    expect(() => lstmCell(gone, cp)).toThrow(/disposed/);
  });
});
