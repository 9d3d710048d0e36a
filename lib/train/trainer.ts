// The training loop: batches -> forward -> loss -> backward -> step, with periodic
// evaluation. `fit()` is async and yields to the event loop after every step, so a
// server that trains a model keeps answering requests.
import { noGrad } from '../autograd.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { clipGradNorm } from '../optim/clip.js';
import type { Schedule } from '../optim/schedule.js';
import { Tensor, tidy } from '../tensor.js';

export interface LossResult {
  /** Scalar loss (mean over the batch's tokens) to back-propagate. */
  loss: Tensor;
  /** Tokens predicted in this batch (for tokens/s). */
  tokens: number;
}

export interface StepEvent {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  tokensPerSecond: number;
}

export interface EvalResult {
  loss: number;
  ppl: number;
  tokens: number;
}

export interface FitOptions<B> {
  /** The training batches of one epoch (called once per epoch, so it may reshuffle). */
  batches: (epoch: number) => Iterable<B>;
  epochs?: number;
  /** Stop after this many steps (whatever the epoch). */
  steps?: number;
  /** Evaluate every this many steps (and at the end of every epoch) when `evaluate` is given. */
  evalEvery?: number;
  evaluate?: () => EvalResult;
  onStep?: (e: StepEvent) => void;
  onEval?: (e: EvalResult & { step: number }) => void;
  /** Steps not counted in tokens/s (warm-up). */
  warmupSteps?: number;
}

export interface FitResult {
  steps: number;
  epochs: number;
  lastLoss: number;
  tokensPerSecond: number;
  seconds: number;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface TrainerOptions {
  /** Learning rate as a function of the step (0-based); default: the optimizer's own lr. */
  schedule?: Schedule;
  /** Clip the global gradient norm to this value before each step. */
  clipNorm?: number;
}

export class Trainer<B> {
  step = 0;
  readonly schedule?: Schedule;
  readonly clipNorm?: number;

  constructor(
    readonly model: Module,
    readonly optimizer: Optimizer,
    readonly lossFn: (batch: B) => LossResult,
    opts: TrainerOptions = {},
  ) {
    this.schedule = opts.schedule;
    this.clipNorm = opts.clipNorm;
    if (this.clipNorm !== undefined && !(this.clipNorm > 0)) {
      throw new RangeError(`Trainer: clipNorm must be > 0, got ${this.clipNorm}`);
    }
  }

  /** One optimisation step on one batch; returns the loss. Throws on a non-finite loss. */
  trainStep(batch: B): { loss: number; tokens: number } {
    this.model.train();
    const { loss, tokens } = tidy(() => {
      const r = this.lossFn(batch);
      const value = r.loss.item();
      if (!Number.isFinite(value)) return { loss: value, tokens: r.tokens };
      r.loss.backward();
      return { loss: value, tokens: r.tokens };
    });
    if (!Number.isFinite(loss)) {
      this.optimizer.zeroGrad();
      throw new Error(`training stopped: the loss is ${loss} at step ${this.step + 1}; weights were not updated`);
    }
    if (this.clipNorm !== undefined) clipGradNorm(this.optimizer.params, this.clipNorm);
    if (this.schedule) this.optimizer.lr = this.schedule(this.step);
    this.optimizer.step();
    this.optimizer.zeroGrad();
    this.step++;
    return { loss, tokens };
  }

  async fit(opts: FitOptions<B>): Promise<FitResult> {
    const epochs = opts.epochs ?? (opts.steps !== undefined ? Number.POSITIVE_INFINITY : 1);
    const warmup = opts.warmupSteps ?? 3;
    let counted = 0;
    let countedTokens = 0;
    let countedSeconds = 0;
    let lastLoss = Number.NaN;
    let epoch = 0;
    const t0 = performance.now();
    outer: for (; epoch < epochs; epoch++) {
      let any = false;
      for (const batch of opts.batches(epoch)) {
        any = true;
        const s0 = performance.now();
        const { loss, tokens } = this.trainStep(batch);
        const dt = (performance.now() - s0) / 1000;
        lastLoss = loss;
        if (++counted > warmup) {
          countedTokens += tokens;
          countedSeconds += dt;
        }
        opts.onStep?.({
          step: this.step,
          epoch,
          loss,
          lr: this.optimizer.lr,
          tokensPerSecond: countedSeconds > 0 ? countedTokens / countedSeconds : tokens / Math.max(dt, 1e-9),
        });
        if (opts.evaluate && opts.evalEvery && this.step % opts.evalEvery === 0) {
          opts.onEval?.({ ...opts.evaluate(), step: this.step });
        }
        await yieldToEventLoop();
        if (opts.steps !== undefined && this.step >= opts.steps) {
          epoch++;
          break outer;
        }
      }
      if (!any) throw new Error('fit: the training data produced no batch');
      if (opts.evaluate && !(opts.evalEvery && this.step % opts.evalEvery === 0)) {
        opts.onEval?.({ ...opts.evaluate(), step: this.step });
      }
    }
    return {
      steps: this.step,
      epochs: epoch,
      lastLoss,
      tokensPerSecond: countedSeconds > 0 ? countedTokens / countedSeconds : 0,
      seconds: (performance.now() - t0) / 1000,
    };
  }
}

/**
 * Mean negative log-likelihood and perplexity over batches, given a function that returns
 * the summed loss of a batch and its token count.
 */
export function evaluateLoss<B>(batches: Iterable<B>, sumLoss: (batch: B) => { sum: Tensor; tokens: number }): EvalResult {
  let total = 0;
  let tokens = 0;
  noGrad(() => {
    for (const b of batches) {
      tidy(() => {
        const r = sumLoss(b);
        total += r.sum.item();
        tokens += r.tokens;
      });
    }
  });
  const loss = tokens > 0 ? total / tokens : Number.NaN;
  return { loss, ppl: Math.exp(loss), tokens };
}
