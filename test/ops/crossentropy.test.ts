import { describe, expect, it } from 'vitest';

import { noGrad } from '../../lib/autograd.js';
import { crossEntropy } from '../../lib/ops/crossentropy.js';
import { embedding } from '../../lib/ops/embedding.js';
import { Tensor } from '../../lib/tensor.js';
import { expectClose, gradCheck, randomTensor } from '../helpers.js';

const IGNORE = -100;

/** Targets in [0,V), with every `ignoreEvery`-th row set to the ignore index. */
function targetsFor(N: number, V: number, seed: number, ignoreEvery = 0, ignore = IGNORE): Tensor {
  const a = new Int32Array(N);
  for (let n = 0; n < N; n++) a[n] = ignoreEvery > 0 && n % ignoreEvery === ignoreEvery - 1 ? ignore : (n * 7 + seed) % V;
  return Tensor.fromArray(a, [N], 'int32');
}

function refLoss(x: Float32Array, t: Int32Array, V: number, mean: boolean, ignore = IGNORE): { loss: number; grad: Float32Array } {
  const N = t.length;
  const grad = new Float32Array(N * V);
  let s = 0;
  let valid = 0;
  for (let n = 0; n < N; n++) if (t[n] !== ignore) valid++;
  const scale = mean ? (valid ? 1 / valid : 0) : 1;
  for (let n = 0; n < N; n++) {
    if (t[n] === ignore) continue;
    let m = -Infinity;
    for (let j = 0; j < V; j++) m = Math.max(m, x[n * V + j]!);
    let z = 0;
    for (let j = 0; j < V; j++) z += Math.exp(x[n * V + j]! - m);
    s += Math.log(z) + m - x[n * V + t[n]!]!;
    for (let j = 0; j < V; j++) grad[n * V + j] = (Math.exp(x[n * V + j]! - m) / z - (j === t[n] ? 1 : 0)) * scale;
  }
  return { loss: mean ? (valid ? s / valid : 0) : s, grad };
}

/** A differentiable copy of `table` (so inplace has a non-leaf to consume): rows 0..N-1. */
function copyOf(table: Tensor): Tensor {
  const N = table.shape[0]!;
  const ids = Tensor.fromArray(Int32Array.from({ length: N }, (_, i) => i), [N], 'int32');
  return embedding(table, ids); // ids stay alive: the embedding backward reads them
}

