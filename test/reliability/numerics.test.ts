// Non-finite numbers: a NaN/Inf loss stops training without touching the weights or the
// optimizer state; NaN/Inf inputs propagate through the ops predictably (row-local, the
// same bits every time) and never crash; the edge cases of softmax / cross-entropy /
// attention give the documented values.
import { describe, expect, it } from 'vitest';

import {
  AdamW,
  FeedForwardLM,
  Tensor,
  add,
  argmax,
  attention,
  crossEntropy,
  exp,
  gelu,
  layerNorm,
  log,
  logSoftmax,
  matmul,
  max,
  memory,
  mulScalar,
  relu,
  rmsNorm,
  sigmoid,
  softmax,
  sqrt,
  sum,
  tanh,
  tidy,
} from '../../lib/index.js';
import { Trainer } from '../../lib/train/trainer.js';

const INF = Number.POSITIVE_INFINITY;

interface Batch {
  inputs: Int32Array;
  targets: Int32Array;
}

const batch: Batch = { inputs: Int32Array.of(1, 2, 3, 4, 5, 6, 2, 3), targets: Int32Array.of(3, 4, 5, 1) };

/** A tiny FFNN trainer whose loss is multiplied by `factor.value` (NaN / Inf to break it). */
function setup(seed = 5) {
  const model = new FeedForwardLM({ vocabSize: 8, context: 2, embed: 4, hidden: 8, direct: true, seed });
  const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0.01 });
  const factor = { value: 1 };
  const trainer = new Trainer(model, opt, (b: Batch) => {
    const loss = crossEntropy(model.forward(Tensor.fromArray(b.inputs, [4, 2], 'int32')), Tensor.fromArray(b.targets, [4], 'int32'));
    return { loss: factor.value === 1 ? loss : mulScalar(loss, factor.value), tokens: 4 };
  });
  const params = () => model.parameters().map((p) => Array.from(p.toArray()));
  const dispose = () => {
    model.dispose();
    opt.dispose();
  };
  return { model, opt, trainer, factor, params, dispose };
}

describe('a non-finite loss stops training', () => {
  for (const bad of [Number.NaN, INF, -INF]) {
    it(`loss ${bad}: trainStep throws naming the step; weights, gradients and optimizer state are untouched`, () => {
      const a = setup();
      const b = setup();
      a.trainer.trainStep(batch);
      a.trainer.trainStep(batch);
      b.trainer.trainStep(batch);
      b.trainer.trainStep(batch);
      const before = a.params();
      a.factor.value = bad;
      expect(() => a.trainer.trainStep(batch)).toThrow(new RegExp(`loss is ${bad} at step 3; weights were not updated`));
      expect(a.params()).toEqual(before);
      expect(a.trainer.step).toBe(2);
      for (const p of a.model.parameters()) {
        if (p.grad) expect(Array.from(p.grad.toArray()).every((g) => g === 0)).toBe(true);
      }
      // Recovery: the next good step gives bit-for-bit what a run that never failed gives
      // (so the optimizer's step count and moments were not advanced by the failed step).
      a.factor.value = 1;
      const la = a.trainer.trainStep(batch).loss;
      const lb = b.trainer.trainStep(batch).loss;
      expect(la).toBe(lb);
      expect(a.params()).toEqual(b.params());
      a.dispose();
      b.dispose();
    });
  }

  it('fit() rejects with the same message and leaves no tensors behind (but the unused saved gradient)', async () => {
    const s = setup();
    s.trainer.trainStep(batch); // warm-up allocations (optimizer state)
    const live = memory().tensors;
    let n = 0;
    await expect(
      s.trainer.fit({
        batches: () => [batch, batch, batch, batch],
        onStep: () => {
          if (++n === 2) s.factor.value = Number.NaN;
        },
      }),
    ).rejects.toThrow(/loss is NaN at step 4/);
    // At most the gradient that crossEntropy saved for a backward that never ran is left
    // (lib/ops/crossentropy.ts: keep(dlogits), freed by the backward or else by the GC).
    expect(memory().tensors).toBeLessThanOrEqual(live + 1);
    s.dispose();
  });
});

