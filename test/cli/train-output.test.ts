// What `lmkit train` prints while it runs (issue 18, "training output"): the progress bar and
// the time-based log lines (lib/cli/progress.ts, with a fake clock), and the CLI as a user
// runs it: piped log lines and evaluation progress, --json step events every --log-every steps
// with lr and an eval event per evaluation, tokens/s of very short runs, warnings for flags the
// model does not use, the defaults table of --help, Ctrl-C with --out (checkpoint + resume line),
// and generate's warning for a prompt of unknown words.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { TrainProgress, formatBar, formatEta } from '../../lib/cli/progress.js';
import { shellQuote } from '../../lib/cli/train.js';
import { inapplicableOptions } from '../../lib/train/model-flags.js';
import { plannedEvalSteps } from '../../lib/train/run.js';
import { cli, doneEvent, jsonLines, lmkit } from '../support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'lmkit-train-output-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fakeProgress(tty: boolean, logSeconds = 10) {
  let t = 0;
  const out: string[] = [];
  const p = new TrainProgress({ sink: { write: (s: string) => out.push(s) }, tty, logSeconds, now: () => t });
  return { p, out, at: (ms: number) => (t = ms) };
}

const stepAt = (step: number, total = 100) => ({ step, total, epoch: 0, loss: 5, lr: 1e-3, tokensPerSecond: 1000 });

