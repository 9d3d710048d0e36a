// The training loop: batches -> forward -> loss -> backward -> step, with periodic
// evaluation. `fit()` is async and yields to the event loop after every step, so a
// server that trains a model keeps answering requests.
//
// Options (TrainerOptions / FitOptions):
// - accumulate: k  -- each optimizer step averages the gradients of k consecutive batches
//   (every batch's loss is scaled by 1/k before backward; the last group of an epoch may be
//   shorter and is averaged over its own size). `step` counts optimizer steps; the reported
//   loss of a step is the mean of its batches' losses.
// - onNonFinite: 'stop' (default) throws on a NaN/Inf loss naming the step, weights
//   untouched; 'skip' drops that step's gradients (no optimizer update), counts it in
//   `skippedSteps`, reports it with `skipped: true` and goes on with the next batches.
// - patience: n (with evaluate) -- early stopping: fit() stops when the validation
//   perplexity has not improved for n consecutive evaluations; restoreBest copies the
//   weights of the best evaluation back at the end of fit().
// - Sophia-G: when the optimizer is a SophiaG, its batchTokens is set to each step's tokens,
//   and after every `hessianInterval`-th step the Hessian estimate is refreshed: labels are
//   sampled (seeded by `seed` and the step) from the step's last batch's `logits`, and the
//   gradient of `lossOnLabels(labels)` feeds `updateHessian()`. Loss functions used with
//   Sophia must return both.
// - report (LossResult): the value shown for a batch when the loss adds a regulariser.
// - lrScale (LossResult): a batch may scale the learning rate of its step (random-length
//   BPTT passes T / seqLen); the schedule's rate is restored after the update.
// - Resumable state: `state()` / `restoreState()` give the step, the epoch and the batches
//   consumed in it, and the early-stopping bookkeeping (the best weights are `bestWeights`);
//   fit() continues from there (it skips the consumed batches of the epoch: batch order
//   must be a function of the epoch). `saveEvery` + `onSave` call back at step boundaries.
//   So `steps` and `epochs` are totals for the trainer: a second fit() with the same
//   `epochs` on a trainer that already finished them returns at once.
// - reduceGradients (data-parallel training, lib/dist): called after backward and before
//   clipping with the step's local mean loss and tokens; it all-reduces the gradients in place
//   and returns the global loss and tokens (a non-finite global loss skips or stops the step on
//   every rank alike). fit() then runs the async path; `evaluate` and `onSave` may be async.
//   A reducer with `beginBackward` gets the step's last backward hooked (withGradReadyHook), so
//   that it can start reducing each gradient as soon as it is final.
import { noGrad, withGradReadyHook } from '../autograd.js';
import type { Module } from '../nn/module.js';
import { mulScalar } from '../ops/elementwise.js';
import type { Optimizer } from '../optim/optimizer.js';
import { clipGradNorm } from '../optim/clip.js';
import type { Schedule } from '../optim/schedule.js';
import { SophiaG } from '../optim/sophia.js';
import { Tensor, keep, tidy } from '../tensor.js';

/** What the Trainer tells a loss function about the step it computes. */
export interface LossContext {
  /**
   * The Trainer reads the result's `logits` after the loss (Sophia's Hessian steps), so they
   * must stay intact. When false the loss may consume them: crossEntropy's `inplace` writes
   * the gradient over the logits, one (N, V) buffer fewer. A loss called without a context
   * keeps them.
   */
  keepLogits: boolean;
}

