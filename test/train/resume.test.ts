// Save/resume of the full training state: a run of 2N steps and a run of N steps, saved,
// then resumed for N more, give bit-identical per-step losses (same seed, same threads).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

import { loadTrained, openTraining } from '../../lib/train/checkpointing.js';
import { RunHistory } from '../../lib/train/history.js';
import { runTraining, type TrainRunOptions } from '../../lib/train/run.js';
import type { TrainRunInput } from '../../lib/train/run-state.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'lmkit-resume-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function losses(o: TrainRunInput): Promise<{ losses: number[]; steps: number[]; validPpl: number }> {
  const out: number[] = [];
  const steps: number[] = [];
  const r = await runTraining(o, {
    step: (e) => {
      out.push(e.loss);
      steps.push(e.step);
    },
  });
  return { losses: out, steps, validPpl: r.validPpl };
}

const small: Partial<TrainRunOptions> = { corpus: 'brown', minCount: 50, evalTokens: 300, test: false, seed: 3 };

const cases: [string, TrainRunOptions, number][] = [
  ['ffnn (AdamW, eval every 3 steps)', { ...small, model: 'ffnn', batch: 32, embed: 16, hidden: 16, evalEvery: 3 } as TrainRunOptions, 4],
  ['lstm with dropout (carried BPTT state)', { ...small, model: 'lstm', batch: 4, context: 8, embed: 24, hidden: 24, dropout: 0.3 } as TrainRunOptions, 5],
  [
    'transformer with dropout, accumulate 2, cosine schedule',
    { ...small, model: 'transformer', batch: 4, context: 12, embed: 16, heads: 2, layers: 1, dropout: 0.2, accumulate: 2, schedule: 'cosine', warmup: 2 } as TrainRunOptions,
    3,
  ],
  ['ffnn with Sophia (Hessian at step 10)', { ...small, model: 'ffnn', batch: 32, embed: 16, hidden: 16, optimizer: 'sophia', lr: 1e-3 } as TrainRunOptions, 6],
  [
    'lstm with every AWD-LSTM option and NT-ASGD (averaging from step 3: saved with the averaged weights swapped in)',
    {
      ...small, model: 'lstm', batch: 4, context: 8, embed: 16, hidden: 24, lastHidden: 16, layers: 2, optimizer: 'sgd', momentum: 0, lr: 20, clip: 0.25,
      ntasgd: 1, evalEvery: 1, weightDrop: 0.5, dropoutInput: 0.4, dropoutHidden: 0.25, dropoutOutput: 0.4, embeddingDropout: 0.1, ar: 2, tar: 1, bpttJitter: true,
    } as TrainRunOptions,
    5,
  ],
  ['rnn with SGD momentum, patience', { ...small, model: 'rnn', batch: 4, context: 6, embed: 16, hidden: 16, optimizer: 'sgd', lr: 0.1, evalEvery: 2, patience: 50 } as TrainRunOptions, 4],
];

describe('resume', () => {
  for (const [name, opts, N] of cases) {
    it(`${name}: 2N steps straight == N steps, save, resume for N (bit-identical losses)`, async () => {
      const straight = await losses({ ...opts, steps: 2 * N });
      expect(straight.losses.length).toBe(2 * N);
      const dir = tmp();
      const first = await losses({ ...opts, steps: N, out: dir });
      const second = await losses({ resume: dir, steps: 2 * N });
      expect(second.steps[0]).toBe(N + 1);
      const resumed = [...first.losses, ...second.losses];
      expect(resumed.length).toBe(2 * N);
      for (let i = 0; i < 2 * N; i++) expect(resumed[i], `step ${i + 1}`).toBe(straight.losses[i]);
      expect(second.validPpl).toBe(straight.validPpl);
      // The resumable checkpoint still loads as a plain model (eval/generate/embed).
      const loaded = loadTrained(dir);
      expect(loaded.meta.step).toBe(2 * N);
      loaded.model.dispose();
    });
  }

  it('NT-ASGD: the AWD-LSTM case above starts averaging before its save; the checkpoint holds the averages as its weights', async () => {
    const opts = cases.find(([n]) => n.startsWith('lstm with every AWD-LSTM'))![1];
    const info: string[] = [];
    const dir = tmp();
    await runTraining({ ...opts, steps: 5, out: dir }, { info: (m) => info.push(m) });
    expect(info.some((m) => /NT-ASGD: .* from step 3/.test(m))).toBe(true);
    const opened = openTraining(dir);
    try {
      expect(opened.training.optimizer.kind).toBe('sgd+ntasgd');
      expect(opened.training.optimizer.scalars.averagedSteps).toBe(2);
      // The model's weights are the averages; the raw SGD iterates are kept for --resume.
      const w = opened.model.get('embedding')!.toArray(); // parameter 0
      expect(Array.from(opened.optimizer.get('avg.0')?.toArray() ?? [])).toEqual(Array.from(w));
      expect(Array.from(opened.optimizer.get('iterate.0')!.toArray())).not.toEqual(Array.from(w));
    } finally {
      opened.dispose();
    }
  });

  it('early-stopping counters survive a resume (lr 0: no evaluation improves; patience 3 stops at step 4 either way)', async () => {
    const o = { ...small, model: 'ffnn', batch: 16, embed: 8, hidden: 8, lr: 0, evalEvery: 1, patience: 3 } as TrainRunOptions;
    const straight = await runTraining({ ...o, steps: 50 });
    expect(straight.steps).toBe(4);
    const dir = tmp();
    await runTraining({ ...o, steps: 2, out: dir });
    const resumed = await runTraining({ resume: dir, steps: 50 });
    expect(resumed.steps).toBe(4);
  });

  it('conflicting model flags on resume are an error naming the flag; overridable ones are fine', async () => {
    const dir = tmp();
    await runTraining({ ...small, model: 'ffnn', batch: 32, embed: 8, hidden: 8, steps: 2, out: dir } as TrainRunOptions);
    await expect(runTraining({ resume: dir, hidden: 9, steps: 3 })).rejects.toThrow(/--hidden 9 .*checkpoint has 8/);
    await expect(runTraining({ resume: dir, hidden: 8, steps: 3, evalTokens: 100 })).resolves.toMatchObject({ steps: 3 });
    await expect(runTraining({ resume: join(dir, 'nope'), steps: 3 })).rejects.toThrow(/no checkpoint/);
  });
});

