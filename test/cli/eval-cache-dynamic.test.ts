// `lmkit eval --cache N` and `--dynamic-lr L` on one recurrent checkpoint: the neural cache,
// dynamic evaluation and both together, tuned on the valid split (several values) or with given
// values, the plain perplexities beside; errors for other models and bad or conflicting flags.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { expectOneLineError, jsonLines, lmkit } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'lmkit-cache-dyn-'));
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

interface DynamicEvent {
  ppl: number;
  base_ppl: number;
  tokens: number;
  dynamic: { lr: number; decay: number; window: number; tuned_on: string | null };
  grid?: { lr: number; decay: number; ppl: number }[];
}

describe('lmkit eval --dynamic-lr', () => {
  it('tunes lr and decay on valid, applies them to test, reports the static model beside', () => {
    const plain = lmkit('eval', '--checkpoint', lstm, '--split', 'test', '--eval-tokens', '2000', '--json');
    expect(plain.code, plain.stderr).toBe(0);
    const r = lmkit('eval', '--checkpoint', lstm, '--split', 'test', '--eval-tokens', '2000', '--tune-tokens', '1500', '--dynamic-lr', '0.01,0.3', '--dynamic-decay', '0,0.02', '--dynamic-window', '10', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/scoring 4 \(lr, decay\) pairs on the valid split \(1500 tokens, one pass each\)/);
    const e = jsonLines(r.stdout)[0]! as unknown as DynamicEvent;
    expect(e.tokens).toBe(jsonLines(plain.stdout)[0]!.tokens);
    expect(e.grid).toHaveLength(4);
    expect(e.dynamic).toMatchObject({ window: 10, tuned_on: 'valid' });
    const best = e.grid!.reduce((x, y) => (y.ppl < x.ppl ? y : x));
    expect([e.dynamic.lr, e.dynamic.decay]).toEqual([best.lr, best.decay]);
    expect(e.ppl).not.toBeCloseTo(e.base_ppl, 3);
    // Given one pair: no tuning, the same number on the split.
    const one = lmkit('eval', '--checkpoint', lstm, '--split', 'test', '--eval-tokens', '2000', '--dynamic-lr', String(best.lr), '--dynamic-decay', String(best.decay), '--dynamic-window', '10');
    expect(one.code, one.stderr).toBe(0);
    expect(one.stderr).not.toMatch(/scoring/);
    expect(one.stdout).toMatch(
      new RegExp(`with dynamic evaluation \\(lr ${best.lr}, decay ${best.decay}, window 10\\): loss [0-9.]+, perplexity ${e.ppl.toFixed(1)} \\(static ${e.base_ppl.toFixed(1)}\\)`),
    );
  }, 120_000);

  it('--streams: the split read as that many streams (1: in order)', () => {
    const args = ['eval', '--checkpoint', lstm, '--eval-tokens', '800', '--dynamic-lr', '0.1', '--dynamic-window', '10', '--json'];
    const one = jsonLines(lmkit(...args, '--streams', '1').stdout)[0]! as unknown as DynamicEvent & { dynamic: { streams: number } };
    const ten = jsonLines(lmkit(...args).stdout)[0]! as unknown as DynamicEvent & { dynamic: { streams: number } };
    expect([one.dynamic.streams, ten.dynamic.streams]).toEqual([1, 10]);
    // One stream carries the state over more of the text than ten: a different static score too.
    expect(one.base_ppl).not.toBeCloseTo(ten.base_ppl, 2);
  }, 120_000);

  it('with --cache: the cache tuned for each (lr, decay); the adapted model alone and the static model beside', () => {
    const args = ['eval', '--checkpoint', lstm, '--split', 'test', '--eval-tokens', '2000', '--dynamic-window', '10', '--json'];
    const r = lmkit(...args, '--dynamic-lr', '0.01,0.3', '--cache', '100', '--cache-theta', '0.3,1', '--cache-lambda', '0.1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/scoring 2 \(theta, lambda\) pairs for each of 2 dynamic \(lr, decay\) pairs on the valid split \(2000 tokens\)/);
    const e = jsonLines(r.stdout)[0]! as unknown as DynamicEvent & { static_ppl: number; cache: { theta: number; lambda: number } };
    expect(e.grid).toHaveLength(4);
    const best = e.grid!.reduce((x, y) => (y.ppl < x.ppl ? y : x)) as unknown as { lr: number; decay: number; theta: number; lambda: number };
    expect([e.dynamic.lr, e.dynamic.decay, e.cache.theta, e.cache.lambda]).toEqual([best.lr, best.decay, best.theta, best.lambda]);
    // Beside it: the adapted model without the cache (= --dynamic-lr alone) and the static model (the same windows).
    const dyn = lmkit(...args, '--dynamic-lr', String(e.dynamic.lr));
    expect(dyn.code, dyn.stderr).toBe(0);
    const d = jsonLines(dyn.stdout)[0]! as unknown as DynamicEvent;
    expect(e.base_ppl).toBeCloseTo(d.ppl, 3);
    expect(e.static_ppl).toBeCloseTo(d.base_ppl, 3);
  }, 120_000);

  it('bad or conflicting flags and non-recurrent checkpoints are one clear error line', () => {
    expectOneLineError(lmkit('eval', '--checkpoint', ngram, '--dynamic-lr', '0.1'), /--dynamic-lr needs a recurrent model \(rnn, lstm\), not ngram/);
    expectOneLineError(lmkit('eval', '--checkpoint', lstm, '--dynamic-decay', '0.1'), /--dynamic-decay and --dynamic-window need --dynamic-lr/);
    expectOneLineError(lmkit('eval', '--checkpoint', lstm, '--tune-tokens', '100'), /--tune-tokens needs --cache or --dynamic-lr/);
    expectOneLineError(lmkit('eval', '--checkpoint', lstm, '--streams', '2'), /--streams needs --cache or --dynamic-lr/);
    for (const [flag, v, msg] of [
      ['--dynamic-lr', '-1', /--dynamic-lr must be a comma-separated list of numbers >= 0/],
      ['--dynamic-decay', '1.5', /--dynamic-decay must be a comma-separated list of numbers >= 0 and <= 1/],
      ['--dynamic-window', '0', /--dynamic-window must be an integer >= 1/],
      ['--streams', '0', /--streams must be an integer >= 1/],
    ] as const) {
      const r = lmkit('eval', '--checkpoint', lstm, '--dynamic-lr', '0.1', flag, v);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(msg);
    }
    // A step size that blows up: an error naming it, not a perplexity.
    expectOneLineError(lmkit('eval', '--checkpoint', lstm, '--eval-tokens', '500', '--dynamic-lr', '1e30'), /dynamic evaluation diverged at lr 1e\+30/);
  }, 120_000);
});
