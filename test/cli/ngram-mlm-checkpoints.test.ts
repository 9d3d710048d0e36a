// `lmkit train --model ngram|mlm --out DIR`, then `eval`, `generate` (and `embed`) on the
// saved checkpoints, through the built CLI (dist/cli/index.js, made by `npm run build`).
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lmkit, jsonLines, expectOneLineError } from '../support/cli.js';

function evalPpl(dir: string, ...extra: string[]): { ppl: number; kind: string; split: string } {
  const r = lmkit('eval', '--checkpoint', dir, '--json', ...extra);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { ppl: number; kind: string; split: string };
}

const EVAL_TOKENS = '2000';
let root = '';

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'lmkit-ngram-mlm-'));
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('n-gram checkpoints', () => {
  let dir = '';
  let done: Record<string, unknown> = {};

  beforeAll(() => {
    dir = join(root, 'ngram');
    const r = lmkit('train', '--model', 'ngram', '--context', '2', '--eval-tokens', EVAL_TOKENS, '--out', dir, '--json');
    expect(r.code, r.stderr).toBe(0);
    done = jsonLines(r.stdout).find((e) => e.event === 'done')!;
    expect(done.checkpoint).toBe(dir);
  }, 60_000);

  it('saves the tables bit-packed as int32 tensors beside the metadata', () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as {
      meta: { kind: string; ngram: { order: number; levels: { size: number; bits: Record<string, number> }[] } };
      tensors: Record<string, { dtype: string; shape: number[] }>;
    };
    expect(manifest.meta.kind).toBe('ngram');
    expect(manifest.meta.ngram.order).toBe(3);
    expect(manifest.meta.ngram.levels).toHaveLength(3);
    const size = manifest.meta.ngram.levels.reduce((a, l) => a + l.size, 0);
    for (const [name, t] of Object.entries(manifest.tensors)) {
      expect(name).toMatch(/^ngram\.[123]\.(parent|word|count)$/);
      expect(t.dtype).toBe('int32');
    }
    // Packed: well under 3 int32 per n-gram.
    expect(statSync(join(dir, 'model.safetensors')).size).toBeLessThan(size * 12 * 0.7);
  });

  it('eval gives the perplexities of the training run (valid and test)', () => {
    const v = evalPpl(dir, '--eval-tokens', EVAL_TOKENS);
    expect(v.kind).toBe('ngram');
    expect(v.ppl).toBe(done.valid_ppl);
    expect(evalPpl(dir, '--eval-tokens', EVAL_TOKENS, '--split', 'test').ppl).toBe(done.test_ppl);
  });

  it('generate samples the requested number of words, reproducibly with a seed', () => {
    const args = ['generate', '--checkpoint', dir, '--prompt', 'the jury said', '--max-tokens', '8', '--seed', '3'];
    const a = lmkit(...args);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout.trim().split(/\s+/)).toHaveLength(8);
    expect(lmkit(...args).stdout).toBe(a.stdout);
    const other = lmkit('generate', '--checkpoint', dir, '--prompt', 'the jury said', '--max-tokens', '8', '--seed', '4');
    expect(other.stdout).not.toBe(a.stdout);
    // Greedy after "of the": the most likely continuation, the same whatever the seed.
    const g1 = lmkit('generate', '--checkpoint', dir, '--prompt', 'of the', '--max-tokens', '3', '--temperature', '0', '--seed', '1');
    const g2 = lmkit('generate', '--checkpoint', dir, '--prompt', 'of the', '--max-tokens', '3', '--temperature', '0', '--seed', '2');
    expect(g1.code, g1.stderr).toBe(0);
    expect(g1.stdout).toBe(g2.stdout);
  });

  it('the report has three n-gram samples and the (step 0) validation perplexity', () => {
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html.match(/<li>/g)).toHaveLength(3);
    expect(readFileSync(join(dir, 'curves.svg'), 'utf8')).toMatch(/no training steps/);
    expect(html).toContain('<th>context</th><td>2</td>');
  });

  it('embed refuses with one line (no embedding table)', () => {
    expectOneLineError(lmkit('embed', '--checkpoint', dir, '--neighbors', 'the'), /ngram models have no word-embedding table/);
  });

  it('a text corpus with its own tokenizer round-trips too', () => {
    const file = join(root, 'text.txt');
    const words = 'the cat sat on a mat and the dog ran to the red house . it was big'.split(' ');
    let s = 7;
    let text = '';
    for (let i = 0; i < 6000; i++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      text += words[Math.floor((s / 2147483648) * words.length)] + (i % 11 === 10 ? '\n' : ' ');
    }
    writeFileSync(file, text);
    const ck = join(root, 'ngram-char');
    const r = lmkit('train', '--model', 'ngram', '--corpus', file, '--tokenizer', 'char', '--context', '4', '--out', ck, '--json');
    expect(r.code, r.stderr).toBe(0);
    const d = jsonLines(r.stdout).find((e) => e.event === 'done')!;
    expect(evalPpl(ck).ppl).toBe(d.valid_ppl);
    const g = lmkit('generate', '--checkpoint', ck, '--prompt', 'the ', '--max-tokens', '20', '--seed', '1');
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout.length).toBeGreaterThan(5);
  });
});

describe('masked-LM checkpoints', () => {
  let dir = '';
  let done: Record<string, unknown> = {};

  beforeAll(() => {
    dir = join(root, 'mlm');
    const r = lmkit(
      'train', '--model', 'mlm', '--steps', '3', '--context', '16', '--embed', '16', '--heads', '2', '--layers', '1', '--batch', '4',
      '--eval-tokens', EVAL_TOKENS, '--out', dir, '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    done = jsonLines(r.stdout).find((e) => e.event === 'done')!;
    expect(done.checkpoint).toBe(dir);
  }, 60_000);

  it('eval gives the masked-token perplexity of the training run (same fixed masks)', () => {
    const v = evalPpl(dir, '--eval-tokens', EVAL_TOKENS);
    expect(v.kind).toBe('mlm');
    expect(Number.isFinite(v.ppl) && v.ppl > 1).toBe(true);
    expect(Math.abs(v.ppl - (done.valid_ppl as number)) / v.ppl).toBeLessThan(1e-9);
    const t = evalPpl(dir, '--eval-tokens', EVAL_TOKENS, '--split', 'test');
    expect(Math.abs(t.ppl - (done.test_ppl as number)) / t.ppl).toBeLessThan(1e-9);
  });

  it('the report says why it has no samples', () => {
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('No samples: a masked LM');
    expect(html).not.toMatch(/<li>/);
  });

  it('generate refuses with one line: a masked LM does not generate left to right', () => {
    expectOneLineError(lmkit('generate', '--checkpoint', dir, '--prompt', 'the jury'), /mlm .*does not generate left to right/);
  });
});
