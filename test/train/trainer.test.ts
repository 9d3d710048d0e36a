// Trainer options: gradient accumulation, early stopping (patience, restore-best), skipping
// non-finite steps, Sophia's Hessian refresh through the loss function's logits.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { Linear } from '../../lib/nn/layers.js';
import { Module } from '../../lib/nn/module.js';
import { crossEntropy } from '../../lib/ops/crossentropy.js';
import { AdamW, SGD } from '../../lib/optim/optimizer.js';
import { SophiaG } from '../../lib/optim/sophia.js';
import { runTraining } from '../../lib/train/run.js';
import { Trainer, type EvalResult, type LossResult } from '../../lib/train/trainer.js';
import { Tensor, makeRng } from '../../lib/tensor.js';

const IN = 6;
const V = 7;

class Tiny extends Module {
  readonly a: Linear;
  readonly b: Linear;
  constructor(seed = 1) {
    super();
    this.a = this.module('a', new Linear(IN, 5, { seed }));
    this.b = this.module('b', new Linear(5, V, { seed: seed + 2 }));
  }
  forward(x: Tensor): Tensor {
    return this.b.forward(this.a.forward(x));
  }
}

interface Batch {
  x: Float32Array;
  y: Int32Array;
}

function batch(n: number, seed: number): Batch {
  const rng = makeRng(seed);
  const x = new Float32Array(n * IN).map(() => rng() * 2 - 1);
  const y = new Int32Array(n).map(() => Math.floor(rng() * V));
  return { x, y };
}

const concat = (a: Batch, b: Batch): Batch => ({ x: Float32Array.from([...a.x, ...b.x]), y: Int32Array.from([...a.y, ...b.y]) });

function lossFn(model: Tiny) {
  return (b: Batch): LossResult => {
    const n = b.y.length;
    const logits = model.forward(Tensor.fromArray(b.x, [n, IN]));
    return {
      loss: crossEntropy(logits, Tensor.fromArray(b.y, [n], 'int32')),
      tokens: n,
      logits,
      lossOnLabels: (labels) => crossEntropy(model.forward(Tensor.fromArray(b.x, [n, IN])), labels),
    };
  };
}

const weights = (m: Module): number[][] => m.parameters().map((p) => Array.from(p.toArray() as Float32Array));

describe('Trainer: gradient accumulation', () => {
  it('accumulate 2 over batches a, b == one step on a+b (mean loss), SGD and AdamW', async () => {
    for (const make of [(ps: Tensor[]) => new SGD(ps, { lr: 0.3 }), (ps: Tensor[]) => new AdamW(ps, { lr: 0.01, weightDecay: 0 })]) {
      const a = batch(8, 11);
      const b = batch(8, 12);
      const m1 = new Tiny();
      const m2 = new Tiny();
      const o1 = make(m1.parameters());
      const o2 = make(m2.parameters());
      const t1 = new Trainer(m1, o1, lossFn(m1), { accumulate: 2 });
      const t2 = new Trainer(m2, o2, lossFn(m2));
      // Through fit: 4 batches = 2 optimizer steps; the reference sees a+b, c+d.
      const c = batch(8, 13);
      const d = batch(8, 14);
      const r1 = await t1.fit({ batches: () => [a, b, c, d], epochs: 1 });
      const r2 = await t2.fit({ batches: () => [concat(a, b), concat(c, d)], epochs: 1 });
      expect(r1.steps).toBe(2);
      expect(t1.step).toBe(2);
      expect(o1.stepCount).toBe(2);
      expect(r1.lastLoss).toBeCloseTo(r2.lastLoss, 5);
      const w2 = weights(m2);
      weights(m1).forEach((w, i) => w.forEach((v, j) => expect(v).toBeCloseTo(w2[i]![j]!, 5)));
      o1.dispose();
      o2.dispose();
      m1.dispose();
      m2.dispose();
    }
  });

  it('a short last group is averaged over its own size; accumulate must be an integer >= 1', async () => {
    const m = new Tiny();
    const o = new SGD(m.parameters(), { lr: 0.1 });
    const t = new Trainer(m, o, lossFn(m), { accumulate: 2 });
    const r = await t.fit({ batches: () => [batch(4, 1), batch(4, 2), batch(4, 3)], epochs: 2 });
    expect(r.steps).toBe(4);
    expect(() => new Trainer(m, o, lossFn(m), { accumulate: 0 })).toThrow(/accumulate/);
    o.dispose();
    m.dispose();
  });
});

