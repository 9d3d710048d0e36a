// One training run of a language model on a corpus, as `lmkit train` does it: builds the
// vocabulary, the model and the optimizer from a flat options object, trains, evaluates
// validation (and test) perplexity, and reports progress through callbacks.
import {
  RangeTokenSource,
  bpttBatchesFrom,
  evaluateInChunks,
  inMemory,
  numBpttBatchesFrom,
  randomContextWindowsFrom,
  randomWindowsFrom,
  type TokenSource,
} from '../data/tokensource.js';
import { checkCorpusSpec, openTrainingCorpus, type CorpusSpec, type TrainingCorpus } from '../data/training-corpus.js';
import type { TokenizerKind } from '../data/tokenizers.js';
import { bpttBatches, numBpttBatches, type BpttBatch } from '../data/bptt.js';
import { contextWindows, type WindowBatch } from '../data/loaders.js';
import { randomWindows, sequentialWindows, type SequenceBatch } from '../data/windows.js';
import { FeedForwardLM, type FeedForwardConfig } from '../models/ffnn.js';
import { KneserNeyLM } from '../models/ngram.js';
import { RecurrentLM, detachState, disposeState, evaluateRecurrent, type RecurrentConfig, type RecurrentState } from '../models/rnn.js';
import { TransformerLM, type TransformerConfig } from '../models/transformer.js';
import { LogLinearLM, type LogLinearConfig } from '../models/loglinear.js';
import { MambaLM, type MambaConfig } from '../models/mamba.js';
import { MaskedLM, evaluateMasked, type MaskedLMConfig } from '../models/mlm.js';
import { randomMaskedWindows, type MaskedSequenceBatch } from '../data/masking.js';
import { inverseTime, warmupCosine, type Schedule } from '../optim/schedule.js';
import type { Module } from '../nn/module.js';
import { crossEntropy } from '../ops/crossentropy.js';
import { Tensor, keep } from '../tensor.js';
import { CHECKPOINT_KINDS, openTraining, saveNgramTrained, saveTrained, type OpenedTraining } from './checkpointing.js';
import { makeOptimizer, recordedOptions, resolveRunOptions, restoreRun, type TrainRunInput } from './run-state.js';
import { openInit, type InitSource } from './init.js';
import { effectiveConfig, type ConfigValue } from './effective-config.js';
import { reporting } from './eval-progress.js';
import { MODEL_DEFAULTS } from './model-defaults.js';
import { RunHistory, type RunHistoryJSON } from './history.js';
import type { DataParallel } from '../dist/ddp.js';
import { Trainer, evaluateLoss, type EvalResult, type LossResult, type StepEvent } from './trainer.js';

export type ModelKind = 'ngram' | 'loglinear' | 'ffnn' | 'rnn' | 'lstm' | 'transformer' | 'mlm' | 'mamba';
export const MODEL_KINDS: readonly ModelKind[] = ['ngram', 'loglinear', 'ffnn', 'rnn', 'lstm', 'transformer', 'mlm', 'mamba'];
export type ScheduleKind = 'constant' | 'cosine' | 'inverse';
export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['constant', 'cosine', 'inverse'];
export type OptimizerKind = 'sgd' | 'adamw' | 'adam' | 'adafactor' | 'sophia';
export const OPTIMIZER_KINDS: readonly OptimizerKind[] = ['sgd', 'adamw', 'adam', 'adafactor', 'sophia'];

export interface TrainRunOptions {
  model: ModelKind;
  /**
   * 'brown', a UTF-8 text file or folder (split 90/5/5), a token file from `lmkit tokenize`,
   * or text in memory: `{ text }` (split 90/5/5) or `{ train, valid, test }` (see data/training-corpus.ts).
   */
  corpus: CorpusSpec;
  /** Text corpora: the tokenizer built on the training split (default 'word'). */
  tokenizer?: TokenizerKind;
  /** --tokenizer bpe: target vocabulary size (default 1024). */
  bpeVocab?: number;
  epochs?: number;
  steps?: number;
  /** Examples (ffnn), streams (rnn/lstm) or windows (transformer) per batch. */
  batch?: number;
  /** Previous tokens seen (ngram: order - 1; ffnn: n - 1) or sequence length (rnn, lstm, transformer). */
  context?: number;
  embed?: number;
  hidden?: number;
  layers?: number;
  heads?: number;
  direct?: boolean;
  dropout?: number;
  /**
   * ffnn, rnn, lstm, loglinear: initial weights U(+-initRange) (ffnn: its embedding) instead of
   * the default rule (lib/nn/init.ts; loglinear's default is zeros).
   */
  initRange?: number;
  optimizer?: OptimizerKind;
  /** loglinear: rows of the hashed feature table (default 2048; the table is buckets x vocabulary). */
  buckets?: number;
  lr?: number;
  weightDecay?: number;
  /** Learning-rate schedule over the whole run (default 'constant'). */
  schedule?: ScheduleKind;
  /** Linear warm-up steps (schedule 'cosine'; default 0). */
  warmup?: number;
  /** Global gradient-norm clipping (default 1 for recurrent and Transformer models). */
  clip?: number;
  /** Vocabulary (word and char tokenizers): tokens seen at least this often in train (default 4: ANCHORS.md). */
  minCount?: number;
  seed?: number;
  /** Also evaluate on the test split (default true). */
  test?: boolean;
  /** Evaluate on at most this many tokens of each split (default: all; for quick runs). */
  evalTokens?: number;
  /** Save the trained model (weights, config, vocabulary) as a checkpoint in this directory. */
  out?: string;
  /** Also save a resumable checkpoint to `out` every this many steps (run-state.ts). */
  saveEvery?: number;
  /** Continue the run saved in this checkpoint directory (options from it; see run-state.ts). */
  resume?: string;
  /** Fine-tune the transformer saved in this checkpoint directory, with its tokenizer (init.ts). */
  init?: string;
  /** Batches whose gradients are averaged into each optimizer step (default 1). */
  accumulate?: number;
  /** Evaluate the validation split every this many steps (default: at the end of every epoch only). */
  evalEvery?: number;
  /** Early stopping: stop after this many evaluations without a better validation perplexity. */
  patience?: number;
  /** With early stopping: end with the weights of the best evaluation. */
  restoreBest?: boolean;
  /** Skip the steps whose loss is NaN/Inf (default: stop there with an error). */
  skipNonfinite?: boolean;
}

