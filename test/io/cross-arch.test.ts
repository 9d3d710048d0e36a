// A checkpoint written on one architecture loads and generates the same tokens on another.
// test/fixtures/cross-arch/ holds LSTM, Transformer and feed-forward checkpoints trained with
// `lmkit train` on x86-64 (scripts/arm64/make-cross-arch-fixture.mjs) and the token ids they
// generated there, greedy and with seeded sampling. This file runs in `npm test` (x86-64) and in
// `npm run test:arm64` (the arm64 Node under qemu, NEON and generic kernels).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { generateAll } from '../../lib/generate/generate.js';
import { encodeText } from '../../lib/data/training-corpus.js';
import { native } from '../../lib/native/index.js';
import { loadTrained } from '../../lib/train/checkpointing.js';
import type { FeedForwardLM } from '../../lib/models/ffnn.js';
import type { RecurrentLM } from '../../lib/models/rnn.js';
import type { TransformerLM } from '../../lib/models/transformer.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/cross-arch');
interface Gen {
  prompt: string;
  promptIds: number[];
  greedy: number[];
  sampled: number[];
}
const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as {
  machine: string;
  simd: string;
  models: Record<string, Gen[]>;
};

describe(`checkpoints from ${expected.machine} (${expected.simd}) on ${process.arch} (${native.simd})`, () => {
  for (const [name, gens] of Object.entries(expected.models)) {
    it(`${name}: loads and generates the same tokens (greedy and seeded sampling)`, async () => {
      const t = loadTrained(path.join(dir, name));
      try {
        expect(t.kind).toBe(name);
        const model = t.model as FeedForwardLM | RecurrentLM | TransformerLM;
        for (const g of gens) {
          const ids = encodeText(t, g.prompt);
          expect([...ids]).toEqual(g.promptIds);
          const greedy = await generateAll(model, ids, { maxTokens: g.greedy.length, temperature: 0 });
          expect([...greedy], `${name} greedy after '${g.prompt}'`).toEqual(g.greedy);
          const sampled = await generateAll(model, ids, { maxTokens: g.sampled.length, temperature: 0.9, seed: 11 });
          expect([...sampled], `${name} sampled after '${g.prompt}'`).toEqual(g.sampled);
        }
      } finally {
        t.model.dispose();
      }
    });
  }
});
