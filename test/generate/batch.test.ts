// BatchGenerator (lib/generate/batch.ts): concurrent generations from one model, one batched
// forward per step where the model allows (feed-forward, recurrent); each session yields what
// generate() yields for its prompt and seed.
import { describe, expect, it } from 'vitest';

import { BatchGenerator } from '../../lib/generate/batch.js';
import { generateAll, type GenerativeModel } from '../../lib/generate/generate.js';
import { FeedForwardLM } from '../../lib/models/ffnn.js';
import { MambaLM } from '../../lib/models/mamba.js';
import { RecurrentLM } from '../../lib/models/rnn.js';
import { TransformerLM } from '../../lib/models/transformer.js';

const V = 40;
const models: [string, () => GenerativeModel, boolean][] = [
  ['ffnn', () => new FeedForwardLM({ vocabSize: V, context: 3, embed: 8, hidden: 16, direct: true, seed: 2 }), true],
  ['lstm', () => new RecurrentLM({ vocabSize: V, cell: 'lstm', embed: 8, hidden: 12, layers: 2, dropout: 0, seed: 3, tieWeights: false }), true],
  ['rnn', () => new RecurrentLM({ vocabSize: V, cell: 'rnn', embed: 8, hidden: 8, layers: 1, dropout: 0, seed: 4, tieWeights: true }), true],
  ['transformer', () => new TransformerLM({ vocabSize: V, context: 16, embed: 16, heads: 2, layers: 1, dropout: 0, seed: 5 }), false],
  ['mamba', () => new MambaLM({ vocabSize: V, embed: 8, layers: 1, seed: 6 }), false],
];

async function drain(g: BatchGenerator, ids: number[]): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>(ids.map((i) => [i, []]));
  for (let guard = 0; g.size > 0 && guard < 1000; guard++) {
    for (const t of g.step()) if (t.token !== null) out.get(t.session)!.push(t.token);
  }
  return out;
}

describe('BatchGenerator', () => {
  for (const [name, make, batched] of models) {
    it(`${name}: every session yields generate()'s tokens; ${batched ? 'one batched forward per step' : 'one decoder per session'}`, async () => {
      const model = make();
      try {
        const prompts = [[1, 2, 3], [4], [5, 6, 7, 8, 9], [10, 11], [12, 13, 14]];
        const opts = prompts.map((_, i) => ({ maxTokens: 5 + i, temperature: i % 2 === 0 ? 0 : 0.9, topK: i === 3 ? 5 : undefined, seed: 10 + i }));
        const expected = await Promise.all(prompts.map((p, i) => generateAll(model, Int32Array.from(p), opts[i]!)));
        const g = new BatchGenerator(model);
        const ids = prompts.map((p, i) => g.add(Int32Array.from(p), opts[i]!));
        g.step(); // the first step: the prompts
        if (batched) expect(g.lastBatch.batched + g.lastBatch.single).toBe(5);
        const second = g.step();
        expect(second.filter((t) => t.token !== null)).toHaveLength(5);
        if (batched) expect(g.lastBatch.batched).toBe(5);
        else expect(g.lastBatch.single).toBe(5);
        g.dispose();
        // Again from the start, to compare all tokens.
        const g2 = new BatchGenerator(model);
        const ids2 = prompts.map((p, i) => g2.add(Int32Array.from(p), opts[i]!));
        const got = await drain(g2, ids2);
        ids2.forEach((id, i) => expect(got.get(id), `session ${i}`).toEqual([...expected[i]!]));
        expect(g2.size).toBe(0);
        void ids;
      } finally {
        model.dispose();
      }
    });
  }

  it('sessions join and leave while others run; cancel frees a session; bad input is refused', async () => {
    const model = models[1]![1]();
    try {
      const g = new BatchGenerator(model);
      const a = g.add(Int32Array.of(1, 2), { maxTokens: 6, temperature: 0 });
      g.step();
      g.step();
      const b = g.add(Int32Array.of(3), { maxTokens: 2, temperature: 0 });
      const c = g.add(Int32Array.of(4), { maxTokens: 50, temperature: 0 });
      const got = new Map<number, number[]>([[a, []], [b, []], [c, []]]);
      const s = g.step();
      expect(g.lastBatch).toEqual({ batched: 1, single: 2 });
      for (const t of s) if (t.token !== null) got.get(t.session)!.push(t.token);
      g.cancel(c);
      for (let i = 0; i < 10 && g.size > 0; i++) for (const t of g.step()) if (t.token !== null) got.get(t.session)!.push(t.token);
      expect(got.get(b)).toEqual([...(await generateAll(model, Int32Array.of(3), { maxTokens: 2, temperature: 0 }))]);
      expect(got.get(a)!.length).toBe(4); // 2 of its 6 tokens came before
      expect(got.get(c)).toHaveLength(1);
      expect(() => g.add(Int32Array.of(V), { maxTokens: 1 })).toThrow(/outside the vocabulary/);
      expect(() => g.add(Int32Array.of(1), { maxTokens: -1 })).toThrow(/maxTokens/);
      g.dispose();
    } finally {
      model.dispose();
    }
  });
});