/** What a run will do, sent once before its first step (for progress displays and ETAs). */
export interface TrainPlan {
  /** The run's total optimizer steps (a resumed run: counting those done before). */
  totalSteps: number;
  /** The step the run starts from (0, or the resumed checkpoint's step). */
  startStep: number;
  /** The steps after which the validation split is evaluated (planned; the last is the final evaluation). */
  evalSteps: number[];
  /** Tokens of each validation evaluation, and of the test evaluation at the end (0 without). */
  validTokens: number;
  testTokens: number;
}

/** Callbacks of runTraining (all optional). */
export interface TrainRunEvents {
  /** One-line messages: the corpus, the model, resumes, early stops, the checkpoint. */
  info?: (message: string) => void;
  /** After every optimizer step. */
  step?: (e: StepEvent & { total: number }) => void;
  /** After every evaluation: the validation evaluations during and at the end of the run, and the test one. */
  eval?: (e: EvalResult & { split: 'valid' | 'test'; step: number }) => void;
  /** Once, before the first step (neural models). */
  plan?: (p: TrainPlan) => void;
  /** During an evaluation: `done` of `total` tokens (done 0 at its start). */
  evalProgress?: (e: { split: 'valid' | 'test'; step: number; done: number; total: number }) => void;
  /**
   * Checked after every step (the run yields to the event loop between steps): returning true
   * ends the run there; with `out`, a resumable checkpoint of that step is saved first and the
   * result has `interrupted: true` (no final evaluation).
   */
  shouldStop?: () => boolean;
}

export interface TrainRunResult {
  model: ModelKind;
  steps: number;
  seconds: number;
  tokensPerSecond: number;
  parameters: number;
  vocabSize: number;
  validPpl: number;
  testPpl: number | null;
  /** The checkpoint directory written (with `out`), else null. */
  checkpoint: string | null;
  /** True when early stopping (`patience`) ended the run (neural models). */
  stoppedEarly?: boolean;
  /** Steps skipped for a non-finite loss (`skipNonfinite`; neural models). */
  skippedSteps?: number;
  /** True when `shouldStop` ended the run (validPpl is then NaN: no final evaluation). */
  interrupted?: boolean;
  /** The whole run's loss and validation history, also across resumes (neural models). */
  history?: RunHistoryJSON;
  /** Every setting the run used, defaults included (lr, schedule, batch, sizes, optimizer, tokenizer ...). */
  config?: Record<string, ConfigValue>;
}

/** Perplexity over an id array; `onProgress(tokens)` as it goes (optional). */
type Evaluator = (ids: Int32Array, onProgress?: (tokensDone: number) => void) => EvalResult;

/** A model family's training pieces: its batches, its loss and its evaluation. */
interface Job<B> {
  model: Module;
  batches: (epoch: number) => Iterable<B>;
  stepsPerEpoch: number;
  loss: (b: B) => LossResult;
  evaluate: Evaluator;
  /** Called at the start of every epoch (recurrent models reset their carried state). */
  startEpoch?: () => void;
  /** The state carried between batches (recurrent models), by name: live tensors, for checkpoints. */
  carry?: () => Record<string, Tensor> | null;
  /** Sets the carried state from saved tensors (copied); called after startEpoch on resume. */
  setCarry?: (saved: Map<string, Tensor>) => void;
  dispose: () => void;
}

/**
/**
 * Trains a language model as `lmkit train` does: opens the corpus (`'brown'`, a text file or
 * folder, a token file, or text in memory: `corpus: { text }`), builds the tokenizer on its
 * training split, the model and the optimizer (defaults per model: {@link MODEL_DEFAULTS}),
 * trains for `steps` (or `epochs`, default 1), evaluates the validation split (every
 * `evalEvery` steps, at each epoch end and at the end) and the test split, and with `out`
 * saves a checkpoint there (load it with `loadTrained`). `resume: dir` continues a saved run.
 * Progress arrives through `ev` (steps, evaluations, info lines; `shouldStop` ends the run
 * early). Resolves with the perplexities, speed and effective configuration.
 *
 * With `dist` (lib/dist: one rank of a data-parallel job; use `trainDistributed`) the run's
 * batch is the global batch (`input.batch` per rank x world size; a resumed run keeps the
 * checkpoint's global batch), every rank trains on its share of each batch, and only rank 0
 * reports events and writes checkpoints (see lib/dist/ddp.ts).
 *
 * @example
 * const r = await runTraining({ model: 'lstm', corpus: { text }, steps: 100, out: 'runs/lstm' },
 *   { step: (e) => console.log(e.step, e.loss) });
 * console.log(r.validPpl, r.testPpl);
 */
