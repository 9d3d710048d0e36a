// Dynamic evaluation (lib/models/dynamic-eval.ts): lr 0 and decay 1 are the static model; each
// window is scored before its own update (a by-hand two-window run agrees); on text that repeats,
// adapting lowers the perplexity; the trained weights come back; a step size that blows up is
// reported as diverged, not chosen; bad settings are errors; nothing leaks.
import { describe, expect, it } from 'vitest';

import { evaluateDynamic } from '../../lib/models/dynamic-eval.js';
import { RecurrentLM, disposeState, evaluateRecurrent, recurrentLoss } from '../../lib/models/rnn.js';
import { memory, tidy } from '../../lib/index.js';
import type { BpttBatch } from '../../lib/data/bptt.js';

const V = 11;
const model = (cell: 'rnn' | 'lstm' = 'lstm') => new RecurrentLM({ vocabSize: V, cell, embed: 8, hidden: 12, lastHidden: 6, layers: 2, seed: 5 });
const text = Int32Array.from({ length: 301 }, (_, i) => (i * 7 + ((i * i) % 5)) % V);
const weights = (m: RecurrentLM) => m.parameters().map((p) => Array.from(p.toArray()));

describe('evaluateDynamic', () => {
  it('lr 0 and decay 1 are the static model (= evaluateRecurrent on the same streams); base is too', () => {
    const m = model();
    const plain = evaluateRecurrent(m, text, 3, 7);
    const r = evaluateDynamic(m, text, 3, 7, { lr: [0, 0.5], decay: [0, 1] });
    expect(r.base.tokens).toBe(plain.tokens);
    expect(r.base.loss).toBeCloseTo(plain.loss, 5);
    const at = (lr: number, decay: number) => r.scores.find((s) => s.lr === lr && s.decay === decay)!;
    expect(r.scores.map((s) => [s.lr, s.decay])).toEqual([[0, 0], [0, 1], [0.5, 0], [0.5, 1]]);
    expect(at(0, 0).loss).toBeCloseTo(plain.loss, 5);
    expect(at(0.5, 1).loss).toBeCloseTo(plain.loss, 5);
    // Adapting changes the score.
    expect(Math.abs(at(0.5, 0).loss - plain.loss)).toBeGreaterThan(1e-4);
    m.dispose();
  });

  it('scores each window before its own update: a by-hand two-window run agrees', () => {
    const lr = 0.3;
    const decay = 0.1;
    const ids = text.slice(0, 2 * 9 + 1); // one stream, two windows of 9
    const m = model('rnn');
    const r = evaluateDynamic(m, ids, 1, 9, { lr: [lr], decay: [decay] });
    // By hand: window 1 with the trained weights; one step; window 2 with the new weights.
    const h = model('rnn');
    h.eval();
    const w0 = h.parameters().map((p) => p.toArray() as Float32Array);
    const batch = (k: number): BpttBatch => ({ batchSize: 1, T: 9, inputs: ids.slice(9 * k, 9 * k + 9), targets: ids.slice(9 * k + 1, 9 * k + 10) });
    const first = tidy(() => {
      const out = recurrentLoss(h, batch(0), null);
      const v = out.nll.item();
      out.nll.backward();
      return { v, state: out.state };
    });
    for (const [i, p] of h.parameters().entries()) {
      const x = p.toArray() as Float32Array;
      const g = p.grad!.toArray() as Float32Array;
      const y = x.map((xi, j) => {
        const stepped = xi - lr * g[j]!;
        return stepped + decay * (w0[i]![j]! - stepped);
      });
      p.storage.write(y);
      p.grad!.dispose();
      p.grad = null;
    }
    const second = tidy(() => recurrentLoss(h, batch(1), first.state).nll.item());
    disposeState(first.state);
    expect(r.scores[0]!.tokens).toBe(18);
    expect(r.scores[0]!.loss).toBeCloseTo((first.v + second) / 2, 5);
    // The first window alone is the static model's whatever the step size.
    const one = evaluateDynamic(m, ids.slice(0, 10), 1, 9, { lr: [5], decay: [0] });
    expect(one.scores[0]!.loss).toBeCloseTo(first.v, 5);
    m.dispose();
    h.dispose();
  });

  it('on text that repeats, adapting lowers the perplexity; the trained weights come back', () => {
    const m = model();
    const phrase = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
    const rep = Int32Array.from({ length: 401 }, (_, i) => phrase[i % phrase.length]!);
    const before = weights(m);
    const r = evaluateDynamic(m, rep, 2, 10, { lr: [2], decay: [0] });
    expect(r.best.ppl).toBeLessThan(r.base.ppl * 0.65); // 20 updates: 12.6 -> 7.7
    expect(weights(m)).toEqual(before);
    expect(m.training).toBe(true);
    m.dispose();
  });

  it('a step size that blows up is marked diverged and never chosen', () => {
    const m = model('rnn');
    const before = weights(m);
    const r = evaluateDynamic(m, text, 3, 7, { lr: [0.1, 1e9], decay: [0] });
    const big = r.scores[1]!;
    expect(big.diverged || big.loss > r.scores[0]!.loss).toBe(true);
    expect(r.best.lr).toBe(0.1);
    expect(weights(m)).toEqual(before);
    m.dispose();
  });

  it('bad settings are errors', () => {
    const m = model();
    expect(() => evaluateDynamic(m, text, 3, 7, { lr: [], decay: [0] })).toThrow(/at least one lr and one decay/);
    expect(() => evaluateDynamic(m, text, 3, 7, { lr: [-1], decay: [0] })).toThrow(/lr must be a finite number >= 0/);
    expect(() => evaluateDynamic(m, text, 3, 7, { lr: [0.1], decay: [1.5] })).toThrow(/decay must be in \[0, 1\]/);
    m.dispose();
  });

  it('frees every tensor it makes', () => {
    const m = model();
    const live = memory().tensors;
    evaluateDynamic(m, text, 3, 7, { lr: [0.2], decay: [0.05] });
    expect(memory().tensors).toBe(live);
    m.dispose();
  });
});