export interface LossResult {
  /** Scalar loss (mean over the batch's tokens) to back-propagate. */
  loss: Tensor;
  /** Tokens predicted in this batch (for tokens/s). */
  tokens: number;
  /** The batch's logits (N, V), row i predicting target i (Sophia samples labels from them). */
  logits?: Tensor;
  /**
   * The mean loss of the same batch (same inputs, same carried state) against other labels
   * (N) int32, by a fresh forward with the current weights (backward releases the first
   * forward's graph). Sophia's Hessian estimate calls it at most once, after the optimizer
   * step and before the next batch's loss.
   */
  lossOnLabels?: (labels: Tensor) => Tensor;
  /**
   * Scales the learning rate of the step this batch is part of (random-length BPTT: T /
   * seqLen). The scaled rate applies to that step only; with `accumulate` the batches'
   * factors are averaged. Default 1.
   */
  lrScale?: number;
  /**
   * The value reported for this batch (step events, history) when it differs from the loss
   * back-propagated: e.g. the cross-entropy alone when `loss` adds a regulariser. Default: loss.
   */
  report?: Tensor;
}

export interface StepEvent {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  tokensPerSecond: number;
  /** True when the step was skipped because of a non-finite loss (onNonFinite 'skip'). */
  skipped?: boolean;
}

export interface EvalResult {
  loss: number;
  ppl: number;
  tokens: number;
}

export interface FitOptions<B> {
  /** The training batches of one epoch (called once per epoch, so it may reshuffle). */
  batches: (epoch: number) => Iterable<B>;
  /** Total epochs (counting those done before a resume). */
  epochs?: number;
  /** Stop once `step` reaches this many optimizer steps (whatever the epoch; a total). */
  steps?: number;
  /** Evaluate every this many steps (and at the end of every epoch) when `evaluate` is given. */
  evalEvery?: number;
  evaluate?: () => EvalResult | Promise<EvalResult>;
  onStep?: (e: StepEvent) => void;
  onEval?: (e: EvalResult & { step: number }) => void;
  /** Steps not counted in tokens/s (warm-up). */
  warmupSteps?: number;
  /** Early stopping: stop after this many consecutive evaluations without a better perplexity. */
  patience?: number;
  /** Copy the weights of the best evaluation back into the model at the end of fit(). */
  restoreBest?: boolean;
  /** Call `onSave` every this many optimizer steps (after that step's evaluation, if any). */
  saveEvery?: number;
  onSave?: (trainer: Trainer<B>) => void | Promise<void>;
  /** Checked after every step (fit yields to the event loop between steps): true ends fit() there, `interrupted` set. */
  shouldStop?: () => boolean;
}

export interface FitResult {
  steps: number;
  epochs: number;
  lastLoss: number;
  tokensPerSecond: number;
  seconds: number;
  /** True when early stopping (patience) ended the run. */
  stoppedEarly: boolean;
  /** Best validation perplexity seen and its step (null without evaluations). */
  bestPpl: number | null;
  bestStep: number | null;
  /** Steps skipped because of a non-finite loss. */
  skippedSteps: number;
  /** True when `shouldStop` ended the run. */
  interrupted: boolean;
}

