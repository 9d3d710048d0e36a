import { describe, expect, it } from 'vitest';

import { maskBatch, randomMaskedWindows, type MaskedSequenceBatch } from '../../lib/data/masking.js';
import { MaskedLM, evaluateMasked } from '../../lib/models/mlm.js';
import { AdamW } from '../../lib/optim/optimizer.js';
import { Tensor, crossEntropy, noGrad } from '../../lib/index.js';
import { Trainer } from '../../lib/train/trainer.js';
import { randomIds } from '../helpers.js';

describe('maskBatch', () => {
  const V = 50;
  const ids = randomIds([64, 256], V, 3).toArray() as Int32Array; // 16384 positions

  it('selects ~15% of positions, then 80% [MASK] / 10% random / 10% kept', () => {
    const { inputs, targets, selected } = maskBatch(ids, { vocabSize: V, maskId: V, seed: 7 });
    const n = ids.length;
    let sel = 0;
    let masked = 0;
    let changed = 0;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      if (targets[i] === -100) {
        expect(inputs[i]).toBe(ids[i]); // not selected: untouched, ignored
        continue;
      }
      sel++;
      expect(targets[i]).toBe(ids[i]);
      if (inputs[i] === V) masked++;
      else if (inputs[i] !== ids[i]) changed++;
      else kept++;
      expect(inputs[i]! >= 0 && inputs[i]! <= V).toBe(true);
    }
    expect(selected).toBe(sel);
    expect(sel / n).toBeGreaterThan(0.14);
    expect(sel / n).toBeLessThan(0.16);
    expect(masked / sel).toBeGreaterThan(0.77);
    expect(masked / sel).toBeLessThan(0.83);
    // A random replacement equals the original with probability 1/V: ~9.8% change, ~10.2% kept.
    expect(changed / sel).toBeGreaterThan(0.08);
    expect(changed / sel).toBeLessThan(0.12);
    expect(kept / sel).toBeGreaterThan(0.08);
    expect(kept / sel).toBeLessThan(0.12);
  });

  it('is deterministic per seed and accepts tensors', () => {
    const a = maskBatch(ids, { vocabSize: V, seed: 11 });
    const b = maskBatch(Tensor.fromArray(ids, [64, 256], 'int32'), { vocabSize: V, seed: 11 });
    const c = maskBatch(ids, { vocabSize: V, seed: 12 });
    expect(Array.from(b.inputs)).toEqual(Array.from(a.inputs));
    expect(Array.from(b.targets)).toEqual(Array.from(a.targets));
    expect(Array.from(c.targets)).not.toEqual(Array.from(a.targets));
    // maskId defaults to vocabSize; prob 0 selects nothing, prob 1 everything.
    expect(a.inputs.some((t) => t === V)).toBe(true);
    expect(maskBatch(ids, { vocabSize: V, prob: 0 }).selected).toBe(0);
    expect(maskBatch(ids, { vocabSize: V, prob: 1 }).selected).toBe(ids.length);
  });

  it('rejects bad options and ids', () => {
    expect(() => maskBatch(ids, { vocabSize: 10 })).toThrow(/out of range/);
    expect(() => maskBatch(ids, { vocabSize: 0 })).toThrow(/vocabSize/);
    expect(() => maskBatch(ids, { vocabSize: V, prob: 1.5 })).toThrow(/prob/);
    expect(() => maskBatch(ids, { vocabSize: V, maskFrac: 0.8, randomFrac: 0.3 })).toThrow(/<= 1/);
    expect(() => maskBatch(ids, { vocabSize: V, maskId: -1 })).toThrow(/maskId/);
    expect(() => maskBatch(ids, { vocabSize: V, ignoreIndex: 3 })).toThrow(/ignoreIndex/);
    expect(() => maskBatch(Tensor.fromArray(Float32Array.of(1), [1]), { vocabSize: V })).toThrow(/int32/);
  });
});

const pattern = [1, 2, 3, 4, 5, 3, 2, 6, 7, 1, 5, 4];
const corpus = Int32Array.from({ length: 600 }, (_, i) => pattern[i % pattern.length]!);