export async function runTraining(input: TrainRunInput, ev: TrainRunEvents = {}, dist?: DataParallel): Promise<TrainRunResult> {
  const o = resolveRunOptions(dist ? dist.globalInput(input, (m) => MODEL_DEFAULTS[m as NeuralKind]?.batch) : input);
  if (dist) {
    dist.checkRun(o);
    if (!dist.isMain) ev = {};
  }
  if (o.saveEvery !== undefined && o.out === undefined) throw new Error('--save-every needs --out DIR (where to save)');
  checkCorpusSpec(o.corpus);
  if (!MODEL_KINDS.includes(o.model)) throw new Error(`unknown model '${String(o.model)}' (one of ${MODEL_KINDS.join(', ')})`);
  if (o.out !== undefined && !CHECKPOINT_KINDS.includes(o.model)) {
    throw new Error(`--out: saving '${o.model}' models is not supported yet (supported: ${CHECKPOINT_KINDS.join(', ')})`);
  }
  const fromInit = o.init !== undefined ? openInit(o) : null;
  try {
    const oi = fromInit?.options ?? o;
    const corpus = openTrainingCorpus({ corpus: oi.corpus, tokenizer: oi.tokenizer, bpeVocab: oi.bpeVocab, minCount: oi.minCount, fixedTokenizer: fromInit?.init.tokenizer });
    try {
      return await runTrainingOn(corpus, oi, ev, dist, fromInit?.init);
    } finally {
      corpus.close();
    }
  } finally {
    fromInit?.init.dispose();
  }
}

/**
 * Checks that every split holds enough tokens for the model's windows (and, recurrent
 * models, for the batch of streams); throws one clear line otherwise.
 */
function checkCorpusSize(kind: ModelKind, name: string, splits: [string, TokenSource][], context: number, batch: number): void {
  const recurrent = kind === 'rnn' || kind === 'lstm';
  for (const [split, src] of splits) {
    // Recurrent evaluation reads 10 parallel streams of at least 2 tokens each.
    let need = recurrent && split !== 'train' ? Math.max(context + 2, 21) : context + 2;
    let what = `--context ${context}`;
    if (recurrent && split === 'train' && 2 * batch > need) {
      need = 2 * batch;
      what = `--batch ${batch}`;
    }
    if (src.length < need) {
      throw new Error(
        `corpus ${name} is too small for ${what}: the ${split} split has ${src.length} tokens, at least ${need} are needed ` +
          `(use more text${split === 'train' ? '' : ', a larger --eval-tokens'} or a smaller ${what.split(' ')[0]})`,
      );
    }
  }
}

