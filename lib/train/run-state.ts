// runTraining's optimizer choice and resumable runs (`lmkit train --save-every N --out DIR`,
// `lmkit train --resume DIR`), kept out of run.ts:
// - makeOptimizer: 'sgd' (momentum 0.9 unless --momentum, lr 0.5), 'adamw' (the model's default lr), 'adam'
//   (AdamW without weight decay: Adam with weightDecay 0 unless --weight-decay, then L2),
//   'adafactor' (lr 1e-2) and 'sophia' (SophiaG with the defaults of ANCHORS.md and
//   optim/sophia.ts: betas (0.965, 0.99), rho 0.04, weight decay 0.1, Hessian every 10
//   steps; bs = the tokens of each step, set by the Trainer; lr: the model's default lr, as
//   for AdamW -- Sophia's per-coordinate step is at most lr, like Adam's -- since the class
//   default 1e-4 barely moves these small models: ffnn's loss goes 9.57 -> 9.56 in 40 steps
//   at 1e-4, 9.57 -> 7.5 at 2e-3).
// - resolveRunOptions: a resumed run's options come from the checkpoint (checkpoint.json's
//   meta.training.options); see checkpointing.ts resumeOptions for what may change.
// - restoreRun: puts a checkpoint's training state (weights, optimizer state, RNG counters,
//   trainer counters, best weights) into a freshly built run; the carried recurrent state
//   is returned for the job to take at the start of the resumed epoch.
import fs from 'node:fs';
import path from 'node:path';

import { corpusName } from '../data/training-corpus.js';
import { META_FILE, loadModuleState } from '../io/checkpoint.js';
import type { Module } from '../nn/module.js';
import { Adafactor } from '../optim/adafactor.js';
import { Adam, AdamW, SGD, type Optimizer } from '../optim/optimizer.js';
import { SophiaG } from '../optim/sophia.js';
import type { Tensor } from '../tensor.js';
import { resumeOptions, type OpenedTraining, type TrainingStateMeta } from './checkpointing.js';
import type { OptimizerKind, TrainRunOptions } from './options.js';
import type { ModelConfig } from './registry.js';
import type { TrainerState } from './trainer.js';

/** runTraining's input: new-run options, or `resume` (a checkpoint directory) with overrides. */
export type TrainRunInput = TrainRunOptions | (Partial<TrainRunOptions> & { resume: string });

/** The optimizer of a run and its learning rate. */
export function makeOptimizer(
  kind: OptimizerKind,
  params: Tensor[],
  o: Pick<TrainRunOptions, 'lr' | 'weightDecay' | 'momentum'>,
  defaultLr: number,
  batchTokens: number,
): Optimizer {
  switch (kind) {
    case 'sgd':
      return new SGD(params, { lr: o.lr ?? 0.5, momentum: o.momentum ?? 0.9, weightDecay: o.weightDecay ?? 0 });
    case 'adafactor':
      return new Adafactor(params, { lr: o.lr ?? 1e-2, weightDecay: o.weightDecay ?? 0 });
    case 'adam':
      return new Adam(params, { lr: o.lr ?? defaultLr, weightDecay: o.weightDecay ?? 0 });
    case 'sophia':
      return new SophiaG(params, {
        batchTokens,
        lr: o.lr ?? defaultLr,
        ...(o.weightDecay !== undefined ? { weightDecay: o.weightDecay } : {}),
      });
    case 'adamw':
      return new AdamW(params, { lr: o.lr ?? defaultLr, weightDecay: o.weightDecay ?? 0 });
    default:
      throw new Error(`unknown optimizer '${String(kind)}' (one of sgd, adamw, adam, adafactor, sophia)`);
  }
}

/**
 * The options of the run: `input` itself, or for `resume`, the checkpoint's options with
 * the overrides of `input` (conflicting model/training flags throw). `resume` is kept.
 */
export function resolveRunOptions(input: TrainRunInput): TrainRunOptions {
  if (input.resume === undefined) return input as TrainRunOptions;
  const dir = input.resume;
  const file = path.join(dir, META_FILE);
  let training: TrainingStateMeta | undefined;
  try {
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as { meta?: { training?: TrainingStateMeta } };
    training = manifest.meta?.training;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT' ? `--resume: no checkpoint in ${dir} (${META_FILE} is missing)` : `--resume: cannot read ${file}: ${(err as Error).message}`,
    );
  }
  if (typeof training !== 'object' || training === null || typeof training.options !== 'object') {
    throw new Error(`--resume: checkpoint ${dir} holds no training state (it was not written by \`lmkit train --out\`)`);
  }
  return { ...resumeOptions(training.options, input, dir), resume: dir };
}

/** The options to record in a checkpoint (without `resume`, which is where it came from). */
export function recordedOptions(o: TrainRunOptions): TrainRunOptions {
  const r: TrainRunOptions = { ...o };
  delete r.resume;
  // An in-memory corpus is recorded by its name, not its text.
  if (typeof r.corpus !== 'string') r.corpus = corpusName(r.corpus);
  return r;
}

/** The parts of a Trainer that restoreRun sets. */
export interface RestorableTrainer {
  restoreState(s: TrainerState): void;
  setBestWeights(ts: readonly Tensor[] | null): void;
}

/**
 * Restores the training state of `opened` into a run built from its options. Returns the
 * carried recurrent state to hand to the job once its epoch starts (null when there is none,
 * or when the checkpoint is at an epoch boundary, where the state is reset anyway).
 */
export function restoreRun(
  opened: OpenedTraining,
  run: { model: Module; config: ModelConfig; optimizer: Optimizer; optimizerKind: string; trainer: RestorableTrainer },
): Map<string, Tensor> | null {
  const where = `--resume ${opened.dir}`;
  if (JSON.stringify(opened.meta.config) !== JSON.stringify(run.config)) {
    throw new Error(
      `${where}: the model rebuilt from the checkpoint's options differs from the saved one ` +
        `(${JSON.stringify(run.config)} vs ${JSON.stringify(opened.meta.config)}): did the corpus or its vocabulary change?`,
    );
  }
  const t = opened.training;
  if (t.optimizer.kind !== run.optimizerKind) {
    throw new Error(`${where}: the checkpoint's optimizer is '${t.optimizer.kind}', this run's '${run.optimizerKind}'`);
  }
  try {
    loadModuleState(run.model, opened.model);
    run.optimizer.loadStateDict({ tensors: opened.optimizer, scalars: t.optimizer.scalars });
    run.model.setRngState(t.rng);
    run.trainer.restoreState(t.trainer);
    run.trainer.setBestWeights(opened.best);
  } catch (err) {
    throw new Error(`${where}: ${err instanceof Error ? err.message.replace(/\n\s*/g, '; ') : String(err)}`);
  }
  return t.trainer.batchInEpoch > 0 && opened.carry.size > 0 ? opened.carry : null;
}
