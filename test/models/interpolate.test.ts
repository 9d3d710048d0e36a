import { describe, expect, it } from 'vitest';
import { FeedForwardLM, KneserNeyLM, fitWeights, interpolate, ngramTokenProbs, windowTokenProbs } from '../../lib/index.js';

describe('model interpolation', () => {
  const ids = Int32Array.from({ length: 400 }, (_, i) => (i * 7 + (i % 3)) % 11);
  const lm = KneserNeyLM.train(ids, { order: 3, vocabSize: 11 });

  it('n-gram token probabilities give the same perplexity as the model evaluation', () => {
    const p = ngramTokenProbs(lm, ids);
    const mix = interpolate([p]);
    expect(mix.ppl).toBeCloseTo(lm.evaluate(ids).ppl, 9);
  });

  it('a window model gives the softmax probability of each target', () => {
    const m = new FeedForwardLM({ vocabSize: 11, context: 2, embed: 4, hidden: 5, direct: true, seed: 3 });
    const p = windowTokenProbs(m, ids, 2, 64);
    expect(p.probs.length).toBe(ids.length - 2);
    for (const v of p.probs) expect(v > 0 && v < 1).toBe(true);
    // An untrained model is close to uniform over 11 words.
    expect(interpolate([p]).ppl).toBeGreaterThan(8);
    expect(interpolate([p]).ppl).toBeLessThan(14);
    m.dispose();
  });

  it('mixes probabilities linearly, checks weights and alignment, and EM finds the better model', () => {
    const a = { from: 0, probs: Float64Array.from([0.5, 0.5, 0.5, 0.5]) };
    const b = { from: 0, probs: Float64Array.from([0.1, 0.1, 0.1, 0.1]) };
    expect(interpolate([a, b], [0.5, 0.5]).ppl).toBeCloseTo(1 / 0.3, 12);
    expect(() => interpolate([a, b], [0.7, 0.7])).toThrow(/sum to 1/);
    expect(() => interpolate([a, { from: 1, probs: b.probs }])).toThrow(/different positions/);
    const w = fitWeights([a, b], 100);
    expect(w[0]).toBeGreaterThan(0.99);
    // The mixture of two models is never worse than the tuned-weight bound says: its
    // log-likelihood is at least the weighted sum of theirs (Jensen).
    const c = { from: 0, probs: Float64Array.from([0.9, 0.05, 0.9, 0.05]) };
    const d = { from: 0, probs: Float64Array.from([0.05, 0.9, 0.05, 0.9]) };
    expect(interpolate([c, d]).ppl).toBeLessThan(Math.min(interpolate([c]).ppl, interpolate([d]).ppl));
  });
});
