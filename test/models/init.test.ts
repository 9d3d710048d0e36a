// The default initialisation rule (lib/nn/init.ts; measured in bench/results/init-study.json)
// and the initRange override of the recurrent and feed-forward LMs.
import { describe, expect, it } from 'vitest';
import { embeddingInitStd } from '../../lib/nn/init.js';
import { FeedForwardLM } from '../../lib/models/ffnn.js';
import { RecurrentLM } from '../../lib/models/rnn.js';
import type { Tensor } from '../../lib/tensor.js';

function stats(t: Tensor): { std: number; maxAbs: number; mean: number } {
  const a = t.toArray() as Float32Array;
  let s = 0;
  let s2 = 0;
  let m = 0;
  for (const x of a) {
    s += x;
    s2 += x * x;
    m = Math.max(m, Math.abs(x));
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean), maxAbs: m };
}

describe('default init rule', () => {
  it('embedding std: unit for small vocabularies, c/sqrt(V) for large ones (c = 48 recurrent, 16 feed-forward)', () => {
    expect(embeddingInitStd(50, 'feedForward')).toBe(1);
    expect(embeddingInitStd(256, 'feedForward')).toBe(1);
    expect(embeddingInitStd(2304, 'recurrent')).toBe(1);
    expect(embeddingInitStd(16384, 'feedForward')).toBeCloseTo(16 / 128, 12);
    expect(embeddingInitStd(16384, 'recurrent')).toBeCloseTo(48 / 128, 12);
    expect(embeddingInitStd(1 << 20, 'recurrent')).toBeCloseTo(48 / 1024, 12);
  });

  it('RecurrentLM (untied): embedding ~ N(0, rule), recurrent and output U(+-1/sqrt(H))', () => {
    const H = 64;
    const m = new RecurrentLM({ vocabSize: 40, cell: 'lstm', embed: 32, hidden: H, layers: 2, seed: 3 });
    try {
      const e = stats(m.embeddingWeight);
      expect(e.std).toBeGreaterThan(0.9 * embeddingInitStd(40, 'recurrent'));
      expect(e.std).toBeLessThan(1.1 * embeddingInitStd(40, 'recurrent'));
      const bound = 1 / Math.sqrt(H);
      for (const t of [m.layers[0]!.weightIh, m.layers[1]!.weightHh, m.layers[1]!.bias, m.outputWeight, m.outputBias]) {
        const s = stats(t);
        expect(s.maxAbs).toBeLessThanOrEqual(bound);
        expect(s.maxAbs).toBeGreaterThan(0.8 * bound);
        if (t.size >= 1000) expect(Math.abs(s.std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(0.05);
      }
      expect(m.config.initRange).toBeUndefined();
    } finally {
      m.dispose();
    }
  });

  it('RecurrentLM (tied): the shared table ~ N(0, s^2) by the same rule', () => {
    const m = new RecurrentLM({ vocabSize: 9216, cell: 'rnn', embed: 100, hidden: 100, layers: 1, tieWeights: true, seed: 1 });
    try {
      expect(m.outputWeight).toBe(m.embeddingWeight);
      const s = stats(m.embeddingWeight);
      expect(s.std).toBeGreaterThan(0.95 * 0.5);
      expect(s.std).toBeLessThan(1.05 * 0.5);
    } finally {
      m.dispose();
    }
  });

  it('initRange overrides everything with U(+-initRange) (the pre-study default was 0.05)', () => {
    const m = new RecurrentLM({ vocabSize: 40, cell: 'lstm', embed: 16, hidden: 16, layers: 1, seed: 2, initRange: 0.05 });
    try {
      for (const [, p] of m.namedParameters()) {
        const s = stats(p);
        expect(s.maxAbs).toBeLessThanOrEqual(0.05);
        expect(s.maxAbs).toBeGreaterThan(0.04);
      }
      expect(m.config.initRange).toBe(0.05);
    } finally {
      m.dispose();
    }
    expect(() => new RecurrentLM({ vocabSize: 4, cell: 'rnn', embed: 2, hidden: 2, layers: 1, initRange: 0 })).toThrow(/initRange/);
  });

  it('FeedForwardLM: embedding by the rule, or U(+-initRange) when given', () => {
    const base = { vocabSize: 10000, context: 3, embed: 16, hidden: 8, direct: false, seed: 4 };
    const a = new FeedForwardLM(base);
    const b = new FeedForwardLM({ ...base, initRange: 0.1 });
    try {
      const sa = stats(a.embedding.weight);
      expect(sa.std).toBeGreaterThan(0.95 * 0.16);
      expect(sa.std).toBeLessThan(1.05 * 0.16);
      const sb = stats(b.embedding.weight);
      expect(sb.maxAbs).toBeLessThanOrEqual(0.1);
      expect(sb.std).toBeCloseTo(0.1 / Math.sqrt(3), 3);
    } finally {
      a.dispose();
      b.dispose();
    }
    expect(() => new FeedForwardLM({ ...base, initRange: -1 })).toThrow(/initRange/);
  });
});