/** The trainer's resumable counters (JSON). */
export interface TrainerState {
  step: number;
  /** The epoch in progress (or the next one when `batchInEpoch` is 0). */
  epoch: number;
  /** Batches of `epoch` already consumed. */
  batchInEpoch: number;
  bestPpl: number | null;
  bestStep: number | null;
  evalsSinceBest: number;
  skippedSteps: number;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface TrainerOptions {
  /** Learning rate as a function of the step (0-based); default: the optimizer's own lr. */
  schedule?: Schedule;
  /** Clip the global gradient norm to this value before each step. */
  clipNorm?: number;
  /** Batches whose gradients are averaged into each optimizer step (default 1). */
  accumulate?: number;
  /** On a NaN/Inf loss: 'stop' (throw; default) or 'skip' the step. */
  onNonFinite?: 'stop' | 'skip';
  /** Seed of Sophia's sampled labels (default 1). */
  seed?: number;
  /** Data-parallel: all-reduces the gradients of `params` in place; returns the global loss and tokens. */
  reduceGradients?: GradientReducer;
}

/**
 * See TrainerOptions.reduceGradients. With `beginBackward`, the step's last backward runs under
 * the hook it returns (lib/autograd.ts withGradReadyHook: called as each parameter's gradient
 * becomes final; `local` is the step's loss and tokens, known before that backward), so the
 * reduction can start during backward; the reducer is then called as without it.
 */
export type GradientReducer = ((params: readonly Tensor[], local: { loss: number; tokens: number }) => Promise<{ loss: number; tokens: number }>) & {
  beginBackward?: (params: readonly Tensor[], local: { loss: number; tokens: number }) => (leaf: Tensor) => void;
};

export interface StepResult {
  loss: number;
  tokens: number;
  skipped: boolean;
}

/** What backward left for the update: the summed loss of the batches, their tokens, a non-finite loss met, Sophia's labels. */
interface Pass {
  sum: number;
  tokens: number;
  bad: number | null;
  hessian: { labels: Tensor; lossOn: (labels: Tensor) => Tensor } | null;
  hessianNext: boolean;
  /** Sum of the batches' lrScale (1 each when not given). */
  lrScaleSum: number;
}

export class Trainer<B> {
  step = 0;
  /** The epoch in progress and the batches of it consumed (resumable position). */
  epoch = 0;
  batchInEpoch = 0;
  bestPpl: number | null = null;
  bestStep: number | null = null;
  evalsSinceBest = 0;
  skippedSteps = 0;
  /** Copies of the parameters at the best evaluation (kept only with restoreBest). */
  bestWeights: Tensor[] | null = null;
  readonly schedule?: Schedule;
  readonly clipNorm?: number;
  readonly accumulate: number;
  readonly onNonFinite: 'stop' | 'skip';
  readonly seed: number;
  readonly reduceGradients?: GradientReducer;

  constructor(
    readonly model: Module,
    readonly optimizer: Optimizer,
    readonly lossFn: (batch: B, ctx?: LossContext) => LossResult,
    opts: TrainerOptions = {},
  ) {
    this.schedule = opts.schedule;
    this.clipNorm = opts.clipNorm;
    if (this.clipNorm !== undefined && !(this.clipNorm > 0)) {
      throw new RangeError(`Trainer: clipNorm must be > 0, got ${this.clipNorm}`);
    }
    this.accumulate = opts.accumulate ?? 1;
    if (!Number.isSafeInteger(this.accumulate) || this.accumulate < 1) {
      throw new RangeError(`Trainer: accumulate must be an integer >= 1, got ${String(opts.accumulate)}`);
    }
    this.onNonFinite = opts.onNonFinite ?? 'stop';
    if (this.onNonFinite !== 'stop' && this.onNonFinite !== 'skip') {
      throw new RangeError(`Trainer: onNonFinite must be 'stop' or 'skip', got '${String(opts.onNonFinite)}'`);
    }
    this.seed = opts.seed ?? 1;
    this.reduceGradients = opts.reduceGradients;
    if (this.reduceGradients && this.optimizer instanceof SophiaG) {
      throw new Error('data-parallel training does not support the Sophia optimizer yet (its Hessian estimate is per rank)');
    }
  }

  /** The resumable counters. */
  state(): TrainerState {
    return {
      step: this.step,
      epoch: this.epoch,
      batchInEpoch: this.batchInEpoch,
      bestPpl: this.bestPpl,
      bestStep: this.bestStep,
      evalsSinceBest: this.evalsSinceBest,
      skippedSteps: this.skippedSteps,
    };
  }

  /** Sets the counters saved by `state()` (the best weights are restored separately). */
  restoreState(s: TrainerState): void {
    for (const k of ['step', 'epoch', 'batchInEpoch', 'evalsSinceBest', 'skippedSteps'] as const) {
      if (!Number.isSafeInteger(s[k]) || s[k] < 0) throw new RangeError(`Trainer.restoreState: ${k} must be an integer >= 0, got ${String(s[k])}`);
    }
    this.step = s.step;
    this.epoch = s.epoch;
    this.batchInEpoch = s.batchInEpoch;
    this.bestPpl = s.bestPpl ?? null;
    this.bestStep = s.bestStep ?? null;
    this.evalsSinceBest = s.evalsSinceBest;
    this.skippedSteps = s.skippedSteps;
  }