/** Row r of a (rows, cols) Float32Array. */
const row = (a: Float32Array | Int32Array, r: number, cols: number) => Array.from(a.subarray(r * cols, (r + 1) * cols));

describe('NaN and Inf in op inputs', () => {
  const clean = [
    [0.5, -1, 2, 0.25],
    [1, 2, -3, 0.5],
    [-0.5, 0.75, 1.5, -2],
  ];
  const poisoned = (v: number) => Tensor.fromArray(clean.map((r, i) => (i === 1 ? [r[0]!, v, r[2]!, r[3]!] : r)));

  const rowOps: [string, (x: Tensor) => Tensor][] = [
    ['softmax', softmax],
    ['logSoftmax', logSoftmax],
    ['layerNorm', (x) => layerNorm(x, Tensor.ones([4]), Tensor.zeros([4]))],
    ['rmsNorm', (x) => rmsNorm(x, Tensor.ones([4]))],
    ['matmul', (x) => matmul(x, Tensor.fromArray([[1, 0], [0, 1], [1, 1], [2, -1]]))],
    ['sum over the row', (x) => sum(x, 1)],
    ['max over the row', (x) => max(x, 1)],
  ];
  for (const bad of [Number.NaN, INF, -INF]) {
    for (const [name, op] of rowOps) {
      it(`${name}: a ${bad} in row 1 leaves rows 0 and 2 exact, and is deterministic`, () => {
        tidy(() => {
          const ref = op(Tensor.fromArray(clean)).toArray();
          const out1 = op(poisoned(bad)).toArray();
          const out2 = op(poisoned(bad)).toArray();
          const cols = out1.length / 3;
          expect(row(out1, 0, cols)).toEqual(row(ref, 0, cols));
          expect(row(out1, 2, cols)).toEqual(row(ref, 2, cols));
          expect(Array.from(out1)).toEqual(Array.from(out2));
          // NaN in, NaN out, somewhere in the row (never silently a clean value everywhere).
          if (Number.isNaN(bad)) expect(row(out1, 1, cols).some(Number.isNaN), `${name} row 1: ${row(out1, 1, cols)}`).toBe(true);
        });
      });
    }
  }

  it('element-wise ops keep NaN where it is and compute the other elements exactly', () => {
    tidy(() => {
      const x = Tensor.fromArray([1, Number.NaN, -2, INF, -INF, 0]);
      const ref = Tensor.fromArray([1, 0, -2, 0, 0, 0]);
      for (const [name, op] of [
        ['tanh', tanh],
        ['sigmoid', sigmoid],
        ['relu', relu],
        ['gelu', gelu],
        ['exp', exp],
        ['add', (t: Tensor) => add(t, t)],
      ] as [string, (t: Tensor) => Tensor][]) {
        const out = op(x).toArray();
        const r = op(ref).toArray();
        expect(Number.isNaN(out[1]), `${name}(NaN)`).toBe(true);
        for (const k of [0, 2, 5]) expect(out[k], `${name}[${k}]`).toBe(r[k]);
      }
      expect(Array.from(tanh(x).toArray()).slice(3, 5)).toEqual([1, -1]);
      expect(Array.from(sigmoid(x).toArray()).slice(3, 5)).toEqual([1, 0]);
      expect(Array.from(relu(x).toArray()).slice(3, 5)).toEqual([INF, 0]);
      expect(Array.from(exp(x).toArray()).slice(3, 5)).toEqual([INF, 0]);
      const lg = Array.from(log(Tensor.fromArray([0, -1, 1])).toArray());
      expect(lg[0]).toBe(-INF);
      expect(Number.isNaN(lg[1])).toBe(true);
      expect(lg[2]).toBe(0);
      expect(Number.isNaN(sqrt(Tensor.fromArray([-1])).item())).toBe(true);
    });
  });

  it('argmax with NaN returns an index inside the row (never garbage)', () => {
    tidy(() => {
      const idx = Array.from(argmax(Tensor.fromArray([[Number.NaN, 1, 2], [1, Number.NaN, 0], [Number.NaN, Number.NaN, Number.NaN]]), 1).toArray());
      for (const i of idx) expect(i >= 0 && i < 3).toBe(true);
    });
  });
});

