// `lmkit train --out`, then `eval`, `generate` and `embed` on the saved checkpoint, through
// the built CLI (dist/cli/index.js, made by `npm run build`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lmkit, jsonLines, expectOneLineError } from '../support/cli.js';

const EVAL_TOKENS = '2000';

describe.each([
  { model: 'ffnn', extra: [] as string[] },
  { model: 'lstm', extra: ['--context', '5', '--batch', '4'] },
])('lmkit train --out / eval / generate / embed ($model)', ({ model, extra }) => {
  let root = '';
  let dir = '';
  let validPpl = 0;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'lmkit-cli-'));
    dir = join(root, 'ck');
    const r = lmkit(
      'train', '--model', model, ...extra,
      '--steps', '3', '--eval-tokens', EVAL_TOKENS, '--embed', '8', '--hidden', '8', '--out', dir, '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const done = jsonLines(r.stdout).find((e) => e.event === 'done')!;
    expect(done.checkpoint).toBe(dir);
    validPpl = done.valid_ppl as number;
  }, 60_000);

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('eval --checkpoint gives the valid perplexity of the training run', () => {
    const r = lmkit('eval', '--checkpoint', dir, '--eval-tokens', EVAL_TOKENS, '--json');
    expect(r.code, r.stderr).toBe(0);
    const e = JSON.parse(r.stdout) as { split: string; tokens: number; ppl: number };
    expect(e.split).toBe('valid');
    expect(e.tokens).toBe(Number(EVAL_TOKENS));
    expect(Number.isFinite(validPpl) && validPpl > 1).toBe(true);
    expect(Math.abs(e.ppl - validPpl) / validPpl).toBeLessThan(1e-9);
  });

  it('generate prints the requested number of words, reproducibly with a seed', () => {
    const args = ['generate', '--checkpoint', dir, '--prompt', 'the man said', '--max-tokens', '6', '--seed', '7'];
    const a = lmkit(...args);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout.trim().split(/\s+/)).toHaveLength(6);
    expect(lmkit(...args).stdout).toBe(a.stdout);
    const greedy = lmkit('generate', '--checkpoint', dir, '--prompt', 'the', '--max-tokens', '3', '--temperature', '0');
    expect(greedy.code, greedy.stderr).toBe(0);
    expect(greedy.stdout.trim().split(/\s+/)).toHaveLength(3);
  });

  it('embed --neighbors the --json returns k neighbours', () => {
    const r = lmkit('embed', '--checkpoint', dir, '--neighbors', 'the', '--k', '4', '--json');
    expect(r.code, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout) as { query: string[]; neighbors: { word: string; similarity: number }[] };
    expect(o.query).toEqual(['the']);
    expect(o.neighbors).toHaveLength(4);
    for (const n of o.neighbors) {
      expect(n.word).not.toBe('the');
      expect(n.similarity).toBeGreaterThanOrEqual(-1);
      expect(n.similarity).toBeLessThanOrEqual(1);
    }
    const an = lmkit('embed', '--checkpoint', dir, '--analogy', 'man', 'king', 'woman', '--k', '2', '--json');
    expect(an.code, an.stderr).toBe(0);
    expect((JSON.parse(an.stdout) as { neighbors: unknown[] }).neighbors).toHaveLength(2);
  });

  it('an unknown word exits 1 with one line on stderr', () => {
    expectOneLineError(lmkit('embed', '--checkpoint', dir, '--neighbors', 'qqzzxxnotaword'), /unknown word 'qqzzxxnotaword'/);
  });
});

describe('lmkit checkpoint commands: bad input', () => {
  it('a missing checkpoint directory exits 1 with one line on stderr', () => {
    const missing = join(tmpdir(), 'lmkit-no-such-checkpoint-dir');
    expectOneLineError(lmkit('eval', '--checkpoint', missing), /does not exist/);
    expectOneLineError(lmkit('generate', '--checkpoint', missing, '--prompt', 'the'), /does not exist/);
    expectOneLineError(lmkit('embed', '--checkpoint', missing, '--neighbors', 'the'), /does not exist/);
  });

  it('a directory without a checkpoint exits 1 with one line on stderr', () => {
    const empty = mkdtempSync(join(tmpdir(), 'lmkit-empty-'));
    try {
      expectOneLineError(lmkit('eval', '--checkpoint', empty), /checkpoint\.json not found/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