describe('crossEntropy', () => {
  const cases: [number, number, number][] = [
    [1, 1, 0],
    [3, 7, 0],
    [5, 13, 2],
    [17, 37, 3],
    [4, 14114, 0],
    [6, 1, 4],
  ];
  for (const [N, V, ignoreEvery] of cases) {
    for (const reduction of ['mean', 'sum'] as const) {
      it(`loss and gradient match a plain reference: N=${N} V=${V} ${reduction}${ignoreEvery ? ' with ignored rows' : ''}`, () => {
        const logits = randomTensor([N, V], N * 1000 + V, -4, 4);
        const targets = targetsFor(N, V, 3, ignoreEvery);
        const ref = refLoss(logits.toArray() as Float32Array, targets.toArray() as Int32Array, V, reduction === 'mean');
        // forward only (no grad): logits untouched
        const before = logits.toArray();
        const l0 = crossEntropy(logits, targets, { reduction });
        expect(l0.shape).toEqual([]);
        expect(l0.item()).toBeCloseTo(ref.loss, 4);
        expectClose(logits.toArray(), before, { atol: 0, rtol: 0, what: 'logits untouched' });
        // fused forward + backward
        logits.requireGrad();
        const l1 = crossEntropy(logits, targets, { reduction });
        expect(l1.item()).toBeCloseTo(ref.loss, 4);
        l1.backward();
        expectClose(logits.grad!.toArray(), ref.grad, { atol: 1e-6, what: 'dlogits' });
        expectClose(logits.toArray(), before, { atol: 0, rtol: 0, what: 'logits untouched' });
      });
    }
  }

  it('gradient matches finite differences (mean, sum, ignored rows, custom ignoreIndex)', () => {
    gradCheck((x) => crossEntropy(x!, targetsFor(6, 9, 1, 3)), [randomTensor([6, 9], 1, -2, 2)]);
    gradCheck((x) => crossEntropy(x!, targetsFor(5, 4, 2), { reduction: 'sum' }), [randomTensor([5, 4], 2, -2, 2)]);
    gradCheck((x) => crossEntropy(x!, targetsFor(4, 11, 3, 2, 0), { ignoreIndex: 0 }), [randomTensor([4, 11], 3)]);
  });

  it('inplace: the logits storage becomes the gradient, same result, logits consumed', () => {
    const N = 7;
    const V = 13;
    const targets = targetsFor(N, V, 5, 3);
    const t1 = randomTensor([N, V], 9, -3, 3).requireGrad();
    const t2 = t1.clone().requireGrad();
    const ref = crossEntropy(copyOf(t1), targets);
    ref.backward();
    const logits = copyOf(t2);
    const loss = crossEntropy(logits, targets, { inplace: true });
    expect(loss.item()).toBeCloseTo(ref.item(), 5);
    expect(() => logits.toArray()).toThrow(/crossEntropy\(inplace\) consumed .*use inplace: false/);
    expect(() => crossEntropy(logits, targets)).toThrow(/consumed/);
    loss.backward(Tensor.scalar(2.5)); // upstream gradient scales the fused gradient
    const want = (t1.grad!.toArray() as Float32Array).map((g) => g * 2.5);
    expectClose(t2.grad!.toArray(), want, { atol: 1e-6, what: 'inplace grad' });
    logits.dispose(); // disposing a consumed tensor is fine
  });

  it('inplace gradient matches finite differences', () => {
    gradCheck((x) => crossEntropy(copyOf(x!), targetsFor(5, 6, 2, 4), { inplace: true }), [randomTensor([5, 6], 4, -2, 2)]);
  });

  it('inplace is refused for a leaf that requires grad, and ignored without grad', () => {
    const x = randomTensor([3, 4], 5).requireGrad();
    expect(() => crossEntropy(x, targetsFor(3, 4, 1), { inplace: true })).toThrow(/a leaf that requires grad/);
    const before = x.toArray();
    const l = noGrad(() => crossEntropy(x, targetsFor(3, 4, 1), { inplace: true }));
    expect(Number.isFinite(l.item())).toBe(true);
    expect(x.toArray()).toEqual(before);
  });

  it('all rows ignored: loss 0 and gradient 0 (no NaN)', () => {
    for (const reduction of ['mean', 'sum'] as const) {
      const x = randomTensor([4, 5], 6).requireGrad();
      const t = Tensor.full([4], IGNORE, 'int32');
      const l = crossEntropy(x, t, { reduction });
      expect(l.item()).toBe(0);
      l.backward();
      expect(Array.from(x.grad!.toArray()).every((g) => g === 0)).toBe(true);
    }
  });

  it('V = 1: loss 0, gradient 0', () => {
    const x = randomTensor([3, 1], 7).requireGrad();
    const l = crossEntropy(x, Tensor.zeros([3], 'int32'));
    expect(l.item()).toBeCloseTo(0, 7);
    l.backward();
    expect(Array.from(x.grad!.toArray()).every((g) => g === 0)).toBe(true);
  });

  it('is stable for huge logits', () => {
    const x = Tensor.fromArray([1e30, -1e30, 0, 3e4, 3e4 + 1, -3e4], [2, 3]);
    const l = crossEntropy(x, Tensor.fromArray(new Int32Array([0, 1]), [2], 'int32'), { reduction: 'sum' });
    expect(l.item()).toBeCloseTo(Math.log(1 + Math.exp(1) + Math.exp(-6e4)) - 1, 4);
  });

  it('rejects bad inputs with clear errors', () => {
    const x = randomTensor([3, 4], 8);
    const t = targetsFor(3, 4, 1);
    expect(() => crossEntropy(x, Tensor.fromArray(new Int32Array([0, 4, 1]), [3], 'int32'))).toThrow(
      /targets\[1\] = 4 is out of range \[0, 4\) and is not the ignore index -100/,
    );
    expect(() => crossEntropy(x, Tensor.fromArray(new Int32Array([0, -1, 1]), [3], 'int32'))).toThrow(RangeError);
    expect(() => crossEntropy(x, Tensor.fromArray([0, 1, 2], [3]))).toThrow(/targets must be int32/);
    expect(() => crossEntropy(x, targetsFor(2, 4, 1))).toThrow(/targets must be \[3\]/);
    expect(() => crossEntropy(randomTensor([12], 1), t)).toThrow(/logits must be 2-D/);
    expect(() => crossEntropy(Tensor.zeros([3, 0]), t)).toThrow(/no classes/);
    expect(() => crossEntropy(Tensor.zeros([3, 4], 'int32'), t)).toThrow(/logits must be float32/);
    // @ts-expect-error: invalid reduction on purpose
    expect(() => crossEntropy(x, t, { reduction: 'avg' })).toThrow(/reduction must be 'mean' or 'sum'/);
    expect(() => crossEntropy(x, t, { ignoreIndex: 0.5 })).toThrow(/ignoreIndex must be an int32/);
    const gone = randomTensor([3, 4], 9);
    gone.dispose();
    expect(() => crossEntropy(gone, t)).toThrow(/disposed/);
  });
});