const cli = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));
function lmkit(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const events = (stdout: string): Record<string, unknown>[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('lmkit train --save-every / --resume', () => {
  const flags = ['--model', 'ffnn', '--batch', '32', '--embed', '16', '--hidden', '16', '--min-count', '50', '--eval-tokens', '300', '--no-test', '--json'];

  it('ffnn: 12 steps == 6 steps with --save-every 3 + --resume --steps 12 (same last loss and perplexity)', () => {
    const straight = lmkit('train', ...flags, '--steps', '12');
    expect(straight.code, straight.stderr).toBe(0);
    const dir = tmp();
    const a = lmkit('train', ...flags, '--steps', '6', '--save-every', '3', '--out', dir);
    expect(a.code, a.stderr).toBe(0);
    const b = lmkit('train', '--resume', dir, '--steps', '12', '--json');
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/resumed .* at step 6/);
    const last = (r: { stdout: string }) => events(r.stdout).find((e) => e.event === 'step' && e.step === 12)!;
    const done = (r: { stdout: string }) => events(r.stdout).find((e) => e.event === 'done')!;
    expect(last(b).loss).toBe(last(straight).loss);
    expect(done(b).valid_ppl).toBe(done(straight).valid_ppl);
    expect(done(b).checkpoint).toBe(dir);
    // The whole run's time: this process's plus the first one's (recorded in the checkpoint).
    expect(done(straight).total_seconds).toBe(done(straight).seconds);
    const whole = done(b).total_seconds as number;
    expect(whole).toBeGreaterThanOrEqual((done(a).seconds as number) + (done(b).seconds as number));
    expect(whole).toBeLessThan((done(a).seconds as number) + (done(b).seconds as number) + 30);
    const segments = openTraining(dir).training.history as { segments: [number, number, number][] };
    expect(segments.segments.map(([from, to]) => [from, to])).toEqual([
      [0, 6],
      [6, 12],
    ]);
    // The final checkpoint is an ordinary one for `lmkit eval`.
    const e = lmkit('eval', '--checkpoint', dir, '--eval-tokens', '300', '--json');
    expect(e.code, e.stderr).toBe(0);
    expect((JSON.parse(e.stdout) as { ppl: number }).ppl).toBeCloseTo(done(straight).valid_ppl as number, 6);
    // A model flag that contradicts the checkpoint: one line, exit 1.
    const bad = lmkit('train', '--resume', dir, '--hidden', '32');
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--hidden/);
  });
});

describe('RunHistory segments (the whole run\'s time across resumes)', () => {
  it('records each process\'s steps and seconds; a checkpoint without them gives no total', () => {
    const h = new RunHistory();
    expect(h.earlierSeconds()).toBe(0);
    h.begin(0, 1000);
    h.step(1, 5);
    h.step(2, 4);
    expect(h.allSegments(3500)).toEqual([{ from: 0, to: 2, seconds: 2.5 }]);
    // Saved and resumed: the first process's segment is an earlier one.
    const j = JSON.parse(JSON.stringify(h.toJSON())) as unknown;
    const r = RunHistory.fromJSON(j);
    expect(r.segments).toHaveLength(1);
    expect(r.segments[0]!.to).toBe(2);
    expect(r.earlierSeconds()).toBe(r.segments[0]!.seconds);
    r.begin(2, 0);
    r.step(3, 3);
    expect(r.allSegments(4000).map((g) => [g.from, g.to, g.seconds])).toEqual([
      [0, 2, r.segments[0]!.seconds],
      [2, 3, 4],
    ]);
    // Written before segments were recorded: steps but no segments, so the earlier time is unknown.
    const old = RunHistory.fromJSON({ loss: [[1, 5], [2, 4]], valid: [], resumedAt: [] });
    expect(old.earlierSeconds()).toBeNull();
    expect(old.toJSON().segments).toBeUndefined();
    // Malformed entries are left out.
    expect(RunHistory.fromJSON({ loss: [], valid: [], resumedAt: [], segments: [[0, 1, -1], [0, 2], 'x', [0, 3, 2]] }).segments).toEqual([{ from: 0, to: 3, seconds: 2 }]);
  });
});