describe('MaskedLM', () => {
  it('overfits a tiny corpus: masked perplexity falls a lot', async () => {
    const V = 8;
    const T = 12;
    const model = new MaskedLM({ vocabSize: V, context: T, embed: 32, heads: 4, layers: 2, dropout: 0.1, seed: 4 });
    const opt = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0 });
    const lossOf = (b: MaskedSequenceBatch) =>
      crossEntropy(model.forward(Tensor.fromArray(b.inputs, [b.batchSize, b.seqLen], 'int32')), Tensor.fromArray(b.targets, [b.inputs.length], 'int32'));
    const trainer = new Trainer(model, opt, (b: MaskedSequenceBatch) => ({ loss: lossOf(b), tokens: b.selected }));
    const before = evaluateMasked(model, corpus, 16, T, 1);
    await trainer.fit({
      batches: function* (e) {
        for (let s = 0; s < 300; s++) yield randomMaskedWindows(corpus, 16, T, e * 1000 + s, { vocabSize: V, prob: 0.25 });
      },
      epochs: 1,
    });
    const after = evaluateMasked(model, corpus, 16, T, 1);
    expect(model.training).toBe(true); // evaluateMasked restores the mode
    expect(evaluateMasked(model, corpus, 16, T, 1).loss).toBe(after.loss); // same masks every call
    expect(before.tokens).toBeGreaterThan(50);
    expect(before.ppl).toBeGreaterThan(5);
    expect(after.ppl).toBeLessThan(2); // measured 7.7 -> 1.3
    model.dispose();
    opt.dispose();
  }, 20_000);

  it('is bidirectional: changing a later token changes earlier positions', () => {
    const V = 11;
    const T = 7;
    const model = new MaskedLM({ vocabSize: V, context: 8, embed: 16, heads: 2, layers: 2, seed: 2 }).eval();
    const ids = randomIds([2, T], V, 9);
    const changed = Int32Array.from(ids.toArray() as Int32Array);
    changed[5] = (changed[5]! + 3) % V;
    changed[T + 6] = V; // [MASK] is a valid input id
    const [l1, l2] = noGrad(() => [model.forward(ids).toArray(), model.forward(Tensor.fromArray(changed, [2, T], 'int32')).toArray()]);
    expect(l1.length).toBe(2 * T * V);
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < 5; t++) {
        let diff = 0;
        for (let y = 0; y < V; y++) diff = Math.max(diff, Math.abs(l1[(b * T + t) * V + y]! - l2[(b * T + t) * V + y]!));
        expect(diff, `batch ${b} position ${t}`).toBeGreaterThan(1e-6);
      }
    }
    model.dispose();
  });

  it('rejects bad configs and inputs', () => {
    expect(() => new MaskedLM({ vocabSize: 8, context: 4, embed: 6, heads: 4, layers: 1 })).toThrow(/divisible/);
    expect(() => new MaskedLM({ vocabSize: 0, context: 4, embed: 8, heads: 2, layers: 1 })).toThrow(/vocabSize/);
    expect(() => new MaskedLM({ vocabSize: 8, context: 4, embed: 8, heads: 2, layers: 0 })).toThrow(/layers/);
    expect(() => new MaskedLM({ vocabSize: 8, context: 4, embed: 8, heads: 2, layers: 1, dropout: 1 })).toThrow(/dropout/);
    const m = new MaskedLM({ vocabSize: 8, context: 4, embed: 8, heads: 2, layers: 1 });
    expect(() => m.forward(Tensor.fromArray(new Int32Array(5), [1, 5], 'int32'))).toThrow(/context/);
    expect(() => m.forward(Tensor.fromArray(Int32Array.of(9), [1, 1], 'int32'))).toThrow(/out of range/);
    expect(() => m.forward(Tensor.zeros([1, 2]))).toThrow(/int32/);
    expect(() => evaluateMasked(m, corpus, 4, 5)).toThrow(/context/);
    m.dispose();
  });
});
