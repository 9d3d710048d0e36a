// Token files (lib/data/tokenfile.ts), token sources (lib/data/tokensource.ts) and streamed
// text reading (lib/data/textstream.ts): round trips, batches equal to the in-memory
// loaders, reads that stay small on a file larger than the window budget, and chunked
// tokenization equal to whole-text tokenization.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { bpttBatches } from '../../lib/data/bptt.js';
import { buildTokenizer, buildTokenizerStreaming } from '../../lib/data/build-tokenizer.js';
import { readTextSample, textPieces } from '../../lib/data/textstream.js';
import { TokenFile, TokenFileWriter } from '../../lib/data/tokenfile.js';
import { BpeTokenizer, CharTokenizer, WordTokenizer } from '../../lib/data/tokenizers.js';
import { ArrayTokenSource, RangeTokenSource, bpttBatchesFrom, evaluateInChunks, randomWindowsFrom } from '../../lib/data/tokensource.js';
import { Vocab } from '../../lib/data/vocab.js';
import { randomWindows } from '../../lib/data/windows.js';

const root = mkdtempSync(join(tmpdir(), 'lmkit-tokfile-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function seeded(n: number, V: number, seed = 7): Int32Array {
  let s = seed;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = s % V;
  }
  return out;
}

function wordTokenizer(V: number): WordTokenizer {
  return new WordTokenizer(new Vocab(['<unk>', ...Array.from({ length: V - 1 }, (_, i) => `w${i}`)]));
}

function writeTokens(path: string, tok: WordTokenizer, ids: Int32Array, chunk = 1000): void {
  const w = new TokenFileWriter(path, tok);
  for (let i = 0; i < ids.length; i += chunk) w.append(ids.subarray(i, i + chunk));
  w.finish();
}

describe('TokenFile', () => {
  it.each([
    [50, 'uint16'],
    [70_000, 'uint32'],
  ] as const)('round-trips ids written in chunks (vocabulary %i -> %s) with the tokenizer in the header', (V, dtype) => {
    const path = join(root, `rt-${V}.bin`);
    const tok = wordTokenizer(V);
    const ids = seeded(10_007, V);
    writeTokens(path, tok, ids);
    const f = TokenFile.open(path);
    try {
      expect(f.dtype).toBe(dtype);
      expect(f.length).toBe(ids.length);
      expect(f.tokenizer.vocabSize).toBe(V);
      expect(f.tokenizerJSON).toEqual(tok.toJSON());
      expect(Array.from(f.read(0, ids.length))).toEqual(Array.from(ids));
      expect(Array.from(f.read(5000, 17))).toEqual(Array.from(ids.subarray(5000, 5017)));
      expect(f.read(ids.length, 0)).toHaveLength(0);
      expect(() => f.read(ids.length - 2, 3)).toThrow(RangeError);
    } finally {
      f.close();
    }
  });

  it('random windows and BPTT batches from a file equal the in-memory loaders', () => {
    const path = join(root, 'batches.bin');
    const ids = seeded(20_000, 300);
    writeTokens(path, wordTokenizer(300), ids);
    const f = TokenFile.open(path);
    try {
      for (const seed of [1, 2, 99]) expect(randomWindowsFrom(f, 8, 32, seed)).toEqual(randomWindows(ids, 8, 32, seed));
      const a = [...bpttBatches(ids, 5, 35)];
      const b = [...bpttBatchesFrom(f, 5, 35)];
      expect(b).toEqual(a);
      // A range (the train split) reads at its offset.
      const r = new RangeTokenSource(f, 100, 19_000);
      expect(randomWindowsFrom(r, 4, 16, 3)).toEqual(randomWindows(ids.subarray(100, 19_000), 4, 16, 3));
    } finally {
      f.close();
    }
  });

  it('reads only the requested windows of a file far larger than the window budget', () => {
    // 24 Mi uint16 tokens = 48 MiB on disk; each batch needs 16 x 65 tokens.
    const path = join(root, 'big.bin');
    const n = 24 << 20;
    const tok = wordTokenizer(1000);
    const w = new TokenFileWriter(path, tok);
    const block = seeded(1 << 20, 1000);
    for (let i = 0; i < n; i += block.length) w.append(block);
    w.finish();
    const f = TokenFile.open(path);
    try {
      expect(f.length).toBe(n);
      const before = process.memoryUsage().arrayBuffers;
      let check = 0;
      for (let s = 0; s < 300; s++) {
        const b = randomWindowsFrom(f, 16, 64, s);
        check += b.inputs[0]!;
      }
      const grown = process.memoryUsage().arrayBuffers - before;
      expect(check).toBeGreaterThan(0);
      expect(grown).toBeLessThan(8 << 20); // far below the 48 MiB file
      const t = f.read(n - 65, 65);
      expect(Array.from(t)).toEqual(Array.from(block.subarray(block.length - 65)));
    } finally {
      f.close();
    }
  });

  it('evaluates a file source in chunks with token-weighted losses', () => {
    const ids = seeded(1000, 10);
    const mean = (a: Int32Array) => {
      let s = 0;
      for (let i = 1; i < a.length; i++) s += a[i]!;
      return { loss: s / (a.length - 1), ppl: 0, tokens: a.length - 1 };
    };
    const whole = mean(ids);
    const other = { length: ids.length, read: (o: number, k: number) => ids.slice(o, o + k) };
    const chunked = evaluateInChunks(mean, other, 100);
    expect(chunked.tokens).toBe(999);
    expect(chunked.loss).toBeCloseTo(whole.loss, 10);
    expect(evaluateInChunks(mean, new ArrayTokenSource(ids))).toEqual(whole);
  });

  it('a killed writer leaves no file; appending an out-of-vocabulary id throws', () => {
    const path = join(root, 'aborted.bin');
    const w = new TokenFileWriter(path, wordTokenizer(10));
    w.append(Int32Array.of(1, 2, 3));
    expect(() => w.append(Int32Array.of(10))).toThrow(/outside the vocabulary/);
    w.abort();
    expect(() => TokenFile.open(path)).toThrow(/does not exist/);
  });
});