describe('Trainer: early stopping', () => {
  it('stops after `patience` evaluations without improvement and restores the best weights', async () => {
    const m = new Tiny();
    const o = new SGD(m.parameters(), { lr: 0.05 });
    const t = new Trainer(m, o, lossFn(m));
    const script = [10, 9, 9.5, 9.6, 9.7, 8, 7];
    let k = 0;
    const snapshots = new Map<number, number[][]>();
    const evals: number[] = [];
    const r = await t.fit({
      batches: () => Array.from({ length: 20 }, (_, i) => batch(4, 100 + i)),
      epochs: 1,
      evalEvery: 1,
      patience: 2,
      restoreBest: true,
      evaluate: (): EvalResult => ({ loss: Math.log(script[k]!), ppl: script[k++]!, tokens: 1 }),
      onEval: (e) => {
        evals.push(e.ppl);
        snapshots.set(e.step, weights(m));
      },
    });
    expect(r.stoppedEarly).toBe(true);
    expect(r.steps).toBe(4);
    expect(evals).toEqual([10, 9, 9.5, 9.6]);
    expect(r.bestPpl).toBe(9);
    expect(r.bestStep).toBe(2);
    expect(weights(m)).toEqual(snapshots.get(2));
    expect(weights(m)).not.toEqual(snapshots.get(4));
    t.disposeBest();
    o.dispose();
    m.dispose();
  });

  it('runTraining: --patience with --eval-every stops a run whose perplexity does not improve (lr 0)', async () => {
    const info: string[] = [];
    const r = await runTraining(
      { model: 'ffnn', corpus: 'brown', minCount: 50, evalTokens: 200, test: false, batch: 16, embed: 8, hidden: 8, lr: 0, evalEvery: 1, patience: 2, steps: 50 },
      { info: (s) => info.push(s) },
    );
    expect(r.steps).toBe(3);
    expect(r.stoppedEarly).toBe(true);
    expect(info.join('\n')).toMatch(/early stop at step 3/);
  });
});

describe('Trainer: non-finite losses', () => {
  const nanBatch = (): Batch => {
    const b = batch(4, 77);
    b.x[0] = Number.NaN;
    return b;
  };

  it("'stop' (default) throws naming the step, weights untouched", async () => {
    const m = new Tiny();
    const o = new SGD(m.parameters(), { lr: 0.1 });
    const t = new Trainer(m, o, lossFn(m));
    t.trainStep(batch(4, 1));
    const before = weights(m);
    expect(() => t.trainStep(nanBatch())).toThrow(/loss is NaN at step 2/);
    expect(weights(m)).toEqual(before);
    o.dispose();
    m.dispose();
  });

  it("'skip' leaves the weights untouched for that step and continues", async () => {
    const m = new Tiny();
    const o = new AdamW(m.parameters(), { lr: 0.01 });
    const t = new Trainer(m, o, lossFn(m), { onNonFinite: 'skip' });
    const after: number[][][] = [];
    const skipped: boolean[] = [];
    const r = await t.fit({
      batches: () => [batch(4, 1), nanBatch(), batch(4, 2)],
      epochs: 1,
      onStep: (e) => {
        after.push(weights(m));
        skipped.push(e.skipped === true);
      },
    });
    expect(r.steps).toBe(3);
    expect(r.skippedSteps).toBe(1);
    expect(skipped).toEqual([false, true, false]);
    expect(after[1]).toEqual(after[0]);
    expect(after[2]).not.toEqual(after[1]);
    expect(o.stepCount).toBe(2);
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
    o.dispose();
    m.dispose();
  });
});