  /** One optimisation step on one batch; returns the loss. Throws on a non-finite loss (unless skipping). */
  trainStep(batch: B): StepResult {
    return this.trainSteps([batch]);
  }

  /**
   * One optimisation step on the averaged gradients of `batches` (each loss scaled by
   * 1 / batches.length). Returns the mean loss and the tokens.
   */
  trainSteps(batches: readonly B[]): StepResult {
    return this.applyStep(this.backwardPass(batches), batches.length);
  }

  /** trainSteps with the gradients all-reduced (reduceGradients) between backward and the update. */
  async trainStepsReduced(batches: readonly B[]): Promise<StepResult> {
    const g = this.backwardPass(batches);
    try {
      const k = batches.length;
      const r = await this.reduceGradients!(this.optimizer.params, { loss: g.bad ?? g.sum / k, tokens: g.tokens });
      if (!Number.isFinite(r.loss)) g.bad = r.loss;
      else g.sum = r.loss * k;
      g.tokens = r.tokens;
    } catch (e) {
      g.hessian?.labels.dispose();
      throw e;
    }
    return this.applyStep(g, batches.length);
  }

  private backwardPass(batches: readonly B[]): Pass {
    const k = batches.length;
    if (k === 0) throw new RangeError('Trainer.trainSteps: no batch');
    this.model.train();
    const sophia = this.optimizer instanceof SophiaG ? this.optimizer : null;
    const hessianNext = sophia !== null && (sophia.stepCount + 1) % sophia.hessianInterval === 0;
    let sum = 0;
    let tokens = 0;
    let bad: number | null = null;
    let hessian: { labels: Tensor; lossOn: (labels: Tensor) => Tensor } | null = null;
    let lrScaleSum = 0;
    try {
      for (const [j, batch] of batches.entries()) {
        const r = tidy(() => {
          const out = this.lossFn(batch, { keepLogits: hessianNext && j === k - 1 });
          const scale = out.lrScale ?? 1;
          if (!(Number.isFinite(scale) && scale > 0)) throw new RangeError(`Trainer: a batch's lrScale must be > 0, got ${String(out.lrScale)}`);
          lrScaleSum += scale;
          const lossValue = out.loss.item();
          if (!Number.isFinite(lossValue)) return { value: lossValue, tokens: out.tokens };
          const value = out.report ? out.report.item() : lossValue;
          const scaled = k === 1 ? out.loss : mulScalar(out.loss, 1 / k);
          const begin = this.reduceGradients?.beginBackward;
          if (begin && j === k - 1) {
            // The gradients are final in this pass: let the reduction start during it.
            const hook = begin(this.optimizer.params, { loss: (sum + value) / k, tokens: tokens + out.tokens });
            withGradReadyHook(hook, () => scaled.backward());
          } else {
            scaled.backward();
          }
          if (hessianNext && j === k - 1) {
            if (!out.logits || !out.lossOnLabels) {
              throw new Error('Trainer: the Sophia optimizer needs a loss function that returns logits and lossOnLabels');
            }
            const seed = this.seed * 1_000_003 + sophia!.stepCount + 1;
            hessian = { labels: keep(SophiaG.sampleLabels(out.logits.detach(), seed)), lossOn: out.lossOnLabels };
          }
          return { value, tokens: out.tokens };
        });
        tokens += r.tokens;
        if (!Number.isFinite(r.value)) {
          bad = r.value;
          break;
        }
        sum += r.value;
      }
    } catch (e) {
      (hessian as { labels: Tensor } | null)?.labels.dispose();
      throw e;
    }
    return { sum, tokens, bad, hessian, hessianNext, lrScaleSum };
  }