async function runTrainingOn(
  corpus: TrainingCorpus,
  o: TrainRunOptions,
  ev: TrainRunEvents,
  dist?: DataParallel,
  init?: InitSource,
): Promise<TrainRunResult> {
  const seed = o.seed ?? 1;
  const limit = (a: TokenSource): TokenSource =>
    o.evalTokens !== undefined && o.evalTokens < a.length ? new RangeTokenSource(a, 0, o.evalTokens) : a;
  const ids = { train: corpus.train, valid: limit(corpus.valid), test: limit(corpus.test) };
  ev.info?.(corpus.summary);
  const V = corpus.vocabSize;
  const evalSplits = (): [string, TokenSource][] => [
    ['train', ids.train],
    ['valid', ids.valid],
    ...(o.test !== false ? ([['test', ids.test]] as [string, TokenSource][]) : []),
  ];

  if (o.model === 'ngram') {
    const order = (o.context ?? 4) + 1;
    checkCorpusSize('ngram', corpus.name, evalSplits(), order - 1, 1);
    const inMem = (s: TokenSource): Int32Array => {
      const a = inMemory(s);
      if (!a) throw new Error(`--model ngram counts the whole corpus in memory: train it on a text corpus, not the token file ${corpus.name}`);
      return a;
    };
    const t0 = performance.now();
    const lm = KneserNeyLM.train(inMem(ids.train), { order, vocabSize: V });
    const seconds = (performance.now() - t0) / 1000;
    ev.info?.(`model ngram: interpolated modified Kneser-Ney, order ${order}; trained in ${seconds.toFixed(1)} s`);
    const valid = lm.evaluate(inMem(ids.valid));
    ev.eval?.({ ...valid, split: 'valid', step: 0 });
    let testPpl: number | null = null;
    if (o.test !== false) {
      const t = lm.evaluate(inMem(ids.test));
      testPpl = t.ppl;
      ev.eval?.({ ...t, split: 'test', step: 0 });
    }
    let checkpoint: string | null = null;
    if (o.out !== undefined) {
      saveNgramTrained(o.out, {
        model: lm,
        vocab: corpus.vocab ?? undefined,
        tokenizer: corpus.tokenizer ?? undefined,
        corpus: corpus.name,
        options: recordedOptions(o),
        result: { validPpl: valid.ppl, testPpl },
      });
      checkpoint = o.out;
      ev.info?.(`checkpoint saved to ${o.out}`);
    }
    return {
      model: 'ngram',
      steps: 0,
      seconds,
      tokensPerSecond: ids.train.length / Math.max(seconds, 1e-9),
      parameters: 0,
      vocabSize: V,
      validPpl: valid.ppl,
      testPpl,
      checkpoint,
      config: effectiveConfig({ model: 'ngram', options: o, corpus: corpus.name, tokenizer: tokenizerLabel(corpus), vocabSize: V }),
    };
  }

  const d = MODEL_DEFAULTS[o.model];
  const batch = o.batch ?? d.batch;
  const context = o.context ?? d.context;
  const embed = o.embed ?? d.embed;
  const hidden = o.hidden ?? d.hidden;
  const layers = o.layers ?? d.layers;
  const heads = o.heads ?? d.heads;
  const dropout = o.dropout ?? 0;
  const clip = o.clip ?? d.clip;
  checkCorpusSize(o.model, corpus.name, evalSplits(), context, batch);
  if (o.model === 'mlm' && !inMemory(ids.train)) {
    throw new Error(`--model mlm does not stream from token files yet: train it on a text corpus, not ${corpus.name}`);
  }
  const jobConfig: JobConfig = {
    V,
    batch,
    context,
    embed,
    hidden,
    layers,
    heads,
    dropout,
    seed,
    direct: o.direct ?? false,
    buckets: o.buckets ?? 2048,
    ...(o.initRange !== undefined ? { initRange: o.initRange } : {}),
  };
  const job = makeJob(o.model, jobConfig, ids.train, init?.config);
  if (init) {
    init.load(job.model);
    ev.info?.(`--init: weights from ${init.dir}`);
  }
  if (dist) job.batches = dist.shardBatches(job.batches);

  const optimizerName = o.optimizer ?? 'adamw';
  const accumulate = o.accumulate ?? 1;
  const batchTokens = batch * (o.model === 'ffnn' || o.model === 'loglinear' ? 1 : context) * accumulate;
  const optimizer = makeOptimizer(optimizerName, job.model.parameters(), o, d.lr, batchTokens);
  const lr = optimizer.lr;
  ev.info?.(
    `model ${o.model}: ${describe(o.model, { context, embed, hidden, layers, heads, direct: o.direct ?? false, dropout })}; ` +
      `${job.model.numParameters()} parameters; ${optimizerName} lr ${lr} (${o.schedule ?? 'constant'}${o.warmup ? `, warmup ${o.warmup}` : ''})${clip ? `, clip ${clip}` : ''}`,
  );

  let opened: OpenedTraining | null = null;
  try {
    const epochs = o.epochs ?? (o.steps ? undefined : 1);
    const total = o.steps ?? Math.ceil(job.stepsPerEpoch / accumulate) * (epochs ?? 1);
    const schedule = makeSchedule(o.schedule ?? 'constant', optimizer.lr, o.warmup ?? 0, total);
    const trainer = new Trainer(job.model, optimizer, job.loss, {
      clipNorm: clip,
      schedule,
      accumulate,
      onNonFinite: o.skipNonfinite ? 'skip' : 'stop',
      seed,
      reduceGradients: dist?.reducer(),
    });
    // Resumable checkpoints: the model's files plus the whole training state (checkpointing.ts).
    const saveTo = (dir: string, result?: { validPpl: number; testPpl: number | null }, carry?: Record<string, Tensor> | null): void =>
      saveTrained(dir, {
        kind: o.model,
        config: job.config,
        job: jobConfig,
        model: job.model as NeuralModel,
        vocab: corpus.vocab ?? undefined,
        tokenizer: corpus.tokenizer ?? undefined,
        corpus: corpus.name,
        step: trainer.step,
        ...(result ? { result } : {}),
        training: {
          options: recordedOptions(o),
          trainer: trainer.state(),
          optimizer,
          optimizerKind: optimizerName,
          rng: job.model.rngState(),
          carry: carry !== undefined ? carry : (job.carry?.() ?? null),
          best: trainer.bestWeights,
          history: history.toJSON(),
        },
      });
    let pendingCarry: Map<string, Tensor> | null = null;
    let history = new RunHistory();
    if (o.resume !== undefined) {
      opened = openTraining(o.resume);
      pendingCarry = restoreRun(opened, { model: job.model, config: job.config, optimizer, optimizerKind: optimizerName, trainer });
      history = RunHistory.fromJSON(opened.training.history);
      history.resume(trainer.step);
      ev.info?.(`resumed ${o.resume} at step ${trainer.step} (epoch ${trainer.epoch + 1}, batch ${trainer.batchInEpoch})`);
    }
    if (dist) {
      await dist.start(job.model, { options: recordedOptions(o), config: job.config, step: trainer.step });
      if (pendingCarry) pendingCarry = dist.takeRows(pendingCarry);
      ev.info?.(`data-parallel: ${dist.worldSize} ranks, global batch ${batch} (${dist.share(batch)[1] - dist.share(batch)[0]} on rank 0)`);
    }
    // With dist: rank 0 evaluates, the others receive its result; all ranks take part in a save.
    const evalSplit = (split: TokenSource, name: 'valid' | 'test'): EvalResult | Promise<EvalResult> =>
      dist ? dist.evaluate(() => evaluate(split, name)) : evaluate(split, name);
    const save = async (dir: string, result?: { validPpl: number; testPpl: number | null }): Promise<void> => {
      if (!dist) return saveTo(dir, result);
      const carry = await dist.gatherRows(job.carry?.() ?? null, batch);
      try {
        if (dist.isMain) saveTo(dir, result, carry);
      } finally {
        for (const t of Object.values(carry ?? {})) t.dispose();
      }
    };
    const evaluate = (split: TokenSource, name: 'valid' | 'test'): EvalResult => {
      job.model.eval();
      const progress = ev.evalProgress && ((done: number, n: number) => ev.evalProgress!({ split: name, step: trainer.step, done, total: n }));
      progress?.(0, split.length);
      const r = evaluateInChunks(job.evaluate, split, undefined, progress);
      job.model.train();
      return r;
    };
    ev.plan?.({
      totalSteps: total,
      startStep: trainer.step,
      evalSteps: plannedEvalSteps(total, Math.ceil(job.stepsPerEpoch / accumulate), epochs !== undefined, o.evalEvery),
      validTokens: ids.valid.length,
      testTokens: o.test !== false ? ids.test.length : 0,
    });
    const config = effectiveConfig({
      model: o.model,
      options: o,
      corpus: corpus.name,
      tokenizer: tokenizerLabel(corpus),
      vocabSize: V,
      neural: {
        ...jobConfig,
        totalSteps: total,
        epochs,
        accumulate,
        optimizer: optimizerName,
        optimizerObject: optimizer,
        lr,
        schedule: o.schedule ?? 'constant',
        warmup: o.warmup ?? 0,
        clip,
      },
    });
    // The last validation evaluation (reused at the end when it is of the final weights).
    let lastValid: (EvalResult & { step: number }) | null = null;
    const result = await trainer.fit({
      batches: (epoch) => {
        job.startEpoch?.();
        if (pendingCarry) job.setCarry?.(pendingCarry); // a resumed epoch continues its BPTT state
        pendingCarry = null;
        return job.batches(epoch);
      },
      epochs,
      steps: o.steps,
      evaluate: () => evalSplit(ids.valid, 'valid'),
      evalEvery: o.evalEvery,
      patience: o.patience,
      restoreBest: o.restoreBest,
      onStep: (e) => {
        history.step(e.step, e.loss);
        ev.step?.({ ...e, total });
      },
      onEval: (e) => {
        lastValid = e;
        history.eval(e.step, e.ppl);
        ev.eval?.({ ...e, split: 'valid' });
      },
      saveEvery: o.saveEvery,
      onSave: () => save(o.out!),
      // Ctrl-C stops a single process; a data-parallel job is stopped by its launcher (every rank).
      shouldStop: dist ? undefined : ev.shouldStop,
    });
    if (result.interrupted) {
      let checkpoint: string | null = null;
      if (o.out !== undefined) {
        saveTo(o.out);
        checkpoint = o.out;
        ev.info?.(`checkpoint of step ${result.steps} saved to ${o.out}`);
      }
      return {
        model: o.model,
        steps: result.steps,
        seconds: result.seconds,
        tokensPerSecond: result.tokensPerSecond,
        parameters: job.model.numParameters(),
        vocabSize: V,
        validPpl: Number.NaN,
        testPpl: null,
        checkpoint,
        stoppedEarly: false,
        skippedSteps: result.skippedSteps,
        interrupted: true,
        history: history.toJSON(),
        config,
      };
    }
    if (result.stoppedEarly) {
      ev.info?.(
        `early stop at step ${result.steps}: no better validation perplexity in ${o.patience} evaluations ` +
          `(best ${result.bestPpl?.toFixed(1)} at step ${result.bestStep}${o.restoreBest ? ', restored' : ''})`,
      );
    }
    // The final validation perplexity: the last evaluation when it was of these weights, else a new one.
    const last = lastValid as (EvalResult & { step: number }) | null;
    const restored = o.restoreBest === true && result.bestStep !== null && result.bestStep !== result.steps;
    let valid: EvalResult;
    if (last !== null && last.step === result.steps && !restored) {
      valid = last;
    } else {
      valid = await evalSplit(ids.valid, 'valid');
      history.eval(result.steps, valid.ppl);
      ev.eval?.({ ...valid, split: 'valid', step: result.steps });
    }
    let testPpl: number | null = null;
    if (o.test !== false) {
      const t = await evalSplit(ids.test, 'test');
      testPpl = t.ppl;
      ev.eval?.({ ...t, split: 'test', step: result.steps });
    }
    let checkpoint: string | null = null;
    if (o.out !== undefined) {
      await save(o.out, { validPpl: valid.ppl, testPpl });
      if (!dist || dist.isMain) checkpoint = o.out;
      ev.info?.(`checkpoint saved to ${o.out}`);
    }
    return {
      model: o.model,
      steps: result.steps,
      seconds: result.seconds,
      tokensPerSecond: result.tokensPerSecond,
      parameters: job.model.numParameters(),
      vocabSize: V,
      validPpl: valid.ppl,
      testPpl,
      checkpoint,
      stoppedEarly: result.stoppedEarly,
      skippedSteps: result.skippedSteps,
      interrupted: false,
      history: history.toJSON(),
      config,
    };
  } finally {
    opened?.dispose();
    job.dispose();
    optimizer.dispose();
  }
}

