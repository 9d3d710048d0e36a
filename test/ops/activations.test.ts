import { describe, expect, it } from 'vitest';

import { native } from '../../lib/native/index.js';
import { gelu, relu, sigmoid, silu, tanh } from '../../lib/ops/activations.js';
import { Tensor } from '../../lib/tensor.js';
import { expectClose, gradCheck, randomArray, randomTensor } from '../helpers.js';

const K = Math.sqrt(2 / Math.PI);
const sig = (x: number) => 1 / (1 + Math.exp(-x));

// Double-precision references: value and derivative.
const refs = {
  tanh: { f: Math.tanh, df: (x: number) => 1 - Math.tanh(x) ** 2 },
  sigmoid: { f: sig, df: (x: number) => sig(x) * (1 - sig(x)) },
  relu: { f: (x: number) => (x > 0 ? x : 0), df: (x: number) => (x > 0 ? 1 : 0) },
  // x * sigmoid(2u) is 0.5 x (1 + tanh(u)) without cancellation for negative x.
  gelu: {
    f: (x: number) => x * sig(2 * K * (x + 0.044715 * x ** 3)),
    df: (x: number) => {
      const u = K * (x + 0.044715 * x ** 3);
      const s = sig(2 * u);
      return s + 2 * x * s * (1 - s) * K * (1 + 3 * 0.044715 * x * x);
    },
  },
  silu: { f: (x: number) => x * sig(x), df: (x: number) => sig(x) * (1 + x * (1 - sig(x))) },
};
const ops = { tanh, sigmoid, relu, gelu, silu };
type Name = keyof typeof ops;
const names = Object.keys(ops) as Name[];

describe('activations', () => {
  for (const name of names) {
    describe(name, () => {
      for (const shape of [[1], [7], [13, 37], [3, 5, 17], [70001]]) {
        it(`forward and backward match the reference: ${JSON.stringify(shape)}`, () => {
          const x = randomTensor(shape, shape.length * 31 + shape[0]!, -6, 6);
          const xs = x.toArray();
          const out = ops[name](x);
          expect(out.shape).toEqual(shape);
          expectClose(out.toArray(), Array.from(xs, refs[name].f), { atol: 1e-7, rtol: 2e-6, what: name });
          x.requireGrad();
          const g = randomArray(x.size, 5);
          ops[name](x).backward(Tensor.fromArray(g, shape));
          expectClose(
            x.grad!.toArray(),
            Array.from(xs, (v, i) => g[i]! * refs[name].df(v)),
            { atol: 1e-6, rtol: 1e-5, what: `d${name}` },
          );
        });
      }

      it('gradient matches finite differences', () => {
        // Keep relu away from its kink at 0.
        const x = randomTensor([4, 9], 77, -3, 3);
        if (name === 'relu') {
          const v = x.toArray();
          x.storage.write(v.map((t) => (Math.abs(t) < 0.05 ? 0.5 : t)) as Float32Array);
        }
        gradCheck((t) => ops[name](t!), [x]);
      });

      it('is accurate over a dense sweep of [-10, 10] and stable at extremes', () => {
        const v = new Float32Array(40001);
        for (let i = 0; i < v.length; i++) v[i] = -10 + (20 * i) / (v.length - 1);
        expectClose(ops[name](Tensor.fromArray(v)).toArray(), Array.from(v, refs[name].f), {
          atol: 1e-7,
          rtol: name === 'gelu' ? 1e-5 : 1e-6, // gelu(-10) ~ 1e-40: rounding of x^3 dominates
          what: name,
        });
        const ext = ops[name](Tensor.fromArray([-1e30, -100, 100, 1e30, NaN])).toArray();
        expect(Array.from(ext).every((t, i) => (i === 4 ? Number.isNaN(t) : Number.isFinite(t)))).toBe(true);
      });
    });
  }

  it('exact values at special points', () => {
    const x = Tensor.fromArray([0, Infinity, -Infinity]);
    expect(Array.from(tanh(x).toArray())).toEqual([0, 1, -1]);
    expect(Array.from(sigmoid(x).toArray())).toEqual([0.5, 1, 0]);
    expect(Array.from(relu(x).toArray())).toEqual([0, Infinity, 0]);
    expect(Array.from(gelu(Tensor.fromArray([0, Infinity])).toArray())).toEqual([0, Infinity]);
    expect(Array.from(silu(Tensor.fromArray([0, Infinity])).toArray())).toEqual([0, Infinity]);
    // tanh keeps full relative accuracy near 0 (no 1 - e cancellation).
    const tiny = tanh(Tensor.fromArray([1e-6, -3e-5, 1e-30])).toArray();
    expectClose(tiny, [Math.tanh(1e-6), Math.tanh(-3e-5), 1e-30], { atol: 0, rtol: 2e-7 });
  });

  it('bad inputs throw clear errors', () => {
    const i = Tensor.fromArray(new Int32Array([1, 2]));
    for (const name of names) {
      expect(() => ops[name](i)).toThrow(new RegExp(`${name}: x must be float32`));
      const d = Tensor.zeros([3]);
      d.dispose();
      expect(() => ops[name](d)).toThrow(/disposed/);
      expect(() => ops[name](null as unknown as Tensor)).toThrow(/x must be a Tensor/);
    }
    const a = Tensor.zeros([4]);
    expect(() => native.gelu_forward(a.storage, Tensor.zeros([5]).storage, 4)).toThrow(
      /gelu_forward: inp must have 4 elements, got 5/,
    );
    expect(() => native.tanh_backward(a.storage, a.storage, i.storage, 4)).toThrow(
      /tanh_backward: out must be float32/,
    );
    expect(() => native.relu_forward(a.storage, a.storage, -1)).toThrow(/relu_forward: n must be >= 0/);
    expect(() => (native.silu_forward as (...args: unknown[]) => void)(a.storage, a.storage)).toThrow(
      /silu_forward: expected 3 arguments/,
    );
  });
});
