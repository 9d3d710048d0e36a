// The training API as a TypeScript user meets it (issue 18): in-memory corpora next to paths,
// and loadTrained's tokenizer for every checkpoint kind (a Brown word model included), so one
// code path encodes prompts for all.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { WordTokenizer, tokenizerFromJSON } from '../../lib/data/tokenizers.js';
import { Vocab } from '../../lib/data/vocab.js';
import { loadAnyTrained, loadTrained } from '../../lib/train/checkpointing.js';
import { runTraining } from '../../lib/train/run.js';

const root = mkdtempSync(join(tmpdir(), 'lmkit-api-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const text = 'the cat sat on the mat . the dog sat on the log . '.repeat(120);

describe('runTraining: in-memory corpora', () => {
  it('{ text } trains (split 90/5/5), and the checkpoint records the name, not the text', async () => {
    const out = join(root, 'mem');
    const r = await runTraining({ model: 'ffnn', corpus: { text, name: 'pets' }, minCount: 1, steps: 5, batch: 8, embed: 8, hidden: 8, out });
    expect(r.steps).toBe(5);
    expect(Number.isFinite(r.validPpl)).toBe(true);
    expect(r.config).toMatchObject({ corpus: 'pets', tokenizer: 'word', vocabSize: 9, lr: 0.002, batch: 8 });
    const t = loadTrained(out);
    try {
      expect(t.meta.corpus).toBe('pets');
      expect((t.meta.training as { options: { corpus: unknown } }).options.corpus).toBe('pets');
      expect(t.tokenizer.kind).toBe('word');
    } finally {
      t.model.dispose();
    }
  });

  it('{ train, valid, test } takes the splits as given; a bad corpus is a clear error', async () => {
    const infos: string[] = [];
    const r = await runTraining(
      { model: 'ngram', corpus: { train: text, valid: text.slice(0, 400), test: text.slice(0, 300) }, minCount: 1 },
      { info: (m) => infos.push(m) },
    );
    expect(infos[0]).toMatch(/^corpus in-memory text: [\d,]+ characters in memory; 1,680 train \/ 112 valid \/ 84 test tokens/);
    expect(r.validPpl).toBeGreaterThan(1);
    await expect(runTraining({ model: 'ffnn', corpus: { text: '  ' } })).rejects.toThrow(/corpus\.text is empty/);
    await expect(runTraining({ model: 'ffnn', corpus: { train: 'a b', valid: 3 } as never })).rejects.toThrow(/corpus\.valid must be a string/);
    await expect(runTraining({ model: 'ffnn', corpus: 42 as never })).rejects.toThrow(/unknown corpus 42/);
  });
});

describe('loadTrained: a tokenizer for every checkpoint', () => {
  it('a Brown (word) model gets a whitespace-split word tokenizer over its vocabulary', async () => {
    const out = join(root, 'brown');
    await runTraining({ model: 'ffnn', corpus: 'brown', steps: 1, evalTokens: 500, test: false, out });
    const t = loadTrained(out);
    try {
      expect(t.tokenizer).not.toBeNull();
      expect(t.tokenizer).toBeInstanceOf(WordTokenizer);
      expect((t.tokenizer as WordTokenizer).split).toBe('whitespace');
      expect(t.tokenizer.vocabSize).toBe(t.vocab.size);
      // Exactly the CLI's Brown encoding: whitespace-split words through the vocabulary.
      const prompt = 'The jury said , "  it was zzqx ."';
      expect([...t.tokenizer.encode(prompt)]).toEqual([...t.vocab.encode(prompt.split(/\s+/).filter((w) => w !== ''))]);
      expect(t.tokenizer.decode(t.tokenizer.encode('The jury'))).toBe('The jury');
    } finally {
      t.model.dispose();
    }
    const n = join(root, 'brown-ngram');
    await runTraining({ model: 'ngram', corpus: 'brown', evalTokens: 500, test: false, out: n });
    const g = loadAnyTrained(n);
    expect(g.kind).toBe('ngram');
    expect(g.tokenizer.encode('The jury').length).toBe(2);
  }, 60_000);

  it('the whitespace split survives the JSON round trip; a bad split value is refused', () => {
    const w = new WordTokenizer(new Vocab(['<unk>', 'a', 'b,']), { split: 'whitespace' });
    expect([...w.encode('a b, c')]).toEqual([1, 2, 0]);
    const back = tokenizerFromJSON(w.toJSON());
    expect([...back.encode('a b, c')]).toEqual([1, 2, 0]);
    expect([...new WordTokenizer(new Vocab(['<unk>', 'a', 'b,'])).encode('a b, c')]).toEqual([1, 0, 0, 0]); // splitWords: 'b' ',' 'c'
    expect(() => tokenizerFromJSON({ kind: 'word', tokens: ['<unk>'], split: 'x' as never })).toThrow(/split must be/);
  });
});