  private applyStep(pass: Pass, k: number): StepResult {
    const { sum, tokens, bad, hessian } = pass;
    const sophia = this.optimizer instanceof SophiaG ? this.optimizer : null;
    try {
      if (bad !== null) {
        this.optimizer.zeroGrad();
        if (this.onNonFinite === 'stop') {
          throw new Error(`training stopped: the loss is ${bad} at step ${this.step + 1}; weights were not updated`);
        }
        this.step++;
        this.skippedSteps++;
        return { loss: bad, tokens, skipped: true };
      }
      if (this.clipNorm !== undefined) clipGradNorm(this.optimizer.params, this.clipNorm);
      if (this.schedule) this.optimizer.lr = this.schedule(this.step);
      if (sophia) sophia.batchTokens = tokens;
      const lrScale = pass.lrScaleSum / k;
      if (lrScale !== 1) {
        const base = this.optimizer.lr;
        this.optimizer.lr = base * lrScale;
        try {
          this.optimizer.step();
        } finally {
          this.optimizer.lr = base;
        }
      } else {
        this.optimizer.step();
      }
      this.optimizer.zeroGrad();
      const h = hessian as { labels: Tensor; lossOn: (labels: Tensor) => Tensor } | null;
      if (sophia && h && sophia.hessianDue()) {
        tidy(() => h.lossOn(h.labels).backward());
        sophia.updateHessian();
        sophia.zeroGrad();
      }
      this.step++;
      return { loss: sum / k, tokens, skipped: false };
    } finally {
      (hessian as { labels: Tensor } | null)?.labels.dispose();
    }
  }

  /** Records an evaluation for early stopping; returns true when patience is exhausted. */
  private noteEval(ppl: number, patience: number | undefined, keepBest: boolean): boolean {
    if (this.bestPpl === null || ppl < this.bestPpl) {
      this.bestPpl = ppl;
      this.bestStep = this.step;
      this.evalsSinceBest = 0;
      if (keepBest) this.snapshotBest();
    } else {
      this.evalsSinceBest++;
    }
    return patience !== undefined && this.evalsSinceBest >= patience;
  }

  private snapshotBest(): void {
    const params = this.optimizer.params;
    if (!this.bestWeights) this.bestWeights = params.map((p) => keep(Tensor.zeros(p.shape)));
    params.forEach((p, i) => this.bestWeights![i]!.storage.copyFrom(p.storage));
  }

  /** Sets the best-weights snapshot (e.g. from a checkpoint); takes ownership of copies of `ts`. */
  setBestWeights(ts: readonly Tensor[] | null): void {
    this.disposeBest();
    if (ts === null) return;
    const params = this.optimizer.params;
    if (ts.length !== params.length) throw new RangeError(`Trainer: ${ts.length} best weights for ${params.length} parameters`);
    this.bestWeights = params.map((p, i) => {
      const t = ts[i]!;
      if (t.size !== p.size) throw new RangeError(`Trainer: best weight ${i} has ${t.size} elements, the parameter ${p.size}`);
      const c = keep(Tensor.zeros(p.shape));
      c.storage.copyFrom(t.storage);
      return c;
    });
  }

  /** Frees the best-weights snapshot. */
  disposeBest(): void {
    for (const t of this.bestWeights ?? []) t.dispose();
    this.bestWeights = null;
  }

