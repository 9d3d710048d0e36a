import { describe, expect, it } from 'vitest';

import { KneserNeyLM, estimateDiscounts } from '../../lib/models/ngram.js';
import type { KneserNeyJSON } from '../../lib/models/ngram.js';
import { rng } from '../helpers.js';

/** A seeded Zipf-like corpus: rich enough that every count-of-count n1..n4 is non-zero. */
function zipfCorpus(n: number, V: number, seed: number): Int32Array {
  const r = rng(seed);
  const weights = Array.from({ length: V }, (_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let u = r() * total;
    let w = 0;
    while (w < V - 1 && u >= weights[w]!) u -= weights[w++]!;
    out[i] = w;
  }
  return out;
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

describe('KneserNeyLM (interpolated modified Kneser-Ney)', () => {
  it('gives a normalised distribution for seen, unseen, empty and long contexts, orders 1-5', () => {
    const V = 30;
    // Token V-1 never occurs in training.
    const ids = zipfCorpus(600, V - 1, 11);
    for (let order = 1; order <= 5; order++) {
      const lm = KneserNeyLM.train(ids, { order, vocabSize: V });
      const contexts: number[][] = [
        [],
        Array.from(ids.subarray(100, 104)),
        Array.from(ids.subarray(0, 2)),
        Array.from(ids.subarray(596, 600)), // the very end of the text (may have no continuation)
        [V - 1, V - 1, V - 1, V - 1], // unseen token everywhere
        [ids[7]!, V - 1, ids[9]!, ids[10]!], // unseen in the middle
        Array.from(ids.subarray(200, 210)), // longer than the order
      ];
      for (const ctx of contexts) {
        const p = lm.probs(ctx);
        expect(Math.abs(sum(p) - 1), `order ${order} context [${ctx}]`).toBeLessThan(1e-9);
        for (let w = 0; w < V; w++) expect(p[w]!).toBeGreaterThan(0);
        expect(lm.prob(ctx, 3)).toBe(p[3]);
        expect(lm.logProb(ctx, 3)).toBeCloseTo(Math.log(p[3]!), 12);
      }
    }
  });

  it('matches a hand computation for order 2', () => {
    // Text: 0 1 0 2 0 1, V = 4 (token 3 never seen); fixed discounts.
    const ids = Int32Array.from([0, 1, 0, 2, 0, 1]);
    const D = [
      [0.5, 1.0, 1.5],
      [0.7, 1.2, 1.8],
    ] as const;
    const lm = KneserNeyLM.train(ids, { order: 2, vocabSize: 4, discounts: [D[0], D[1]] });
    const disc = (d: readonly number[], c: number): number => (c === 0 ? 0 : c === 1 ? d[0]! : c === 2 ? d[1]! : d[2]!);

    // Unigram level: continuation counts = distinct left neighbours (start of text counts as one).
    // 0 follows {start, 1, 2} -> 3; 1 follows {0} -> 1; 2 follows {0} -> 1; 3 -> 0.
    const cc = [3, 1, 1, 0];
    const T1 = 3 + 1 + 1;
    const gamma1 = (D[0][0] * 2 + D[0][2] * 1) / T1; // two tokens with count 1, one with count 3
    const p1 = cc.map((c) => Math.max(c - disc(D[0], c), 0) / T1 + gamma1 / 4);
    expect(p1[0]).toBeCloseTo(0.425, 12);
    expect(p1[3]).toBeCloseTo(0.125, 12);
    for (let w = 0; w < 4; w++) expect(lm.prob([], w)).toBeCloseTo(p1[w]!, 12);

    // Bigram level, context 0: raw counts c(0 1) = 2, c(0 2) = 1.
    const c0 = [0, 2, 1, 0];
    const T2 = 3;
    const gamma2 = (D[1][1] * 1 + D[1][0] * 1) / T2;
    const p2 = c0.map((c, w) => Math.max(c - disc(D[1], c), 0) / T2 + gamma2 * p1[w]!);
    expect(p2[1]).toBeCloseTo((2 - 1.2 + 1.9 * 0.225) / 3, 12);
    for (let w = 0; w < 4; w++) expect(lm.prob([0], w)).toBeCloseTo(p2[w]!, 12);
    // Context 1: only c(1 0) = 1.
    const gamma1ctx = D[1][0] / 1;
    expect(lm.prob([1], 0)).toBeCloseTo(1 - D[1][0] + gamma1ctx * p1[0]!, 12);
    expect(lm.prob([1], 2)).toBeCloseTo(gamma1ctx * p1[2]!, 12);
    // Context 3 was never seen: full back-off to the unigram level.
    for (let w = 0; w < 4; w++) expect(lm.prob([3], w)).toBeCloseTo(p1[w]!, 12);
    // Longer contexts only use the last token.
    expect(lm.prob([3, 2, 0], 1)).toBeCloseTo(p2[1]!, 12);

    // evaluate: position 0 uses the empty context, the rest one previous token.
    const expected = -(Math.log(p1[0]!) + Math.log(lm.prob([0], 1)) + Math.log(lm.prob([1], 0)) + Math.log(lm.prob([0], 2))) / 4;
    const ev = lm.evaluate(Int32Array.from([0, 1, 0, 2]));
    expect(ev.tokens).toBe(4);
    expect(ev.loss).toBeCloseTo(expected, 12);
    expect(ev.ppl).toBeCloseTo(Math.exp(expected), 10);
  });

  it('estimates the discounts of every order from its count-of-counts (Chen & Goodman)', () => {
    const V = 200;
    const ids = zipfCorpus(4000, V, 5);
    const lm = KneserNeyLM.train(ids, { order: 3, vocabSize: V });
    // Independent counts with string keys: raw trigrams, continuation counts below.
    const key = (i: number, k: number): string => Array.from(ids.subarray(i, i + k)).join(',');
    const raw = new Map<string, number>();
    for (let i = 0; i + 3 <= ids.length; i++) raw.set(key(i, 3), (raw.get(key(i, 3)) ?? 0) + 1);
    const left = (k: number): Map<string, Set<number>> => {
      const m = new Map<string, Set<number>>();
      for (let i = 0; i + k <= ids.length; i++) {
        const s = m.get(key(i, k)) ?? new Set<number>();
        s.add(i === 0 ? -1 : ids[i - 1]!);
        m.set(key(i, k), s);
      }
      return m;
    };
    const countsPerOrder = [
      [...left(1).values()].map((s) => s.size),
      [...left(2).values()].map((s) => s.size),
      [...raw.values()],
    ];
    const coc = countsPerOrder.map((cs) => [1, 2, 3, 4].map((i) => cs.filter((c) => c === i).length));
    expect(lm.countOfCounts()).toEqual(coc);
    expect(lm.ngramCounts).toEqual(countsPerOrder.map((c) => c.length));
    for (let k = 0; k < 3; k++) {
      const [n1, n2, n3, n4] = coc[k]!;
      expect(n1! * n2! * n3! * n4!, `order ${k + 1} has every count-of-count`).toBeGreaterThan(0);
      const Y = n1! / (n1! + 2 * n2!);
      const want = [1 - (2 * Y * n2!) / n1!, 2 - (3 * Y * n3!) / n2!, 3 - (4 * Y * n4!) / n3!];
      for (let i = 0; i < 3; i++) {
        expect(lm.discounts[k]![i]!).toBeCloseTo(want[i]!, 12);
        expect(lm.discounts[k]![i]!).toBeGreaterThan(0);
        expect(lm.discounts[k]![i]!).toBeLessThanOrEqual(i + 1);
      }
    }
  });

  it('keeps estimated discounts in range on degenerate counts', () => {
    for (const n of [
      [0, 0, 0, 0],
      [5, 0, 0, 0],
      [1, 10, 0, 3],
      [1, 1, 100, 1000],
    ]) {
      const d = estimateDiscounts(n[0]!, n[1]!, n[2]!, n[3]!);
      d.forEach((x, i) => {
        expect(x).toBeGreaterThan(0);
        expect(x).toBeLessThanOrEqual(i + 1);
      });
    }
    // Tiny corpora still train and normalise.
    const lm = KneserNeyLM.train(Int32Array.from([1, 1]), { order: 4, vocabSize: 3 });
    expect(Math.abs(sum(lm.probs([1, 1, 1])) - 1)).toBeLessThan(1e-12);
    const empty = KneserNeyLM.train(new Int32Array(0), { order: 3, vocabSize: 5 });
    expect(empty.prob([2], 4)).toBeCloseTo(0.2, 15);
  });

  it('higher orders give lower perplexity on a repetitive text', () => {
    // A random cycle of 48 tokens over 3 symbols, repeated: each longer context disambiguates more.
    const r = rng(21);
    const pattern = Array.from({ length: 48 }, () => Math.floor(r() * 3));
    const ids = Int32Array.from({ length: 2400 }, (_, i) => pattern[i % pattern.length]!);
    const ppl = [1, 2, 3, 4, 5].map((order) => KneserNeyLM.train(ids, { order, vocabSize: 4 }).evaluate(ids).ppl);
    expect(ppl[0]!).toBeGreaterThan(2.5);
    for (let k = 1; k < 5; k++) expect(ppl[k]!, `order ${k + 1} vs ${k}: ${ppl}`).toBeLessThan(ppl[k - 1]!);
    expect(ppl[4]!).toBeLessThan(1.5);
  });

  it('saves and loads through JSON', () => {
    const ids = zipfCorpus(800, 25, 3);
    const lm = KneserNeyLM.train(ids, { order: 4, vocabSize: 25 });
    const copy = KneserNeyLM.fromJSON(JSON.parse(JSON.stringify(lm.toJSON())) as KneserNeyJSON);
    const test = zipfCorpus(300, 25, 4);
    expect(copy.evaluate(test).loss).toBe(lm.evaluate(test).loss);
    expect(copy.discounts).toEqual(lm.discounts);
    expect(() => KneserNeyLM.fromJSON({ kind: 'other' } as unknown as KneserNeyJSON)).toThrow(/not a saved/);
  });

  it('rejects bad arguments with clear errors', () => {
    const ids = Int32Array.from([0, 1, 2, 1]);
    expect(() => KneserNeyLM.train(ids, { order: 0, vocabSize: 3 })).toThrow(/order must be a positive integer/);
    expect(() => KneserNeyLM.train(ids, { order: 2.5, vocabSize: 3 })).toThrow(/order must be a positive integer/);
    expect(() => KneserNeyLM.train(ids, { order: 2, vocabSize: 0 })).toThrow(/vocabSize must be a positive integer/);
    expect(() => KneserNeyLM.train(ids, { order: 2, vocabSize: 2 })).toThrow(/ids\[2\] = 2 is out of range \[0, 2\)/);
    expect(() => KneserNeyLM.train([0, -1], { order: 2, vocabSize: 2 })).toThrow(/out of range/);
    expect(() => KneserNeyLM.train(ids, { order: 2, vocabSize: 3, discounts: [[0.5, 1, 1.5]] })).toThrow(/each of the 2 orders/);
    expect(() =>
      KneserNeyLM.train(ids, {
        order: 1,
        vocabSize: 3,
        discounts: [[1.5, 1, 1.5]],
      }),
    ).toThrow(/D1 of order 1 must be in \(0, 1\]/);
    const lm = KneserNeyLM.train(ids, { order: 2, vocabSize: 3 });
    expect(() => lm.logProb([0], 3)).toThrow(/token 3 is out of range/);
    expect(() => lm.logProb([7], 0)).toThrow(/context\[0\] = 7 is out of range/);
    expect(() => lm.evaluate(Int32Array.from([0, 5]))).toThrow(/ids\[1\] = 5 is out of range/);
    expect(() => lm.evaluate(new Int32Array(0))).toThrow(/at least one token/);
  });
});