/**
 * The steps after which a run evaluates the validation split: every `evalEvery` steps, at
 * every epoch end (with `byEpochs`; with a step budget, the epoch ends before the last step),
 * and at the last step.
 */
export function plannedEvalSteps(total: number, stepsPerEpoch: number, byEpochs: boolean, evalEvery?: number): number[] {
  const at = new Set<number>([total]);
  if (evalEvery) for (let s = evalEvery; s <= total; s += evalEvery) at.add(s);
  if (stepsPerEpoch > 0) for (let s = stepsPerEpoch; s < total || (byEpochs && s === total); s += stepsPerEpoch) at.add(s);
  return [...at].sort((a, b) => a - b);
}

/** The tokenizer of a corpus, for the report: its kind, or Brown's whitespace-split words. */
function tokenizerLabel(c: TrainingCorpus): string {
  return c.tokenizer ? c.tokenizer.kind : 'word (whitespace-split)';
}

function makeSchedule(kind: ScheduleKind, lr: number, warmup: number, total: number): Schedule | undefined {
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`warmup must be an integer >= 0, got ${warmup}`);
  switch (kind) {
    case 'constant':
      return warmup > 0 ? (t) => (t < warmup ? (lr * (t + 1)) / warmup : lr) : undefined;
    case 'cosine':
      return warmupCosine(lr, warmup, total, lr / 100);
    case 'inverse':
      // Bengio et al. (2003): lr / (1 + r t), r chosen so the rate ends at a tenth.
      return inverseTime(lr, 9 / Math.max(1, total));
    default:
      throw new Error(`unknown schedule '${String(kind)}' (one of ${SCHEDULE_KINDS.join(', ')})`);
  }
}