  async fit(opts: FitOptions<B>): Promise<FitResult> {
    const epochs = opts.epochs ?? (opts.steps !== undefined ? Number.POSITIVE_INFINITY : 1);
    const warmup = opts.warmupSteps ?? 3;
    const { patience, saveEvery } = opts;
    if (patience !== undefined && (!Number.isSafeInteger(patience) || patience < 1)) {
      throw new RangeError(`fit: patience must be an integer >= 1, got ${String(patience)}`);
    }
    if (saveEvery !== undefined && (!Number.isSafeInteger(saveEvery) || saveEvery < 1)) {
      throw new RangeError(`fit: saveEvery must be an integer >= 1, got ${String(saveEvery)}`);
    }
    const keepBest = opts.restoreBest === true && opts.evaluate !== undefined;
    let counted = 0;
    let countedTokens = 0;
    let countedSeconds = 0;
    // Every step's tokens and time: the rate of runs too short to leave the warm-up.
    let allTokens = 0;
    let allSeconds = 0;
    let interrupted = false;
    const rate = (): number => (countedSeconds > 0 ? countedTokens / countedSeconds : allSeconds > 0 ? allTokens / allSeconds : 0);
    let lastLoss = Number.NaN;
    let stoppedEarly = patience !== undefined && this.evalsSinceBest >= patience;
    const t0 = performance.now();
    const stepsDone = (): boolean => opts.steps !== undefined && this.step >= opts.steps;
    const runEval = async (): Promise<boolean> => {
      const r = await opts.evaluate!();
      opts.onEval?.({ ...r, step: this.step });
      return this.noteEval(r.ppl, patience, keepBest);
    };
    outer: while (!stoppedEarly && !stepsDone() && this.epoch < epochs) {
      const epoch = this.epoch;
      const skip = this.batchInEpoch;
      let index = 0;
      const group: B[] = [];
      const it = opts.batches(epoch)[Symbol.iterator]();
      let done = false;
      while (!done) {
        const next = it.next();
        done = next.done === true;
        if (!done) {
          if (index++ < skip) continue;
          group.push(next.value);
          if (group.length < this.accumulate) continue;
        }
        if (group.length === 0) break;
        const s0 = performance.now();
        const { loss, tokens, skipped } = this.reduceGradients ? await this.trainStepsReduced(group) : this.trainSteps(group);
        this.batchInEpoch += group.length;
        group.length = 0;
        const dt = (performance.now() - s0) / 1000;
        lastLoss = loss;
        allTokens += tokens;
        allSeconds += dt;
        if (++counted > warmup) {
          countedTokens += tokens;
          countedSeconds += dt;
        }
        opts.onStep?.({
          step: this.step,
          epoch,
          loss,
          lr: this.optimizer.lr,
          tokensPerSecond: rate(),
          ...(skipped ? { skipped } : {}),
        });
        if (opts.evaluate && opts.evalEvery && this.step % opts.evalEvery === 0) {
          if (await runEval()) stoppedEarly = true;
        }
        if (saveEvery !== undefined && this.step % saveEvery === 0) await opts.onSave?.(this);
        await yieldToEventLoop();
        if (!stoppedEarly && !stepsDone() && opts.shouldStop?.()) interrupted = true;
        if (stoppedEarly || stepsDone() || interrupted) {
          it.return?.();
          break outer;
        }
      }
      if (index === 0) throw new Error('fit: the training data produced no batch');
      // (Also after a resume that found this epoch fully consumed: the save came before this evaluation.)
      if (opts.evaluate && !(opts.evalEvery && this.step % opts.evalEvery === 0)) {
        if (await runEval()) stoppedEarly = true;
      }
      this.epoch++;
      this.batchInEpoch = 0;
    }
    if (!interrupted && keepBest && this.bestWeights && this.bestStep !== this.step) {
      this.optimizer.params.forEach((p, i) => p.storage.copyFrom(this.bestWeights![i]!.storage));
    }
    return {
      steps: this.step,
      epochs: this.batchInEpoch > 0 ? this.epoch + 1 : this.epoch,
      lastLoss,
      tokensPerSecond: rate(),
      seconds: (performance.now() - t0) / 1000,
      stoppedEarly,
      bestPpl: this.bestPpl,
      bestStep: this.bestStep,
      skippedSteps: this.skippedSteps,
      interrupted,
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
