// Dynamic evaluation for recurrent language models (Krause, Kahembwe, Murray & Renals, 2018,
// "Dynamic evaluation of neural sequence models"). The text is scored window by window, and
// after each window has been scored the weights take one gradient step on that window's loss,
// so later windows are predicted by a model adapted to the text read so far:
//
//   score window i with theta_i;  g_i = grad of window i's mean NLL at theta_i
//   theta_{i+1} = theta_i - lr * g_i + decay * (theta_0 - theta_i)
//
// theta_0 are the trained weights; the decay pulls the adapted weights back toward them (decay 1:
// back to theta_0 after every step, i.e. the static model; decay 0: plain SGD). A window is always
// scored before its own update, so no token is predicted by weights that have seen it. The text is
// read as `batchSize` parallel streams with the state carried (as evaluateRecurrent does); one
// update per window serves all streams. Eval mode: no dropout, no weight drop, no AR/TAR.
// This is the paper's SGD variant (the RMS-normalised one needs gradient statistics from the
// training data). The model's weights are restored when the evaluation ends.
import { bpttBatches } from '../data/bptt.js';
import { noGrad } from '../autograd.js';
import { axpyInPlace } from '../ops/elementwise.js';
import { keep, tidy, type Tensor } from '../tensor.js';
import type { EvalResult } from '../train/trainer.js';
import { disposeState, recurrentLoss, type RecurrentLM, type RecurrentState } from './rnn.js';

/** The (lr, decay) values to score: one pass over the text per pair. */
export interface DynamicEvalGrid {
  /** SGD step sizes on each window's mean NLL (>= 0; 0 is the static model). */
  lr: readonly number[];
  /** Pull toward the trained weights after each step, each in [0, 1]. */
  decay: readonly number[];
}

/** The perplexity with one (lr, decay). */
export interface DynamicScore extends EvalResult {
  lr: number;
  decay: number;
  /**
   * The pass stopped early: a window's mean NLL was non-finite or above 3 ln V (three times a
   * uniform guess; the step size is too large). Its loss is then Infinity.
   */
  diverged: boolean;
}

export interface DynamicEvalResult {
  /** The static model (no update) on the same streams and windows. */
  base: EvalResult;
  /** One per (lr, decay) of the grid, lr-major. */
  scores: DynamicScore[];
  /** The lowest finite perplexity (the first score when none is finite). */
  best: DynamicScore;
}

export function checkDynamicGrid(g: DynamicEvalGrid): void {
  if (g.lr.length === 0 || g.decay.length === 0) throw new RangeError('dynamic evaluation: give at least one lr and one decay');
  for (const x of g.lr) if (!(Number.isFinite(x) && x >= 0)) throw new RangeError(`dynamic evaluation: lr must be a finite number >= 0, got ${String(x)}`);
  for (const x of g.decay) if (!(x >= 0 && x <= 1)) throw new RangeError(`dynamic evaluation: decay must be in [0, 1], got ${String(x)}`);
}

/** Mean NLL per token above which a window counts as diverged: 3 ln V (a uniform guess is ln V). */
export function divergenceLimit(vocabSize: number): number {
  return 3 * Math.log(Math.max(2, vocabSize));
}

/**
 * The weight updates of dynamic evaluation on a model's parameters: it keeps the trained weights
 * (to pull toward and to restore). Also used by the neural cache when it adapts (lib/models/cache.ts).
 */
export class DynamicAdapter {
  readonly params: Tensor[];
  private readonly start: Tensor[];

  constructor(model: RecurrentLM) {
    this.params = model.parameters();
    this.start = this.params.map((p) => keep(p.clone()));
  }

  /** One step after a window's backward: theta += -lr * grad + decay * (theta_0 - theta); frees the gradients. */
  step(lr: number, decay: number): void {
    for (const [i, p] of this.params.entries()) {
      if (p.grad) axpyInPlace(p, p.grad, -lr);
      if (decay > 0) {
        axpyInPlace(p, p, -decay);
        axpyInPlace(p, this.start[i]!, decay);
      }
    }
    this.clearGrads();
  }

  clearGrads(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** The trained weights again. */
  restore(): void {
    this.clearGrads();
    for (const [i, p] of this.params.entries()) p.storage.copyFrom(this.start[i]!.storage);
  }

  /** Frees the kept weights (call restore() first to leave the model trained). */
  dispose(): void {
    for (const t of this.start) t.dispose();
  }
}

/** Whether (lr, decay) changes the weights at all. */
export const adapts = (lr: number, decay: number): boolean => lr > 0 && decay < 1;

/** One pass with one (lr, decay); the weights are left adapted (the caller restores them). */
function pass(
  model: RecurrentLM,
  adapter: DynamicAdapter,
  ids: Int32Array,
  batchSize: number,
  seqLen: number,
  lr: number,
  decay: number,
  onProgress?: (tokensDone: number) => void,
): DynamicScore {
  let state: RecurrentState | null = null;
  let total = 0;
  let tokens = 0;
  let diverged = false;
  const adapt = adapts(lr, decay);
  const limit = divergenceLimit(model.config.vocabSize);
  try {
    for (const b of bpttBatches(ids, batchSize, seqLen)) {
      // Without updates, no graph (noGrad); with them, every window's graph is released by its
      // backward (even a non-finite one: the pass stops right after).
      const r = tidy(() => {
        const score = () => {
          const out = recurrentLoss(model, b, state);
          const value = out.nll.item();
          if (adapt) out.nll.backward();
          return { value, n: out.tokens, next: out.state };
        };
        return adapt ? score() : noGrad(score);
      });
      disposeState(state);
      state = r.next;
      if (!(r.value <= limit)) {
        diverged = true;
        break;
      }
      total += r.value * r.n;
      tokens += r.n;
      if (adapt) adapter.step(lr, decay);
      onProgress?.(tokens);
    }
  } finally {
    disposeState(state);
    adapter.clearGrads();
  }
  const loss = diverged ? Number.POSITIVE_INFINITY : tokens > 0 ? total / tokens : Number.NaN;
  return { lr, decay, loss, ppl: Math.exp(loss), tokens, diverged };
}

/**
 * The perplexity of `ids` under `model` with dynamic evaluation, for every (lr, decay) of
 * `grid`, in `batchSize` streams of `seqLen`-step windows, and the static model's beside them
 * (one forward pass, no update). The model's weights are the trained
 * ones again when this returns (or throws).
 */
export function evaluateDynamic(
  model: RecurrentLM,
  ids: Int32Array,
  batchSize: number,
  seqLen: number,
  grid: DynamicEvalGrid,
  onProgress?: (pair: { lr: number; decay: number }, tokensDone: number) => void,
): DynamicEvalResult {
  checkDynamicGrid(grid);
  const wasTraining = model.training;
  model.eval();
  const adapter = new DynamicAdapter(model);
  const scores: DynamicScore[] = [];
  let base: EvalResult;
  try {
    base = pass(model, adapter, ids, batchSize, seqLen, 0, 0);
    for (const lr of grid.lr) {
      for (const decay of grid.decay) {
        try {
          scores.push(pass(model, adapter, ids, batchSize, seqLen, lr, decay, onProgress && ((n) => onProgress({ lr, decay }, n))));
        } finally {
          adapter.restore();
        }
      }
    }
  } finally {
    adapter.dispose();
    model.train(wasTraining);
  }
  const finite = scores.filter((s) => Number.isFinite(s.loss));
  const best = finite.length > 0 ? finite.reduce((x, y) => (y.loss < x.loss ? y : x)) : scores[0]!;
  return { base, scores, best };
}

