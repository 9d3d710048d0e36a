// Random-length BPTT windows (AWD-LSTM): distribution, reproducibility, coverage, lrScale.
import { describe, expect, it } from 'vitest';

import { bpttBatches, bpttWindows, numBpttBatches } from '../../lib/data/bptt.js';
import { ArrayTokenSource, bpttBatchesFrom, numBpttBatchesFrom } from '../../lib/data/tokensource.js';
import { SGD } from '../../lib/optim/optimizer.js';
import { Tensor, mul, sum } from '../../lib/index.js';
import { Trainer } from '../../lib/train/trainer.js';

describe('bpttBatches with random lengths', () => {
  it('lengths ~ N(seqLen, 5) with p 0.95, else N(seqLen/2, 5); at least 5', () => {
    const lens = [...bpttWindows(2_000_000, 70, { seed: 1 })].map(([, T]) => T);
    lens.pop(); // the last window is cut at the end of the stream
    const full = lens.filter((T) => T > 52);
    const half = lens.filter((T) => T <= 52);
    const meanOf = (a: number[]): number => a.reduce((s, x) => s + x, 0) / a.length;
    const sdOf = (a: number[]): number => {
      const m = meanOf(a);
      return Math.sqrt(meanOf(a.map((x) => (x - m) ** 2)));
    };
    expect(lens.length).toBeGreaterThan(25_000);
    expect(half.length / lens.length).toBeGreaterThan(0.04);
    expect(half.length / lens.length).toBeLessThan(0.06);
    expect(meanOf(full)).toBeGreaterThan(69.8);
    expect(meanOf(full)).toBeLessThan(70.2);
    expect(sdOf(full)).toBeGreaterThan(4.8);
    expect(sdOf(full)).toBeLessThan(5.2);
    expect(meanOf(half)).toBeGreaterThan(34);
    expect(meanOf(half)).toBeLessThan(36);
    expect(Math.min(...lens)).toBeGreaterThanOrEqual(5);
    expect(lens.every(Number.isInteger)).toBe(true);
    // A short seqLen: the minimum is seqLen itself.
    expect(Math.min(...[...bpttWindows(10_000, 4, { seed: 2 })].slice(0, -1).map(([, T]) => T))).toBe(4);
  });

  it('is reproducible from (seed, epoch), differs across epochs, and reads every token once', () => {
    const ids = Int32Array.from({ length: 3 * 500 + 2 }, (_, i) => i);
    const a = [...bpttBatches(ids, 3, 20, { seed: 9, epoch: 1 })];
    const b = [...bpttBatches(ids, 3, 20, { seed: 9, epoch: 1 })];
    const c = [...bpttBatches(ids, 3, 20, { seed: 9, epoch: 2 })];
    const d = [...bpttBatches(ids, 3, 20, { seed: 10, epoch: 1 })];
    expect(a).toEqual(b);
    expect(c.map((x) => x.T)).not.toEqual(a.map((x) => x.T));
    expect(d.map((x) => x.T)).not.toEqual(a.map((x) => x.T));
    expect(new Set(a.map((x) => x.T)).size).toBeGreaterThan(3);
    expect(numBpttBatches(ids, 3, 20, { seed: 9, epoch: 1 })).toBe(a.length);
    // Row r of the windows, end to end, is stream r (500 tokens: inputs 0..498, targets 1..499).
    for (let r = 0; r < 3; r++) {
      const inputs = a.flatMap((x) => Array.from(x.inputs.subarray(r * x.T, (r + 1) * x.T)));
      const targets = a.flatMap((x) => Array.from(x.targets.subarray(r * x.T, (r + 1) * x.T)));
      expect(inputs).toEqual(Array.from({ length: 499 }, (_, i) => r * 500 + i));
      expect(targets).toEqual(Array.from({ length: 499 }, (_, i) => r * 500 + i + 1));
    }
    for (const x of a) expect(x.lrScale).toBeCloseTo(x.T / 20, 12);
    // Without jitter: fixed windows and no lrScale (unchanged behaviour).
    expect([...bpttBatches(ids, 3, 20)].every((x) => x.lrScale === undefined)).toBe(true);
  });

  it('the token-source loader gives the same batches', () => {
    const ids = Int32Array.from({ length: 2 * 300 }, (_, i) => (i * 7) % 101);
    const j = { seed: 4, epoch: 3, sd: 3 };
    const src = new ArrayTokenSource(ids);
    expect([...bpttBatchesFrom(src, 2, 16, j)]).toEqual([...bpttBatches(ids, 2, 16, j)]);
    expect(numBpttBatchesFrom(src, 2, 16, j)).toBe(numBpttBatches(ids, 2, 16, j));
  });

  it('rejects bad jitter settings', () => {
    const ids = new Int32Array(100);
    expect(() => [...bpttBatches(ids, 2, 10, { seed: 1.5 })]).toThrow(/jitter.seed/);
    expect(() => [...bpttBatches(ids, 2, 10, { seed: 1, sd: -1 })]).toThrow(/jitter.sd/);
    expect(() => [...bpttBatches(ids, 2, 10, { seed: 1, pFull: 2 })]).toThrow(/jitter.pFull/);
    expect(() => [...bpttBatches(ids, 2, 10, { seed: 1, minLen: 0 })]).toThrow(/jitter.minLen/);
    expect(() => [...bpttBatches(ids, 2, 10, { seed: 1, epoch: -1 })]).toThrow(/jitter.epoch/);
  });
});

describe('Trainer: a batch lrScale scales the learning rate of its step', () => {
  it('SGD moves by lr * lrScale * grad; the optimizer lr is unchanged afterwards', () => {
    for (const lrScale of [1, 0.5, 1.25]) {
      const w = Tensor.fromArray([1, -2], [2]).requireGrad();
      const opt = new SGD([w], { lr: 0.1 });
      // loss = sum(w * [3, 4]): gradient (3, 4).
      const trainer = new Trainer({ train: () => undefined } as never, opt, () => ({
        loss: sum(mul(w, Tensor.fromArray([3, 4], [2]))),
        tokens: 1,
        lrScale,
      }));
      trainer.trainStep(null);
      const v = Array.from(w.toArray());
      expect(v[0]).toBeCloseTo(1 - 0.1 * lrScale * 3, 6);
      expect(v[1]).toBeCloseTo(-2 - 0.1 * lrScale * 4, 6);
      expect(opt.lr).toBe(0.1);
      w.dispose();
    }
    const w = Tensor.fromArray([1], [1]).requireGrad();
    const trainer = new Trainer({ train: () => undefined } as never, new SGD([w], { lr: 0.1 }), () => ({ loss: sum(w), tokens: 1, lrScale: 0 }));
    expect(() => trainer.trainStep(null)).toThrow(/lrScale/);
    w.dispose();
  });

  it('report: the value a step reports when the loss adds a regulariser', () => {
    const w = Tensor.fromArray([2], [1]).requireGrad();
    const trainer = new Trainer({ train: () => undefined } as never, new SGD([w], { lr: 0.1 }), () => ({
      loss: mul(sum(w), 3),
      report: sum(w),
      tokens: 1,
    }));
    expect(trainer.trainStep(null).loss).toBeCloseTo(2, 6);
    // The update follows the loss (gradient 3), not the reported value.
    expect(w.toArray()[0]).toBeCloseTo(2 - 0.3, 6);
    w.dispose();
  });
});