function describe(
  kind: ModelKind,
  c: { context: number; embed: number; hidden: number; layers: number; heads: number; direct: boolean; dropout: number },
): string {
  switch (kind) {
    case 'ffnn':
      return `context ${c.context}, embed ${c.embed}, hidden ${c.hidden}, direct ${c.direct}`;
    case 'rnn':
    case 'lstm':
      return `${c.layers} x ${c.hidden} (embed ${c.embed}), BPTT ${c.context}, dropout ${c.dropout}`;
    case 'loglinear':
      return `context ${c.context}, hashed n-gram features`;
    case 'mamba':
      return `${c.layers} blocks, width ${c.embed}, d_state 16, expand 2, d_conv 4, context ${c.context}`;
    default:
      return `${c.layers} layers, ${c.heads} heads, width ${c.embed}, context ${c.context}, dropout ${c.dropout}`;
  }
}

/** How a job was set up: the model's sizes plus the batching (saved in checkpoints for evaluation). */
export interface JobConfig {
  V: number;
  batch: number;
  context: number;
  embed: number;
  hidden: number;
  layers: number;
  heads: number;
  dropout: number;
  seed: number;
  direct: boolean;
  buckets: number;
  /** --init-range (absent: the model's default init). */
  initRange?: number;
}

/** The kinds of trained model that have a constructor config (everything but ngram). */
export type NeuralKind = Exclude<ModelKind, 'ngram'>;
export type NeuralModel = FeedForwardLM | RecurrentLM | TransformerLM | LogLinearLM | MaskedLM | MambaLM;
/** The constructor config of a model of each kind. */
export type ModelConfig = FeedForwardConfig | RecurrentConfig | TransformerConfig | LogLinearConfig | MaskedLMConfig | MambaConfig;

/** The constructor config of the model a job of `kind` trains. */
export function modelConfigFor(kind: NeuralKind, c: JobConfig): ModelConfig {
  const initRange = c.initRange !== undefined ? { initRange: c.initRange } : {};
  switch (kind) {
    case 'ffnn':
      return { vocabSize: c.V, context: c.context, embed: c.embed, hidden: c.hidden, direct: c.direct, seed: c.seed, ...initRange };
    case 'rnn':
    case 'lstm':
      return {
        vocabSize: c.V,
        cell: kind,
        embed: c.embed,
        hidden: c.hidden,
        layers: c.layers,
        dropout: c.dropout,
        seed: c.seed,
        tieWeights: c.embed === c.hidden,
        ...initRange,
      };
    case 'loglinear':
      return { vocabSize: c.V, context: c.context, buckets: c.buckets, seed: c.seed, ...initRange };
    case 'mamba':
      return { vocabSize: c.V, embed: c.embed, layers: c.layers, seed: c.seed };
    case 'mlm':
    case 'transformer':
      return {
        vocabSize: c.V,
        context: c.context,
        embed: c.embed,
        heads: c.heads,
        layers: c.layers,
        dropout: c.dropout,
        seed: c.seed,
      };
  }
}

