import { describe, expect, it } from 'vitest';

import { contextWindows } from '../../lib/data/loaders.js';
import { LogLinearLM, fnv1a, hashFeature } from '../../lib/models/loglinear.js';
import { AdamW } from '../../lib/optim/optimizer.js';
import { Tensor, crossEntropy, noGrad } from '../../lib/index.js';
import { Trainer, evaluateLoss } from '../../lib/train/trainer.js';
import { gradCheck, randomIds } from '../helpers.js';

const pattern = [1, 2, 3, 4, 5, 3, 2, 6, 7, 1, 5, 4];
const corpus = Int32Array.from({ length: 600 }, (_, i) => pattern[i % pattern.length]!);

describe('LogLinearLM', () => {
  it('overfits a tiny repetitive corpus: perplexity falls close to 1', async () => {
    const model = new LogLinearLM({
      vocabSize: 8,
      context: 3,
      buckets: 512,
      features: ['unigram@1', 'unigram@2', 'unigram@3', 'bigram@1-2', 'trigram@1-2-3'],
    });
    const opt = new AdamW(model.parameters(), { lr: 0.1, weightDecay: 0 });
    const lossOf = (b: { inputs: Int32Array; targets: Int32Array; size: number }, reduction: 'mean' | 'sum' = 'mean') =>
      crossEntropy(model.forward(Tensor.fromArray(b.inputs, [b.size, 3], 'int32')), Tensor.fromArray(b.targets, [b.size], 'int32'), { reduction });
    const trainer = new Trainer(model, opt, (b: { inputs: Int32Array; targets: Int32Array; size: number }) => ({ loss: lossOf(b), tokens: b.size }));
    const evaluate = () => evaluateLoss(contextWindows(corpus, 3, 128), (b) => ({ sum: lossOf(b, 'sum'), tokens: b.size }));
    const before = evaluate();
    await trainer.fit({ batches: (e) => contextWindows(corpus, 3, 32, { shuffle: true, seed: e }), epochs: 5 });
    const after = evaluate();
    expect(before.ppl).toBeCloseTo(8, 4); // zero init: uniform over V
    expect(after.ppl).toBeLessThan(1.1);
    model.dispose();
    opt.dispose();
  });

  it('hashes features deterministically, independently of the seed', () => {
    const cfg = { vocabSize: 50, context: 3, buckets: 1000, features: ['unigram@1', 'unigram@3', 'bigram@1-2', 'ngram@1-2-3'] };
    const a = new LogLinearLM({ ...cfg, seed: 1 });
    const b = new LogLinearLM({ ...cfg, seed: 99 });
    const ids = randomIds([20, 3], 50, 4).toArray() as Int32Array;
    const fa = a.featureIds(ids);
    expect(fa.length).toBe(20 * 4);
    expect(Array.from(b.featureIds(ids))).toEqual(Array.from(fa));
    expect(Array.from(a.featureIds(ids))).toEqual(Array.from(fa));
    for (const v of fa) expect(v >= 0 && v < 1000).toBe(true);
    // Row 0 is [ids0, ids1, ids2]: unigram@1 is the last token, unigram@3 the first.
    expect(fa[0]).toBe(hashFeature(fnv1a('ngram@1'), [ids[2]!], 1000));
    expect(fa[1]).toBe(hashFeature(fnv1a('ngram@3'), [ids[0]!], 1000));
    expect(fa[2]).toBe(hashFeature(fnv1a('ngram@1-2'), [ids[2]!, ids[1]!], 1000));
    // Fixed values: the hash is part of the saved-model format.
    expect(fnv1a('ngram@1')).toBe(4262898621);
    expect(hashFeature(fnv1a('ngram@1'), [7], 1 << 20)).toBe(83730);
    expect(hashFeature(fnv1a('ngram@1-2'), [3, 4], 1000003)).toBe(803912);
    // Different templates with the same token spread to different rows (mostly).
    let same = 0;
    for (let t = 0; t < 100; t++) if (hashFeature(fnv1a('ngram@1'), [t], 1000) === hashFeature(fnv1a('ngram@2'), [t], 1000)) same++;
    expect(same).toBeLessThan(5);
    // Custom templates: any key function.
    const c = new LogLinearLM({ vocabSize: 50, context: 3, buckets: 64, features: [{ name: 'parity', key: (ctx) => (ctx[2]! % 2 ? 'odd' : 'even') }] });
    const f = c.featureIds(Int32Array.of(1, 2, 3, 4, 5, 7));
    expect(f[0]).toBe(f[1]);
    expect(c.forward(Tensor.fromArray(Int32Array.of(1, 2, 3), [1, 3], 'int32')).shape).toEqual([1, 50]);
    a.dispose();
    b.dispose();
    c.dispose();
  });

  it('forward equals bias + the sum of the active feature rows', () => {
    const m = new LogLinearLM({ vocabSize: 6, context: 2, buckets: 5, initRange: 0.5, seed: 3 });
    const ids = Int32Array.of(1, 2, 5, 0, 3, 3);
    const logits = noGrad(() => m.forward(Tensor.fromArray(ids, [3, 2], 'int32')).toArray());
    const W = m.weight.toArray();
    const bias = m.bias.toArray();
    const fids = m.featureIds(ids);
    const F = m.numFeatures;
    expect(F).toBe(3); // unigram@1, unigram@2, bigram@1-2
    for (let b = 0; b < 3; b++) {
      for (let y = 0; y < 6; y++) {
        let s = bias[y]!;
        for (let f = 0; f < F; f++) s += W[fids[b * F + f]! * 6 + y]!;
        expect(logits[b * 6 + y]).toBeCloseTo(s, 5);
      }
    }
    m.dispose();
  });

  it('gradient of the loss wrt the table and bias matches finite differences', () => {
    // 7 buckets for 3 templates x 6 rows: repeated rows exercise the scatter-add.
    const m = new LogLinearLM({ vocabSize: 5, context: 2, buckets: 7, initRange: 0.5, seed: 2 });
    const ids = randomIds([6, 2], 5, 8);
    const targets = randomIds([6], 5, 9);
    gradCheck(() => crossEntropy(m.forward(ids), targets), [m.weight, m.bias], { maxChecks: 35 });
    m.dispose();
  });

  it('rejects bad configs and inputs', () => {
    expect(() => new LogLinearLM({ vocabSize: 0, context: 2, buckets: 8 })).toThrow(/vocabSize/);
    expect(() => new LogLinearLM({ vocabSize: 5, context: 2, buckets: 1.5 })).toThrow(/buckets/);
    expect(() => new LogLinearLM({ vocabSize: 5, context: 2, buckets: 8, features: [] })).toThrow(/non-empty/);
    expect(() => new LogLinearLM({ vocabSize: 5, context: 2, buckets: 8, features: ['unigram@3'] })).toThrow(/outside 1..context/);
    expect(() => new LogLinearLM({ vocabSize: 5, context: 2, buckets: 8, features: ['bigram@1'] })).toThrow(/2 position/);
    expect(() => new LogLinearLM({ vocabSize: 5, context: 2, buckets: 8, features: ['bigram@1-1'] })).toThrow(/repeats/);
    expect(() => new LogLinearLM({ vocabSize: 5, context: 2, buckets: 8, features: ['skipgram@1'] })).toThrow(/unknown feature/);
    expect(() => new LogLinearLM({ vocabSize: 5, context: 2, buckets: 8, features: ['unigram@1', 'unigram@1'] })).toThrow(/twice/);
    expect(() => new LogLinearLM({ vocabSize: 5, context: 2, buckets: 8, features: ['bigram@2-1', 'ngram@2-1'] })).toThrow(/twice/);
    const m = new LogLinearLM({ vocabSize: 5, context: 2, buckets: 8 });
    expect(() => m.forward(Tensor.fromArray(Int32Array.of(1, 2, 3), [1, 3], 'int32'))).toThrow(/shape \[B,2\]/);
    expect(() => m.forward(Tensor.fromArray(Int32Array.of(1, 9), [1, 2], 'int32'))).toThrow(/out of range/);
    m.dispose();
  });
});