describe('softmax / cross-entropy / attention edge cases', () => {
  it('softmax: -Inf entries get exactly 0, huge logits stay finite, an all -Inf row is NaN (as in PyTorch)', () => {
    tidy(() => {
      const x = Tensor.fromArray([[0, -INF, 1], [1e30, 0, -1e30], [-INF, -INF, -INF], [3e38, 3e38, -3e38]]);
      const p = softmax(x).toArray();
      expect(p[1]).toBe(0);
      expect(p[0]! + p[2]!).toBeCloseTo(1, 6);
      expect(row(p, 1, 3)).toEqual([1, 0, 0]);
      expect(row(p, 2, 3).every(Number.isNaN)).toBe(true);
      expect(row(p, 3, 3)).toEqual([0.5, 0.5, 0]);
      const lp = logSoftmax(x).toArray();
      expect(lp[1]).toBe(-INF);
      expect(Number.isFinite(lp[0]) && Number.isFinite(lp[2])).toBe(true);
      expect(lp[3]).toBe(0);
      expect(Number.isFinite(lp[5])).toBe(true);
    });
  });

  it('crossEntropy: all rows ignored gives 0 (mean and sum) and zero gradients, not NaN', () => {
    tidy(() => {
      const logits = Tensor.randn([3, 5], { seed: 2 }).requireGrad();
      const targets = Tensor.fromArray(Int32Array.of(-100, -100, -100), [3], 'int32');
      expect(crossEntropy(logits, targets).item()).toBe(0);
      expect(crossEntropy(logits, targets, { reduction: 'sum' }).item()).toBe(0);
      const loss = crossEntropy(logits, targets);
      loss.backward();
      expect(Array.from(logits.grad!.toArray()).every((g) => g === 0)).toBe(true);
      // Custom ignore index, and an empty batch.
      expect(crossEntropy(logits, Tensor.fromArray(Int32Array.of(7, 7, 7), [3], 'int32'), { ignoreIndex: 7 }).item()).toBe(0);
      expect(crossEntropy(Tensor.zeros([0, 5]), Tensor.zeros([0], 'int32')).item()).toBe(0);
      // Mixed: the mean is over the rows that count.
      const mixed = crossEntropy(Tensor.zeros([2, 4]), Tensor.fromArray(Int32Array.of(1, -100), [2], 'int32')).item();
      expect(mixed).toBeCloseTo(Math.log(4), 6);
      logits.grad!.dispose();
    });
  });

  it('crossEntropy: huge logits give a finite loss; a -Inf target logit gives Inf; NaN logits give NaN', () => {
    tidy(() => {
      const t = (ids: number[]) => Tensor.fromArray(Int32Array.from(ids), [ids.length], 'int32');
      expect(crossEntropy(Tensor.fromArray([[1e30, 0]]), t([0])).item()).toBe(0);
      expect(crossEntropy(Tensor.fromArray([[1e30, 0]]), t([1])).item()).toBeCloseTo(1e30, -25);
      expect(crossEntropy(Tensor.fromArray([[-INF, 0]]), t([1])).item()).toBe(0);
      expect(crossEntropy(Tensor.fromArray([[-INF, 0]]), t([0])).item()).toBe(INF);
      expect(Number.isNaN(crossEntropy(Tensor.fromArray([[Number.NaN, 0]]), t([1])).item())).toBe(true);
    });
  });

  it('attention: keys that are all masked give zeros, not NaN', () => {
    tidy(() => {
      const q = Tensor.randn([2, 3, 4], { seed: 4 });
      const mask = Tensor.fromArray(Int32Array.of(0, 0, 0, 1, 1, 0), [2, 3], 'int32');
      const out = attention(q, q, q, { heads: 2, mask }).toArray();
      expect(row(out, 0, 12).every((v) => v === 0)).toBe(true);
      expect(row(out, 1, 12).every(Number.isFinite)).toBe(true);
    });
  });
});
