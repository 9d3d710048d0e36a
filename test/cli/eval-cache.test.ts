// `lmkit eval --cache N`: the neural cache of a recurrent checkpoint, tuned on the valid split
// (several theta/lambda) or with given values; errors for other models and bad flags.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { expectOneLineError, jsonLines, lmkit } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'lmkit-cache-'));
const lstm = join(dir, 'lstm');
const ngram = join(dir, 'ngram');
const quick = ['--min-count', '50', '--eval-tokens', '3000', '--no-test'];

beforeAll(() => {
  const a = lmkit('train', '--model', 'lstm', '--embed', '16', '--hidden', '16', '--batch', '8', '--context', '10', '--steps', '30', ...quick, '--out', lstm);
  expect(a.code, a.stderr).toBe(0);
  const b = lmkit('train', '--model', 'ngram', '--context', '2', ...quick, '--out', ngram);
  expect(b.code, b.stderr).toBe(0);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lmkit eval --cache', () => {
  it('tunes theta and lambda on valid, applies them to test, reports the model alone beside', () => {
    const plain = lmkit('eval', '--checkpoint', lstm, '--split', 'test', '--eval-tokens', '3000', '--json');
    expect(plain.code, plain.stderr).toBe(0);
    const base = jsonLines(plain.stdout)[0]!;
    const r = lmkit('eval', '--checkpoint', lstm, '--split', 'test', '--eval-tokens', '3000', '--cache', '200', '--cache-theta', '0.1,1', '--cache-lambda', '0.05,0.2', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/scoring 4 \(theta, lambda\) pairs on the valid split \(3000 tokens\)/);
    const e = jsonLines(r.stdout)[0]! as { ppl: number; base_ppl: number; tokens: number; cache: { size: number; theta: number; lambda: number; tuned_on: string }; grid: { theta: number; lambda: number; ppl: number }[] };
    expect(e.base_ppl).toBeCloseTo(base.ppl as number, 3); // the same streams as a plain eval
    expect(e.tokens).toBe(base.tokens);
    expect(e.grid).toHaveLength(4);
    expect(e.cache).toMatchObject({ size: 200, tuned_on: 'valid' });
    // The chosen pair is the grid's best on valid.
    const best = e.grid.reduce((x, y) => (y.ppl < x.ppl ? y : x));
    expect([e.cache.theta, e.cache.lambda]).toEqual([best.theta, best.lambda]);
    // Given one pair, that pair on the split asked for (no tuning), same number as the tuned run's test.
    const one = lmkit('eval', '--checkpoint', lstm, '--split', 'test', '--eval-tokens', '3000', '--cache', '200', '--cache-theta', String(best.theta), '--cache-lambda', String(best.lambda));
    expect(one.code, one.stderr).toBe(0);
    expect(one.stderr).toBe('');
    expect(one.stdout).toMatch(new RegExp(`with a neural cache \\(size 200, theta ${best.theta}, lambda ${best.lambda}\\): loss [0-9.]+, perplexity ${e.ppl.toFixed(1)} \\(without the cache ${e.base_ppl.toFixed(1)}\\)`));
  }, 120_000);

  it('bad flags and non-recurrent checkpoints are one clear error line', () => {
    expectOneLineError(lmkit('eval', '--checkpoint', ngram, '--cache', '100'), /--cache needs a recurrent model \(rnn, lstm\), not ngram/);
    expectOneLineError(lmkit('eval', '--checkpoint', lstm, '--cache-theta', '0.3'), /--cache-theta and --cache-lambda need --cache N/);
    for (const [flag, v, msg] of [
      ['--cache', '0', /--cache must be an integer >= 1/],
      ['--cache-theta', '0.1,x', /--cache-theta must be a comma-separated list of numbers >= 0/],
      ['--cache-lambda', '1', /--cache-lambda must be a comma-separated list of numbers >= 0 and < 1/],
    ] as const) {
      const r = lmkit('eval', '--checkpoint', lstm, '--cache', '10', flag, v);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(msg);
    }
  }, 120_000);
});