describe('Trainer: Sophia', () => {
  it('refreshes the Hessian every k steps from the loss function logits', async () => {
    const m = new Tiny();
    const o = new SophiaG(m.parameters(), { lr: 0.01, batchTokens: 1, hessianInterval: 3 });
    const t = new Trainer(m, o, lossFn(m));
    const losses: number[] = [];
    const b = batch(32, 5);
    await t.fit({ batches: () => Array.from({ length: 9 }, () => b), epochs: 1, onStep: (e) => losses.push(e.loss) });
    expect(o.hessianUpdates).toBe(3);
    expect(o.batchTokens).toBe(32);
    expect(losses[8]!).toBeLessThan(losses[0]!);
    o.dispose();
    m.dispose();
  });
});

const cli = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));
function lmkit(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('runTraining: optimizers', () => {
  it("'adam' is AdamW without weight decay (identical losses)", async () => {
    const run = async (optimizer: 'adam' | 'adamw', weightDecay?: number): Promise<number[]> => {
      const l: number[] = [];
      await runTraining(
        { model: 'ffnn', corpus: 'brown', minCount: 50, evalTokens: 100, test: false, batch: 16, embed: 8, hidden: 8, steps: 5, optimizer, ...(weightDecay !== undefined ? { weightDecay } : {}) },
        { step: (e) => l.push(e.loss) },
      );
      return l;
    };
    expect(await run('adam')).toEqual(await run('adamw', 0));
  });
});

describe('lmkit train --optimizer', () => {
  it('sophia: 40 steps of ffnn lower the loss', () => {
    const r = lmkit('train', '--model', 'ffnn', '--optimizer', 'sophia', '--steps', '40', '--eval-tokens', '2000', '--no-test', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/sophia lr/);
    const done = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((e) => e.event === 'done')!;
    // Untrained: perplexity ~ the vocabulary (14,114).
    expect(done.valid_ppl as number).toBeLessThan(5000);
  });

  it('a bad optimizer name exits 1 with one line', () => {
    const r = lmkit('train', '--optimizer', 'bogus');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/sophia/);
  });

  it('--skip-nonfinite: a run whose loss turns NaN (SGD, lr 1e38) goes on with skipped steps; without it: exit 1 naming the step', () => {
    const flags = ['train', '--model', 'ffnn', '--batch', '32', '--embed', '8', '--hidden', '8', '--min-count', '50', '--eval-tokens', '200', '--no-test'];
    // --init-range 0.1: the embedding init this recording was made with (the default rule's
    // larger embeddings overflow to Infinity rather than NaN first).
    flags.push('--optimizer', 'sgd', '--lr', '1e38', '--steps', '6', '--json', '--init-range', '0.1');
    const stop = lmkit(...flags);
    expect(stop.code).toBe(1);
    expect(stop.stderr).toMatch(/the loss is NaN at step \d+; weights were not updated/);
    const skip = lmkit(...flags, '--skip-nonfinite');
    expect(skip.code, skip.stderr).toBe(0);
    const ev = skip.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(ev.filter((e) => e.event === 'step' && e.skipped === true).length).toBeGreaterThan(0);
    const done = ev.find((e) => e.event === 'done')!;
    expect(done.steps).toBe(6);
    expect(done.skipped_steps as number).toBeGreaterThan(0);
  });

  it('the new flags are in the help', () => {
    const r = lmkit('train', '--help');
    for (const f of ['--save-every', '--resume', '--accumulate', '--eval-every', '--patience', '--restore-best', '--skip-nonfinite', '"sophia"', '"adam"']) {
      expect(r.stdout).toContain(f);
    }
  });
});
