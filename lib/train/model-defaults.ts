// Each neural model family's default sizes, batch, learning rate and clipping (runTraining
// uses them for the options not given; `lmkit train --help` shows them).
import type { ModelKind } from './run.js';

export interface Defaults {
  batch: number;
  context: number;
  embed: number;
  hidden: number;
  layers: number;
  heads: number;
  lr: number;
  clip?: number;
}

/** Each neural model's default sizes, batch and learning rate (`lmkit train --help` shows them). */
export const MODEL_DEFAULTS: Readonly<Record<Exclude<ModelKind, 'ngram'>, Readonly<Defaults>>> = {
  loglinear: { batch: 256, context: 4, embed: 0, hidden: 0, layers: 1, heads: 1, lr: 2e-2 },
  mlm: { batch: 16, context: 64, embed: 128, hidden: 512, layers: 2, heads: 4, lr: 1e-3, clip: 1 },
  mamba: { batch: 16, context: 64, embed: 128, hidden: 0, layers: 2, heads: 1, lr: 2e-3, clip: 1 },
  ffnn: { batch: 256, context: 4, embed: 60, hidden: 50, layers: 1, heads: 1, lr: 2e-3 },
  rnn: { batch: 20, context: 35, embed: 200, hidden: 200, layers: 1, heads: 1, lr: 2e-3, clip: 1 },
  lstm: { batch: 20, context: 35, embed: 200, hidden: 200, layers: 1, heads: 1, lr: 2e-3, clip: 1 },
  transformer: { batch: 16, context: 64, embed: 128, hidden: 512, layers: 2, heads: 4, lr: 1e-3, clip: 1 },
};

