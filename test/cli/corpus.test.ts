// `lmkit train --corpus FILE|DIR|FILE.bin --tokenizer ...`, `lmkit tokenize`, and `lmkit
// eval/generate` on the checkpoints, through the built CLI (dist/cli/index.js) as a user
// runs them; bad corpora exit 1 with one line on stderr.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lmkit, doneEvent as done, expectOneLineError } from '../support/cli.js';

/** A small seeded text: sentences over a 30-word vocabulary, with a few non-ASCII words. */
function syntheticText(words: number, seed = 1): string {
  const W = 'the a cat dog sat on mat and ran to house big small red blue saw it was in café naïve über . , ! one two three of with'.split(' ');
  let s = seed;
  const r = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  let out = '';
  for (let i = 0; i < words; i++) out += W[Math.floor(r() * W.length)] + (i % 13 === 12 ? '\n' : ' ');
  return out;
}

const SMALL = ['--steps', '3', '--embed', '8', '--hidden', '8', '--json'];

let root = '';
let file = '';

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'lmkit-corpus-'));
  file = join(root, 'corpus.txt');
  writeFileSync(file, syntheticText(6000));
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe.each([
  { tokenizer: 'char', model: 'transformer', extra: ['--context', '16', '--heads', '2'] },
  { tokenizer: 'word', model: 'lstm', extra: ['--context', '8', '--batch', '4'] },
  { tokenizer: 'bpe', model: 'ffnn', extra: ['--bpe-vocab', '300'] },
])('train --corpus FILE --tokenizer $tokenizer ($model), then eval / generate', ({ tokenizer, model, extra }) => {
  let dir = '';
  let validPpl = 0;
  let testPpl = 0;

  beforeAll(() => {
    dir = join(root, `ck-${tokenizer}`);
    const r = lmkit('train', '--model', model, '--corpus', file, '--tokenizer', tokenizer, ...extra, ...SMALL, '--out', dir);
    expect(r.code, r.stderr).toBe(0);
    const d = done(r.stdout);
    expect(d.checkpoint).toBe(dir);
    validPpl = d.valid_ppl as number;
    testPpl = d.test_ppl as number;
    expect(r.stderr).toMatch(new RegExp(`${tokenizer} tokenizer built on train`));
  }, 60_000);

  it('saves the training tokenizer in checkpoint.json', () => {
    const meta = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { meta: Record<string, unknown> };
    const m = (meta.meta ?? meta) as { tokenizer?: { kind: string }; corpus?: string; vocab?: unknown };
    expect(m.tokenizer?.kind).toBe(tokenizer);
    expect(m.corpus).toBe(file);
    expect(m.vocab).toBeUndefined();
  });

  it('eval on the training corpus (its default) and on --corpus FILE --split test reproduces the run', () => {
    const v = lmkit('eval', '--checkpoint', dir, '--json');
    expect(v.code, v.stderr).toBe(0);
    const ev = JSON.parse(v.stdout) as { ppl: number; corpus: string };
    expect(ev.corpus).toBe(file);
    expect(Math.abs(ev.ppl - validPpl) / validPpl).toBeLessThan(1e-9);
    const t = lmkit('eval', '--checkpoint', dir, '--corpus', file, '--split', 'test', '--json');
    expect(t.code, t.stderr).toBe(0);
    expect(Math.abs((JSON.parse(t.stdout) as { ppl: number }).ppl - testPpl) / testPpl).toBeLessThan(1e-9);
  });

  it('generate encodes the prompt with the checkpoint tokenizer and prints text, reproducibly', () => {
    const args = ['generate', '--checkpoint', dir, '--prompt', 'the cat ', '--max-tokens', '12', '--seed', '3'];
    const a = lmkit(...args);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout.trim().length).toBeGreaterThan(0);
    expect(lmkit(...args).stdout).toBe(a.stdout);
    if (tokenizer === 'word') expect(a.stdout.trim().split(/\s+/)).toHaveLength(12);
  });
});

describe('train --corpus DIR', () => {
  it('reads every *.txt of a folder (recursively) and trains', () => {
    const d = join(root, 'folder');
    mkdirSync(join(d, 'sub'), { recursive: true });
    writeFileSync(join(d, 'a.txt'), syntheticText(3000, 2));
    writeFileSync(join(d, 'sub', 'b.txt'), syntheticText(3000, 3));
    writeFileSync(join(d, 'ignored.md'), 'not read');
    const r = lmkit('train', '--model', 'ffnn', '--corpus', d, ...SMALL);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\(2 files\)/);
    expect(Number.isFinite(done(r.stdout).valid_ppl)).toBe(true);
  });
});

