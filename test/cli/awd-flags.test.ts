// `lmkit train --model lstm|rnn` with the AWD-LSTM regularisation flags: validation, warnings, a short run.
import { describe, expect, it } from 'vitest';

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { doneEvent, expectOneLineError, jsonLines, lmkit } from '../support/cli.js';

const quick = ['--embed', '16', '--hidden', '16', '--batch', '4', '--context', '8', '--steps', '2', '--eval-tokens', '500', '--no-test', '--min-count', '50'];

describe('lmkit train: AWD-LSTM flags', () => {
  it('bad values are one clear error line', () => {
    expectOneLineError(lmkit('train', '--model', 'lstm', ...quick, '--weight-drop', '1'), /--weight-drop must be a probability in \[0, 1\), got 1/);
    expectOneLineError(lmkit('train', '--model', 'lstm', ...quick, '--dropout', '0.3', '--dropout-output', '0.2'), /--dropout .* are alternatives/);
    expectOneLineError(lmkit('train', '--model', 'rnn', ...quick, '--last-hidden', '8'), /--last-hidden 8 needs --layers >= 2/);
    expectOneLineError(lmkit('train', '--model', 'lstm', ...quick, '--momentum', '0.5'), /--momentum applies to --optimizer sgd only/);
    expectOneLineError(lmkit('train', '--model', 'lstm', ...quick, '--ntasgd', '2', '--patience', '2', '--restore-best'), /--restore-best does not combine with --ntasgd/);
    expectOneLineError(lmkit('train', '--model', 'lstm', ...quick, '--adaptive-softmax', '100,99999'), /--adaptive-softmax 100,99999: every cutoff must be below the vocabulary size \(\d+\)/);
    const bad = lmkit('train', '--model', 'lstm', ...quick, '--adaptive-softmax', '300,200');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--adaptive-softmax must be a comma-separated list of increasing positive integers/);
    const r = lmkit('train', '--model', 'lstm', ...quick, '--ntasgd', '0');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--ntasgd must be an integer >= 1/);
  }, 120_000);

  it('a flag of the recurrent families given to another model is a warning', () => {
    const r = lmkit('train', '--model', 'ffnn', '--embed', '8', '--hidden', '8', '--steps', '1', '--eval-tokens', '300', '--no-test', '--weight-drop', '0.3', '--bptt-jitter');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('lmkit: warning: --weight-drop does not apply to --model ffnn (ignored)');
    expect(r.stderr).toContain('lmkit: warning: --bptt-jitter does not apply to --model ffnn (ignored)');
  }, 120_000);

  it('trains with every option and NT-ASGD, and says so', () => {
    const r = lmkit(
      'train', '--model', 'lstm', ...quick, '--steps', '6', '--layers', '2', '--hidden', '24', '--last-hidden', '16', '--eval-every', '1', '--json',
      '--optimizer', 'sgd', '--momentum', '0', '--lr', '20', '--clip', '0.25', '--ntasgd', '1', '--weight-drop', '0.5', '--dropout-input', '0.4',
      '--dropout-hidden', '0.25', '--dropout-output', '0.4', '--embedding-dropout', '0.1', '--ar', '2', '--tar', '1', '--bptt-jitter', '--seed', '3',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/model lstm: 2 x 24 \(embed 16\), BPTT 8, dropout 0 \(weightDrop 0\.5, dropoutInput 0\.4, dropoutHidden 0\.25, dropoutOutput 0\.4, embeddingDropout 0\.1, ar 2, tar 1, lastHidden 16, bpttJitter\)/);
    expect(r.stderr).toMatch(/sgd lr 20 .*NT-ASGD \(nonmono 1\)/);
    expect(Number(doneEvent(r.stdout).valid_ppl)).toBeGreaterThan(1);
  }, 120_000);
  it('--adaptive-softmax: trains, saves, evaluates to the same perplexity, resumes, generates', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lmkit-adaptive-'));
    try {
      const out = join(dir, 'a');
      const r = lmkit('train', '--model', 'lstm', ...quick, '--steps', '6', '--adaptive-softmax', '100,300', '--out', out, '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/model lstm: 1 x 16 \(embed 16\), BPTT 8, dropout 0 \(adaptiveSoftmax 100,300\)/);
      const ppl = Number(doneEvent(r.stdout).valid_ppl);
      const e = lmkit('eval', '--checkpoint', out, '--eval-tokens', '500', '--json');
      expect(e.code, e.stderr).toBe(0);
      expect(Number(jsonLines(e.stdout)[0]!.ppl)).toBeCloseTo(ppl, 3);
      const more = lmkit('train', '--resume', out, '--steps', '8', '--json');
      expect(more.code, more.stderr).toBe(0);
      expect(doneEvent(more.stdout).steps).toBe(8);
      const g = lmkit('generate', '--checkpoint', out, '--prompt', 'the jury', '--max-tokens', '5', '--seed', '1');
      expect(g.code, g.stderr).toBe(0);
      expect(g.stdout.trim().split(/\s+/).length).toBeGreaterThanOrEqual(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