describe('progress display (lib/cli/progress.ts)', () => {
  it('the bar is full and says 100% only at the end', () => {
    expect(formatBar(98, 100)).toMatch(/^\[#{23}\.\]  98%$/);
    expect(formatBar(999, 1000)).toMatch(/\.\]  99%$/);
    expect(formatBar(100, 100)).toBe(`[${'#'.repeat(24)}] 100%`);
    expect(formatBar(0, 100)).toBe(`[${'.'.repeat(24)}]   0%`);
    expect(formatEta(129)).toBe('2m09s');
    expect(formatEta(7300)).toBe('2h01m');
    expect(formatEta(Number.NaN)).toBe('?');
  });

  it('piped: a line at the first step, then one per logSeconds whatever the step rate, and at the last step', () => {
    const { p, out, at } = fakeProgress(false, 10);
    for (let s = 1; s <= 100; s++) {
      at(s * 500); // 2 steps a second
      p.step(stepAt(s));
    }
    const lines = out.join('').trim().split('\n');
    // Steps 1, 21, 41, 61, 81 (every 10 s) and 100.
    expect(lines.map((l) => Number(/^step (\d+)\/100/.exec(l)?.[1]))).toEqual([1, 21, 41, 61, 81, 100]);
    expect(lines[1]).toMatch(/^step 21\/100 {2}epoch 1 {2}loss 5\.000 {2}lr 0\.001 {2}tok\/s 1000 {2}elapsed 10s {2}eta \d+s$/);
  });

  it('the ETA starts at the first step (not the load), and covers the evaluations to come', () => {
    const { p, at } = fakeProgress(false);
    p.setPlan({ totalSteps: 20, startStep: 0, evalSteps: [10, 20], validTokens: 6000, testTokens: 3000 });
    at(60_000); // a minute of loading before the first step
    p.step(stepAt(1, 20));
    expect(Number.isNaN(p.eta())).toBe(true); // one step: nothing measured yet
    at(61_000);
    p.step(stepAt(2, 20)); // 1 s per step from here
    // 18 steps left (18 s) + two validation evaluations and the test one: 15,000 tokens at the
    // guessed 3 x 1000 tokens/s = 5 s.
    expect(p.eta()).toBeCloseTo(18 + 5, 6);
    // An evaluation measured at 1,000 tokens/s replaces the guess.
    at(69_000);
    p.step(stepAt(10, 20));
    p.evalProgress({ split: 'valid', step: 10, done: 0, total: 6000 });
    at(75_000);
    p.evalProgress({ split: 'valid', step: 10, done: 6000, total: 6000 });
    // 10 steps left at 1 s each (the evaluation's 6 s are not training time), then 9,000 tokens at 1,000/s.
    expect(p.eta()).toBeCloseTo(10 + 9, 6);
  });

  it('terminal: redraws one bar (at most 5 per second), evaluation gets its own bar', () => {
    const { p, out, at } = fakeProgress(true);
    for (let s = 1; s <= 10; s++) {
      at(s * 50);
      p.step(stepAt(s, 10));
    }
    const draws = out.filter((s) => s.startsWith('\r'));
    expect(draws.length).toBeGreaterThanOrEqual(2);
    expect(draws.length).toBeLessThan(10);
    expect(draws.at(-1)).toContain('100% 10/10');
    p.evalProgress({ split: 'valid', step: 10, done: 0, total: 500 });
    at(2000);
    p.evalProgress({ split: 'valid', step: 10, done: 250, total: 500 });
    expect(out.at(-1)).toMatch(/^\r\[#{12}\.{12}\] {2}50% valid 250\/500 tokens/);
  });
});

/** Runs `lmkit train ...args`, sends SIGINT once stderr shows step 10 or later; resolves with the exit code and output. */
function interruptedRun(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cli, 'train', ...args, '--log-seconds', '0.1'], { env: { ...process.env, LMKIT_NUM_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  return new Promise((resolve) => {
    let sent = false;
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (!sent && /^step (\d{2,})\/100000/m.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('which flags apply to which model', () => {
  it('names the given flags a model does not use', () => {
    expect(inapplicableOptions('lstm', ['heads', 'hidden', 'steps', 'lr'])).toEqual(['heads']);
    expect(inapplicableOptions('ngram', ['lr', 'context', 'steps', 'corpus'])).toEqual(['lr', 'steps']);
    expect(inapplicableOptions('transformer', ['hidden', 'direct', 'heads'])).toEqual(['hidden', 'direct']);
    expect(inapplicableOptions('ffnn', ['threads', 'json'])).toEqual([]); // CLI-only flags are not model options
  });

  it('plans the validation evaluations of a run', () => {
    expect(plannedEvalSteps(10, 100, false)).toEqual([10]);
    expect(plannedEvalSteps(10, 100, false, 4)).toEqual([4, 8, 10]);
    expect(plannedEvalSteps(30, 10, true)).toEqual([10, 20, 30]);
    expect(plannedEvalSteps(25, 10, false)).toEqual([10, 20, 25]);
  });
});

describe('lmkit train output', () => {
  it('--json: step events every --log-every steps with lr, an eval event per evaluation (the last one on valid too)', () => {
    const r = lmkit('train', '--model', 'ffnn', '--steps', '6', '--log-every', '2', '--eval-every', '3', '--eval-tokens', '2000', '--json');
    expect(r.code, r.stderr).toBe(0);
    const ev = jsonLines(r.stdout);
    const steps = ev.filter((e) => e.event === 'step');
    expect(steps.map((e) => e.step)).toEqual([2, 4, 6]);
    for (const e of steps) {
      expect(e.lr).toBe(0.002);
      expect(e.epoch).toBe(1);
      expect(e.total).toBe(6);
    }
    const evals = ev.filter((e) => e.event === 'eval').map((e) => `${String(e.split)}@${String(e.step)}`);
    // valid at 3 and 6 (the one at 6 is the final evaluation, not repeated), test at the end.
    expect(evals).toEqual(['valid@3', 'valid@6', 'test@6']);
    const done = doneEvent(r.stdout);
    expect(done.valid_ppl).toBe(ev.find((e) => e.event === 'eval' && e.step === 6 && e.split === 'valid')!.ppl);
  }, 60_000);

  it('runs of 1-3 steps report their tokens/s (not 0)', () => {
    const r = lmkit('train', '--model', 'ffnn', '--steps', '2', '--eval-tokens', '1000', '--no-test', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(Number(doneEvent(r.stdout).tokens_per_s)).toBeGreaterThan(0);
    expect(jsonLines(r.stdout).filter((e) => e.event === 'eval' && e.split === 'valid').map((e) => e.step)).toEqual([2]);
  }, 60_000);

  it('piped: log lines for the steps and the evaluations; a warning for each flag the model does not use', () => {
    const r = lmkit('train', '--model', 'ffnn', '--heads', '4', '--layers', '3', '--steps', '5', '--eval-tokens', '3000', '--log-seconds', '0.1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('lmkit: warning: --heads does not apply to --model ffnn (ignored)');
    expect(r.stderr).toContain('lmkit: warning: --layers does not apply to --model ffnn (ignored)');
    expect(r.stderr).toMatch(/^step 1\/5 {2}epoch 1 {2}loss \d+\.\d{3} {2}lr 0\.002 {2}tok\/s \d+ {2}elapsed \d+s {2}eta /m);
    expect(r.stderr).toMatch(/^step 5\/5 /m);
    expect(r.stderr).toMatch(/^evaluating valid at step 5: 3,000 tokens, eta /m);
    expect(r.stderr).toMatch(/^evaluating test at step 5: 3,000 tokens/m);
    expect(r.stderr).not.toContain('\r'); // no bar when piped
    const ng = lmkit('train', '--model', 'ngram', '--lr', '0.1', '--steps', '3', '--eval-tokens', '2000', '--no-test');
    expect(ng.code, ng.stderr).toBe(0);
    expect(ng.stderr).toContain('lmkit: warning: --lr does not apply to --model ngram (ignored)');
    expect(ng.stderr).toContain('lmkit: warning: --steps does not apply to --model ngram (ignored)');
  }, 90_000);

  it('--help shows each model\'s defaults', () => {
    const r = lmkit('train', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}lstm +20 +35 +200 +200 +1 +- +0 +0\.002 +1/m);
    expect(r.stdout).toMatch(/^ {2}transformer +16 +64 +128 +- +2 +4 +0 +0\.001 +1/m);
    expect(r.stdout).toMatch(/^ {2}ngram +- +4 \(order 5\)/m);
  });

  it('Ctrl-C with --out: a checkpoint of the step reached and one line with the resume command; the resume works; generate warns on unknown words', async () => {
    const out = join(root, 'interrupted');
    const { code, stdout, stderr } = await interruptedRun(['--model', 'ffnn', '--steps', '100000', '--eval-tokens', '2000', '--no-test', '--out', out]);
    expect(code, stderr).toBe(130);
    const last = stdout.trim().split('\n').at(-1)!;
    const m = /^interrupted at step (\d+): checkpoint (.+); resume with: lmkit train --resume (.+)$/.exec(last);
    expect(m, stdout).not.toBeNull();
    expect(m![2]).toBe(out);
    expect(m![3]).toBe(out);
    const step = Number(m![1]);
    expect(step).toBeGreaterThanOrEqual(10);
    const meta = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')) as { meta: { step: number; training: { history: { loss: unknown[] } } } };
    expect(meta.meta.step).toBe(step);
    expect(meta.meta.training.history.loss).toHaveLength(step);
    expect(existsSync(join(out, 'report.html'))).toBe(false);

    // The resume command, with a smaller total: the run continues from the checkpoint.
    const r = lmkit('train', '--resume', out, '--steps', String(step + 3), '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(doneEvent(r.stdout).steps).toBe(step + 3);
    const steps = jsonLines(r.stdout).filter((e) => e.event === 'step').map((e) => e.step);
    expect(steps.at(-1)).toBe(step + 3);

    const g = lmkit('generate', '--checkpoint', out, '--prompt', 'zzqxv qqzxw', '--max-tokens', '3');
    expect(g.code, g.stderr).toBe(0);
    expect(g.stderr).toMatch(/^lmkit: warning: every word of the prompt is unknown to the model \(all 2 encode to <unk>\)/);
    const ok = lmkit('generate', '--checkpoint', out, '--prompt', 'The jury', '--max-tokens', '3');
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe('');
  }, 120_000);

  it('Ctrl-C without --out: one line saying that nothing was saved', async () => {
    const r = await interruptedRun(['--model', 'ffnn', '--steps', '100000', '--eval-tokens', '2000', '--no-test']);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^interrupted at step \d+: no checkpoint written \(train with --out DIR to save one on Ctrl-C and resume it\)$/);
    expect(r.stdout).not.toMatch(/^done:/m);
    expect(shellQuote('/tmp/a b')).toBe("'/tmp/a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('/tmp/run-1')).toBe('/tmp/run-1');
  }, 60_000);
});