/** A fresh model of `kind` from its constructor config. */
export function buildModel(kind: NeuralKind, config: ModelConfig): NeuralModel {
  switch (kind) {
    case 'ffnn':
      return new FeedForwardLM(config as FeedForwardConfig);
    case 'rnn':
    case 'lstm':
      return new RecurrentLM(config as RecurrentConfig);
    case 'loglinear':
      return new LogLinearLM(config as LogLinearConfig);
    case 'mamba':
      return new MambaLM(config as MambaConfig);
    case 'mlm':
      return new MaskedLM(config as MaskedLMConfig);
    case 'transformer':
      return new TransformerLM(config as TransformerConfig);
    default:
      throw new Error(`unknown model kind '${String(kind)}'`);
  }
}

/**
 * The evaluation of a `kind` model as training does it (perplexity over `ids`), with the
 * job's context/batching `c`. Puts the model in eval mode for the call, then back to train.
 */
export function evaluateModel(kind: NeuralKind, model: NeuralModel, c: JobConfig, ids: Int32Array): EvalResult {
  const wasTraining = model.training;
  model.eval();
  try {
    return evaluatorFor(kind, model, c)(ids);
  } finally {
    model.train(wasTraining);
  }
}

function evaluatorFor(kind: NeuralKind, model: Module, c: JobConfig): Evaluator {
  switch (kind) {
    case 'ffnn':
    case 'loglinear': {
      const m = model as FeedForwardLM | LogLinearLM;
      return (ids, onProgress) =>
        evaluateLoss(reporting(contextWindows(ids, c.context, 1024), (b) => b.size, onProgress), (b) => {
          const { x, y } = windowTensors(b, c.context);
          return { sum: crossEntropy(m.forward(x), y, { reduction: 'sum' }), tokens: b.size };
        });
    }
    case 'rnn':
    case 'lstm':
      return (ids, onProgress) => evaluateRecurrent(model as RecurrentLM, ids, 10, c.context, onProgress);
    case 'mlm':
      // Masked-token perplexity: exp(mean NLL over the masked positions), fixed masks.
      return (ids, onProgress) => evaluateMasked(model as MaskedLM, ids, 8, c.context, c.seed, {}, onProgress);
    default: {
      const m = model as TransformerLM | MambaLM;
      return (ids, onProgress) =>
        evaluateLoss(reporting(sequentialWindows(ids, 8, c.context), (b) => b.tokens, onProgress), (b) => ({ sum: sequenceLoss(m, b, 'sum'), tokens: b.tokens }));
    }
  }
}

// The union of the three batch kinds; each job only ever sees its own.
type AnyBatch = { inputs: Int32Array; targets: Int32Array };

function makeJob(kind: NeuralKind, c: JobConfig, train: TokenSource, given?: ModelConfig): Job<AnyBatch> & { config: ModelConfig } {
  const config = given ?? modelConfigFor(kind, c);
  const job = jobFor(kind, buildModel(kind, config), c, train);
  return { ...job, config };
}

function jobFor(kind: NeuralKind, built: NeuralModel, c: JobConfig, train: TokenSource): Job<AnyBatch> {
  const evaluate = evaluatorFor(kind, built, c);
  if (kind === 'ffnn' || kind === 'loglinear') {
    const model = built as FeedForwardLM | LogLinearLM;
    return windowJob(model, (x) => model.forward(x), c, train, evaluate);
  }
  if (kind === 'rnn' || kind === 'lstm') {
    const model = built as RecurrentLM;
    // The hidden state carried from batch to batch (truncated BPTT), reset every epoch.
    let state: RecurrentState | null = null;
    // The state the last batch started from (kept for Sophia's lossOnLabels).
    let input: RecurrentState | null = null;
    const mem = inMemory(train);
    return {
      model,
      // In memory: the array loader; a token file: the same streams, read window by window.
      batches: () => (mem ? bpttBatches(mem, c.batch, c.context) : bpttBatchesFrom(train, c.batch, c.context)),
      stepsPerEpoch: mem ? numBpttBatches(mem, c.batch, c.context) : numBpttBatchesFrom(train, c.batch, c.context),
      startEpoch: () => {
        disposeState(state);
        disposeState(input);
        state = null;
        input = null;
      },
      loss: (b) => {
        // recurrentLoss, keeping the batch's input state until the next batch (Sophia's
        // lossOnLabels re-runs the forward from it).
        const { batchSize: B, T, inputs, targets } = b as BpttBatch;
        disposeState(input);
        input = state;
        const from = input;
        const ids = (): Tensor => Tensor.fromArray(inputs, [B, T], 'int32');
        const out = model.forward(ids(), from);
        const loss = crossEntropy(out.logits, Tensor.fromArray(targets, [B * T], 'int32'));
        state = detachState(out.state);
        return {
          loss,
          tokens: B * T,
          logits: out.logits,
          lossOnLabels: (labels) => crossEntropy(model.forward(ids(), from).logits, labels),
        };
      },
      carry: () => {
        if (!state) return null;
        const named: Record<string, Tensor> = {};
        state.h.forEach((t, l) => (named[`h.${l}`] = t));
        state.c?.forEach((t, l) => (named[`c.${l}`] = t));
        return named;
      },
      setCarry: (saved) => {
        const take = (name: string): Tensor => {
          const t = saved.get(name);
          if (!t) throw new Error(`--resume: the checkpoint's carried state has no '${name}'`);
          return keep(t.clone());
        };
        const h = Array.from({ length: c.layers }, (_, l) => take(`h.${l}`));
        const cs = model.config.cell === 'lstm' ? Array.from({ length: c.layers }, (_, l) => take(`c.${l}`)) : null;
        disposeState(state);
        state = { h, c: cs };
      },
      evaluate,
      dispose: () => {
        disposeState(state);
        disposeState(input);
        model.dispose();
      },
    };
  }
  if (kind === 'mlm') {
    const model = built as MaskedLM;
    const mlmIds = inMemory(train);
    if (!mlmIds) throw new Error('mlm: the training tokens must be in memory');
    const stepsPerEpoch = Math.ceil(train.length / (c.batch * c.context));
    return {
      model,
      batches: function* (epoch) {
        for (let s = 0; s < stepsPerEpoch; s++) {
          yield randomMaskedWindows(mlmIds, c.batch, c.context, c.seed * 1_000_003 + epoch * stepsPerEpoch + s, { vocabSize: c.V });
        }
      },
      stepsPerEpoch,
      loss: (b) => {
        const mb = b as MaskedSequenceBatch;
        const logits = model.forward(Tensor.fromArray(mb.inputs, [mb.batchSize, mb.seqLen], 'int32'));
        const loss = crossEntropy(logits, Tensor.fromArray(mb.targets, [mb.batchSize * mb.seqLen], 'int32'));
        return { loss, tokens: mb.batchSize * mb.seqLen };
      },
      evaluate,
      dispose: () => model.dispose(),
    };
  }
  return sequenceJob(built as TransformerLM | MambaLM, c, train, evaluate);
}