describe('tokenize --out FILE.bin, then train --corpus FILE.bin', () => {
  let bin = '';
  beforeAll(() => {
    bin = join(root, 'corpus.bin');
    const r = lmkit('tokenize', '--corpus', file, '--tokenizer', 'word', '--out', bin, '--chunk-mb', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote .*corpus\.bin: 6000 tokens \(uint16\)/);
    expect(r.stderr).toMatch(/tokenize: .*100%/);
    expect(readdirSync(root).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it.each([
    ['transformer', ['--context', '16', '--heads', '2']],
    ['mamba', ['--context', '16']],
    ['ffnn', []],
    ['lstm', ['--context', '8', '--batch', '4']],
  ])('%s trains from the token file and the checkpoint evaluates on it', (model, extra) => {
    const dir = join(root, `ck-bin-${model}`);
    const r = lmkit('train', '--model', model, '--corpus', bin, ...extra, ...SMALL, '--out', dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/token file, uint16, read from disk\): 5,400 train \/ 300 valid \/ 300 test tokens, word tokenizer/);
    const d = done(r.stdout);
    const e = lmkit('eval', '--checkpoint', dir, '--split', 'test', '--json');
    expect(e.code, e.stderr).toBe(0);
    const ev = JSON.parse(e.stdout) as { ppl: number; tokens: number };
    expect(ev.tokens).toBe(300);
    expect(Math.abs(ev.ppl - (d.test_ppl as number)) / ev.ppl).toBeLessThan(1e-9);
  });

  it('refuses a --tokenizer that is not the one in the file, and a checkpoint with another tokenizer', () => {
    expectOneLineError(lmkit('train', '--corpus', bin, '--tokenizer', 'char', '--steps', '1'), /tokenized with the word tokenizer, not char/);
    expectOneLineError(lmkit('eval', '--checkpoint', join(root, 'ck-char'), '--corpus', bin), /different tokenizer/);
  });

  it('a damaged token file exits 1 with one line', () => {
    const bytes = readFileSync(bin);
    const cut = join(root, 'cut.bin');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 3));
    expectOneLineError(lmkit('train', '--corpus', cut, '--steps', '1'), /truncated: the header says 6000 tokens/);
  });
});

describe('bad corpora: one line on stderr, exit 1', () => {
  it('a missing path', () => {
    expectOneLineError(lmkit('train', '--corpus', join(root, 'nope.txt'), '--steps', '1'), /corpus not found: .*nope\.txt does not exist/);
    expectOneLineError(lmkit('tokenize', '--corpus', join(root, 'nope'), '--out', join(root, 'x.bin')), /does not exist/);
  });

  it('an empty file and a folder without text files', () => {
    const empty = join(root, 'empty.txt');
    writeFileSync(empty, '');
    expectOneLineError(lmkit('train', '--corpus', empty, '--steps', '1'), /empty/);
    expectOneLineError(lmkit('tokenize', '--corpus', empty, '--out', join(root, 'x.bin')), /empty/);
    const d = join(root, 'no-text');
    mkdirSync(d);
    writeFileSync(join(d, 'a.md'), 'x');
    expectOneLineError(lmkit('train', '--corpus', d, '--steps', '1'), /no files matching/);
  });

  it('invalid UTF-8 names the file and the byte offset', () => {
    const bad = join(root, 'bad.txt');
    writeFileSync(bad, Buffer.concat([Buffer.from('hello wörld '), Buffer.from([0xc3, 0x28]), Buffer.from(' more')]));
    expectOneLineError(lmkit('train', '--corpus', bad, '--steps', '1'), /bad\.txt: invalid UTF-8 at byte offset 13/);
    const r = lmkit('tokenize', '--corpus', bad, '--out', join(root, 'bad.bin'));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^lmkit: .*bad\.txt: invalid UTF-8 at byte offset 13/);
    expect(existsSync(join(root, 'bad.bin'))).toBe(false);
  });

  it('a corpus too small for the context', () => {
    const tiny = join(root, 'tiny.txt');
    writeFileSync(tiny, syntheticText(200));
    expectOneLineError(
      lmkit('train', '--model', 'transformer', '--corpus', tiny, '--steps', '1'),
      /too small for --context 64: the valid split has \d+ tokens, at least 66 are needed/,
    );
  });

});

describe('train --corpus brown --tokenizer char', () => {
  it('trains a character-level model of Brown (its split, words joined by spaces) and evaluates it from the checkpoint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lmkit-brown-char-'));
    try {
      const out = join(dir, 'ck');
      const r = lmkit('train', '--model', 'lstm', '--corpus', 'brown', '--tokenizer', 'char', '--embed', '16', '--hidden', '16',
        '--steps', '5', '--eval-tokens', '3000', '--out', out, '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/char tokenizer built on train, vocabulary \d+/);
      const d = done(r.stdout);
      // Characters: a vocabulary of tens, so an (almost) untrained model is far below a word model's perplexity.
      expect(d.valid_ppl as number).toBeGreaterThan(5);
      expect(d.valid_ppl as number).toBeLessThan(120);
      const e = lmkit('eval', '--checkpoint', out, '--split', 'valid', '--eval-tokens', '3000', '--json');
      expect(e.code, e.stderr).toBe(0);
      expect((JSON.parse(e.stdout.trim()) as { ppl: number }).ppl).toBeCloseTo(d.valid_ppl as number, 6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