describe('streamed text', () => {
  const text =
    'Héllo wörld, naïve café!  Über\tthe   lazy dög 🦊🦊 jumps.\n\nA second  paragraph: don’t stop; 日本語のテキスト here.\n' +
    'tail   ';
  const file = join(root, 'text.txt');
  writeFileSync(file, `\uFEFF${text.repeat(20)}`);
  const whole = text.repeat(20);

  it.each([3, 7, 64, 1 << 20])('pieces at chunk size %i rebuild the text and tokenize like the whole text', (chunkBytes) => {
    const pieces = [...textPieces(file, { chunkBytes })].map((p) => p.text);
    expect(pieces.join('')).toBe(whole);
    for (const tok of [WordTokenizer.build(whole), CharTokenizer.build(whole), BpeTokenizer.train(whole, { vocabSize: 300 })]) {
      const parts = pieces.map((p) => Array.from(tok.encode(p))).flat();
      expect(parts).toEqual(Array.from(tok.encode(whole)));
    }
  });

  it('folder files are joined by a newline, empty files skipped', () => {
    const d = join(root, 'folder');
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d);
    writeFileSync(join(d, 'a.txt'), 'one two');
    writeFileSync(join(d, 'b.txt'), '');
    writeFileSync(join(d, 'c.txt'), 'three');
    expect([...textPieces(d, { chunkBytes: 2 })].map((p) => p.text).join('')).toBe('one two\nthree');
  });

  it('invalid UTF-8 split across chunks is reported at its file offset', () => {
    const bad = join(root, 'bad.txt');
    writeFileSync(bad, Buffer.concat([Buffer.from('abcdéfgh'), Buffer.from([0xe2, 0x82]), Buffer.from('xyz')]));
    for (const chunkBytes of [1, 4, 1024]) {
      expect(() => [...textPieces(bad, { chunkBytes })]).toThrow(/bad\.txt: invalid UTF-8 at byte offset 9 /);
    }
  });

  it('a sample reads only the first bytes; streamed tokenizer building equals building on the text', () => {
    const sample = readTextSample(file, 13); // BOM (3 bytes) + 10 bytes of text
    expect(whole.startsWith(sample)).toBe(true);
    expect(sample).toBe('Héllo wö');
    const pieces = [...textPieces(file, { chunkBytes: 5 })].map((p) => p.text);
    for (const kind of ['word', 'char'] as const) {
      for (const minCount of [1, 3]) {
        expect(buildTokenizerStreaming({ kind, minCount }, pieces).toJSON()).toEqual(buildTokenizer({ kind, minCount }, whole).toJSON());
      }
    }
  });
});
