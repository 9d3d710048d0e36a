// The neural cache (lib/models/cache.ts): lambda 0 is the model alone; the grid's scores agree
// with a direct evaluation of the formula written out position by position; on text that
// repeats, the cache lowers the perplexity; bad settings are errors; nothing leaks.
import { describe, expect, it } from 'vitest';

import { evaluateWithCache } from '../../lib/models/cache.js';
import { evaluateDynamic } from '../../lib/models/dynamic-eval.js';
import { bpttBatches, type BpttBatch } from '../../lib/data/bptt.js';
import { RecurrentLM, disposeState, evaluateRecurrent, recurrentLoss, type RecurrentState } from '../../lib/models/rnn.js';
import { AdamW } from '../../lib/optim/optimizer.js';
import { makeRng } from '../../lib/tensor.js';
import { Trainer } from '../../lib/train/trainer.js';
import { logSoftmax } from '../../lib/ops/softmax.js';
import { Tensor, memory, tidy } from '../../lib/index.js';

const V = 11;
const model = (cell: 'rnn' | 'lstm' = 'lstm') => new RecurrentLM({ vocabSize: V, cell, embed: 8, hidden: 12, lastHidden: 6, layers: 2, seed: 5 });
const text = Int32Array.from({ length: 301 }, (_, i) => (i * 7 + ((i * i) % 5)) % V);

/** The formula, written out: one stream, the whole text in one forward, the cache as a loop. */
function direct(m: RecurrentLM, ids: Int32Array, size: number, theta: number, lambda: number): number {
  const n = ids.length - 1;
  const H = m.config.lastHidden;
  const { h, lp } = tidy(() => {
    const out = m.forward(Tensor.fromArray(ids.slice(0, n), [1, n], 'int32'));
    return { h: out.output.toArray() as Float32Array, lp: logSoftmax(out.logits).toArray() as Float32Array };
  });
  let nll = 0;
  for (let t = 0; t < n; t++) {
    const y = ids[t + 1]!;
    const pm = Math.exp(lp[t * V + y]!);
    const from = Math.max(0, t - size);
    if (t === from) {
      nll -= Math.log(pm);
      continue;
    }
    const w: number[] = [];
    for (let i = from; i < t; i++) {
      let d = 0;
      for (let k = 0; k < H; k++) d += h[t * H + k]! * h[i * H + k]!;
      w.push(theta * d);
    }
    const mx = Math.max(...w);
    let z = 0;
    let hit = 0;
    w.forEach((x, j) => {
      const e = Math.exp(x - mx);
      z += e;
      if (ids[from + j + 1] === y) hit += e;
    });
    nll -= Math.log((1 - lambda) * pm + lambda * (hit / z));
  }
  return nll / n;
}