function windowTensors(b: WindowBatch, context: number): { x: Tensor; y: Tensor } {
  return {
    x: Tensor.fromArray(b.inputs, [b.size, context], 'int32'),
    y: Tensor.fromArray(b.targets, [b.size], 'int32'),
  };
}

/**
 * Fixed-context models (feed-forward, log-linear): shuffled context windows -> next token.
 * A token file (not in memory) draws random positions per batch instead of shuffling them all.
 */
function windowJob(
  model: Module,
  forward: (x: Tensor) => Tensor,
  c: JobConfig,
  train: TokenSource,
  evaluate: Evaluator,
): Job<AnyBatch> {
  const mem = inMemory(train);
  const stepsPerEpoch = Math.ceil((train.length - c.context) / c.batch);
  return {
    model,
    batches: mem
      ? (epoch) => contextWindows(mem, c.context, c.batch, { shuffle: true, seed: c.seed * 1000 + epoch })
      : function* (epoch) {
          for (let s = 0; s < stepsPerEpoch; s++) yield randomContextWindowsFrom(train, c.context, c.batch, c.seed * 1_000_003 + epoch * stepsPerEpoch + s);
        },
    stepsPerEpoch,
    loss: (b) => {
      const { x, y } = windowTensors(b as WindowBatch, c.context);
      const logits = forward(x);
      return { loss: crossEntropy(logits, y), tokens: (b as WindowBatch).size, logits, lossOnLabels: (labels) => crossEntropy(forward(windowTensors(b as WindowBatch, c.context).x), labels) };
    },
    evaluate,
    dispose: () => model.dispose(),
  };
}

function sequenceLoss(model: TransformerLM | MambaLM, b: SequenceBatch, reduction: 'mean' | 'sum'): Tensor {
  return crossEntropy(
    model.forward(Tensor.fromArray(b.inputs, [b.batchSize, b.seqLen], 'int32')),
    Tensor.fromArray(b.targets, [b.tokens], 'int32'),
    { reduction },
  );
}

/** Causal sequence models (Transformer, Mamba): random windows to train, consecutive windows to evaluate. */
function sequenceJob(
  model: TransformerLM | MambaLM,
  c: JobConfig,
  train: TokenSource,
  evaluate: Evaluator,
): Job<AnyBatch> {
  const stepsPerEpoch = Math.ceil(train.length / (c.batch * c.context));
  // In memory: slices of the array; a token file: one read of T + 1 tokens per window.
  const mem = inMemory(train);
  const windows = (seed: number): SequenceBatch =>
    mem ? randomWindows(mem, c.batch, c.context, seed) : randomWindowsFrom(train, c.batch, c.context, seed);
  return {
    model,
    batches: function* (epoch) {
      for (let s = 0; s < stepsPerEpoch; s++) yield windows(c.seed * 1_000_003 + epoch * stepsPerEpoch + s);
    },
    stepsPerEpoch,
    loss: (b) => {
      // sequenceLoss, exposing the logits and the loss on other labels (Sophia).
      const sb = b as SequenceBatch;
      const ids = (): Tensor => Tensor.fromArray(sb.inputs, [sb.batchSize, sb.seqLen], 'int32');
      const logits = model.forward(ids());
      const loss = crossEntropy(logits, Tensor.fromArray(sb.targets, [sb.tokens], 'int32'), { reduction: 'mean' });
      return { loss, tokens: sb.tokens, logits, lossOnLabels: (labels) => crossEntropy(model.forward(ids()), labels) };
    },
    evaluate,
    dispose: () => model.dispose(),
  };
}