describe('evaluateWithCache', () => {
  it('lambda 0 is the model alone (= evaluateRecurrent on the same streams)', () => {
    const m = model();
    const r = evaluateWithCache(m, text, 3, 7, { size: 50, theta: [0.5], lambda: [0] });
    const plain = evaluateRecurrent(m, text, 3, 7);
    expect(r.base.tokens).toBe(plain.tokens);
    expect(r.base.loss).toBeCloseTo(plain.loss, 5);
    expect(r.scores[0]!.loss).toBeCloseTo(plain.loss, 5);
    m.dispose();
  });

  it('matches the formula evaluated directly (one stream; cache within and across windows, cut at size)', () => {
    for (const cell of ['lstm', 'rnn'] as const) {
      const m = model(cell);
      const grid = { size: 40, theta: [0, 0.7, 3], lambda: [0.1, 0.4] };
      const r = evaluateWithCache(m, text, 1, 9, grid);
      expect(r.scores).toHaveLength(6);
      for (const s of r.scores) expect(s.loss, `${cell} theta ${s.theta} lambda ${s.lambda}`).toBeCloseTo(direct(m, text, grid.size, s.theta, s.lambda), 4);
      expect(r.best.loss).toBe(Math.min(...r.scores.map((s) => s.loss)));
      m.dispose();
    }
  });

  it('lowers the perplexity of a phrase that repeats, for a model trained on text without repeats', async () => {
    // Trained on random text, the model cannot predict the phrase; the cache can, from the
    // states it saw before the same words the last time round.
    const m = new RecurrentLM({ vocabSize: V, cell: 'lstm', embed: 16, hidden: 24, layers: 1, seed: 2 });
    const rng = makeRng(9);
    const noise = Int32Array.from({ length: 4001 }, () => Math.floor(rng() * V));
    const opt = new AdamW(m.parameters(), { lr: 1e-2, weightDecay: 0 });
    let state: RecurrentState | null = null;
    const trainer = new Trainer(m, opt, (b: BpttBatch) => {
      const r = recurrentLoss(m, b, state);
      disposeState(state);
      state = r.state;
      return r;
    });
    await trainer.fit({ batches: () => bpttBatches(noise, 4, 10), steps: 100 });
    disposeState(state);
    // Each word once, so the word before determines the next one.
    const phrase = Int32Array.from({ length: V }, (_, i) => i);
    for (let i = V - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [phrase[i], phrase[j]] = [phrase[j]!, phrase[i]!];
    }
    const repeated = Int32Array.from({ length: 601 }, (_, i) => phrase[i % phrase.length]!);
    const r = evaluateWithCache(m, repeated, 2, 10, { size: 200, theta: [0.3, 1, 3, 10], lambda: [0.3, 0.6, 0.9] });
    expect(r.base.ppl).toBeGreaterThan(8); // about uniform over 11
    expect(r.best.ppl).toBeLessThan(r.base.ppl / 3);
    m.dispose();
  });

  it('with dynamic evaluation: lr 0 is the static cache; the model-alone score is evaluateDynamic\'s; the weights come back', () => {
    const m = model();
    const before = m.parameters().map((p) => Array.from(p.toArray()));
    const grid = { size: 40, theta: [0.5, 2], lambda: [0.1, 0.3] };
    const still = evaluateWithCache(m, text, 3, 7, grid);
    const off = evaluateWithCache(m, text, 3, 7, { ...grid, dynamic: { lr: 0, decay: 0 } });
    expect(off.scores.map((s) => s.loss)).toEqual(still.scores.map((s) => s.loss));
    const d = { lr: 0.4, decay: 0.05 };
    const both = evaluateWithCache(m, text, 3, 7, { ...grid, dynamic: d });
    const dyn = evaluateDynamic(m, text, 3, 7, { lr: [d.lr], decay: [d.decay] });
    expect(both.diverged).toBe(false);
    expect(both.base.loss).toBeCloseTo(dyn.scores[0]!.loss, 5);
    expect(Math.abs(both.base.loss - still.base.loss)).toBeGreaterThan(1e-4);
    expect(m.parameters().map((p) => Array.from(p.toArray()))).toEqual(before);
    const live = memory().tensors;
    evaluateWithCache(m, text, 3, 7, { ...grid, dynamic: d });
    expect(memory().tensors).toBe(live);
    // A step size that blows up: diverged, every loss Infinity, the weights back.
    const big = evaluateWithCache(m, text, 3, 7, { ...grid, dynamic: { lr: 1e30, decay: 0 } });
    expect(big.diverged).toBe(true);
    expect(big.best.loss).toBe(Infinity);
    expect(m.parameters().map((p) => Array.from(p.toArray()))).toEqual(before);
    expect(() => evaluateWithCache(m, text, 3, 7, { ...grid, dynamic: { lr: -1, decay: 0 } })).toThrow(/lr must be a finite number >= 0/);
    m.dispose();
  });

  it('rejects bad settings with a message; leaves no tensors behind', () => {
    const m = model();
    const before = memory().tensors;
    expect(() => evaluateWithCache(m, text, 2, 5, { size: 0, theta: [1], lambda: [0.1] })).toThrow(/size must be an integer >= 1/);
    expect(() => evaluateWithCache(m, text, 2, 5, { size: 10, theta: [-1], lambda: [0.1] })).toThrow(/theta must be/);
    expect(() => evaluateWithCache(m, text, 2, 5, { size: 10, theta: [1], lambda: [1] })).toThrow(/lambda must be in \[0, 1\)/);
    expect(() => evaluateWithCache(m, text, 2, 5, { size: 10, theta: [], lambda: [0.1] })).toThrow(/at least one/);
    evaluateWithCache(m, text, 2, 5, { size: 10, theta: [1], lambda: [0.1] });
    expect(memory().tensors).toBe(before);
    expect(m.training).toBe(true);
    m.dispose();
  });
});
