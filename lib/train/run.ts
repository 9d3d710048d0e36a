// One training run of a language model on a corpus, as `lmkit train` does it: builds the
// vocabulary, the model and the optimizer from a flat options object, trains, evaluates
// validation (and test) perplexity, and reports progress through callbacks.
import { RangeTokenSource, evaluateInChunks, inMemory, type TokenSource } from '../data/tokensource.js';
import { checkCorpusSpec, openTrainingCorpus, type TrainingCorpus } from '../data/training-corpus.js';
import { inverseTime, warmupCosine, type Schedule } from '../optim/schedule.js';
import { NTASGD } from '../optim/asgd.js';
import type { DataShard } from '../data/shard.js';
import type { Tensor } from '../tensor.js';
import { CHECKPOINT_KINDS, openTraining, saveCountsTrained, saveTrained, type OpenedTraining } from './checkpointing.js';
import { makeOptimizer, recordedOptions, resolveRunOptions, restoreRun, type TrainRunInput } from './run-state.js';
import { openInit, type InitSource } from './init.js';
import { effectiveConfig } from './effective-config.js';
import type { AnyBatch, BatchKind, Job, JobConfig, ShapeOption } from './family.js';
import { exampleTokens, splitNeed } from './jobs.js';
import { familyOf, isModelKind, optionDefault, type AnyFamily, type AnyNeuralFamily, type ModelConfig, type NeuralModel } from './registry.js';
import { SCHEDULE_KINDS, type ScheduleKind, type TrainRunEvents, type TrainRunOptions, type TrainRunResult } from './options.js';
import { RunHistory } from './history.js';
import type { DataParallel } from '../dist/ddp.js';
import { Trainer, type EvalResult } from './trainer.js';

// The run's types (options.ts) and the families' (registry.ts, family.ts), where they were before.
export type { ModelKind, OptimizerKind, ScheduleKind, TrainPlan, TrainRunEvents, TrainRunOptions, TrainRunResult } from './options.js';
export { OPTIMIZER_KINDS, SCHEDULE_KINDS } from './options.js';
export type { JobConfig } from './family.js';
export type { ModelConfig, NeuralKind, NeuralModel } from './registry.js';
export { MODEL_KINDS, buildModel, evaluateModel, modelConfigFor } from './registry.js';

/**
 * Trains a language model as `lmkit train` does: opens the corpus (`'brown'`, a text file or
 * folder, a token file, or text in memory: `corpus: { text }`), builds the tokenizer on its
 * training split, the model and the optimizer (defaults per model: its family's, registry.ts),
 * trains for `steps` (or `epochs`, default 1), evaluates the validation split (every
 * `evalEvery` steps, at each epoch end and at the end) and the test split, and with `out`
 * saves a checkpoint there (load it with `loadTrained`). `resume: dir` continues a saved run.
 * Progress arrives through `ev` (steps, evaluations, info lines; `shouldStop` ends the run
 * early). Resolves with the perplexities, speed and effective configuration.
 *
 * With `dist` (lib/dist: one rank of a data-parallel job; use `trainDistributed`) the run's
 * batch is the global batch (`input.batch` per rank x world size; a resumed run keeps the
 * checkpoint's global batch), every rank trains on its share of each batch, and only rank 0
 * reports events and writes checkpoints (see lib/dist/ddp.ts); every rank's `shouldStop` is
 * polled, and one rank asking stops all of them after the same step.
 *
 * @example
 * const r = await runTraining({ model: 'lstm', corpus: { text }, steps: 100, out: 'runs/lstm' },
 *   { step: (e) => console.log(e.step, e.loss) });
 * console.log(r.validPpl, r.testPpl);
 */
export async function runTraining(input: TrainRunInput, ev: TrainRunEvents = {}, dist?: DataParallel): Promise<TrainRunResult> {
  const o = resolveRunOptions(dist ? dist.globalInput(input, (m) => (isModelKind(m) ? familyOf(m).neural?.defaults.batch : undefined)) : input);
  if (dist) {
    dist.checkRun(o);
    if (!dist.isMain) ev = { shouldStop: ev.shouldStop }; // every rank may ask to stop (Ctrl-C)
  }
  if (o.saveEvery !== undefined && o.out === undefined) throw new Error('--save-every needs --out DIR (where to save)');
  checkCorpusSpec(o.corpus);
  familyOf(o.model); // an unknown model: one line listing the known ones
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
function checkCorpusSize(batches: BatchKind | null, name: string, splits: [string, TokenSource][], context: number, batch: number): void {
  for (const [split, src] of splits) {
    const { need, what } = splitNeed(batches, split, context, batch);
    if (src.length < need) {
      throw new Error(
        `corpus ${name} is too small for ${what}: the ${split} split has ${src.length} tokens, at least ${need} are needed ` +
          `(use more text${split === 'train' ? '' : ', a larger --eval-tokens'} or a smaller ${what.split(' ')[0]})`,
      );
    }
  }
}

/** A run of a count-based family (ngram): counted in one pass, evaluated, saved. */
function runCounts(
  family: AnyFamily,
  corpus: TrainingCorpus,
  o: TrainRunOptions,
  ev: TrainRunEvents,
  ids: { train: TokenSource; valid: TokenSource; test: TokenSource },
  evalSplits: () => [string, TokenSource][],
): TrainRunResult {
  const counts = family.counts!;
  const V = corpus.vocabSize;
  const context = o.context ?? counts.defaultContext;
  checkCorpusSize(null, corpus.name, evalSplits(), context, 1);
  const inMem = (s: TokenSource): Int32Array => {
    const a = inMemory(s);
    if (!a) throw new Error(`--model ${family.name} counts the whole corpus in memory: train it on a text corpus, not the token file ${corpus.name}`);
    return a;
  };
  const t0 = performance.now();
  const lm = counts.train(inMem(ids.train), { context, vocabSize: V });
  const seconds = (performance.now() - t0) / 1000;
  ev.info?.(counts.trained(lm, seconds));
  const valid = counts.evaluate(lm, inMem(ids.valid));
  ev.eval?.({ ...valid, split: 'valid', step: 0 });
  let testPpl: number | null = null;
  if (o.test !== false) {
    const t = counts.evaluate(lm, inMem(ids.test));
    testPpl = t.ppl;
    ev.eval?.({ ...t, split: 'test', step: 0 });
  }
  let checkpoint: string | null = null;
  if (o.out !== undefined) {
    saveCountsTrained(o.out, family.name, {
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
    model: family.name,
    steps: 0,
    seconds,
    tokensPerSecond: ids.train.length / Math.max(seconds, 1e-9),
    parameters: 0,
    vocabSize: V,
    validPpl: valid.ppl,
    testPpl,
    checkpoint,
    config: effectiveConfig({ model: family.name, options: o, corpus: corpus.name, tokenizer: tokenizerLabel(corpus), vocabSize: V, counts: counts.settings(context) }),
  };
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

  const found = familyOf(o.model);
  if (!found.neural) return runCounts(found, corpus, o, ev, ids, evalSplits);
  const family = found as AnyNeuralFamily;

  const d = family.neural.defaults;
  const batch = o.batch ?? d.batch;
  const context = o.context ?? d.context;
  const embed = o.embed ?? d.embed;
  const hidden = o.hidden ?? d.hidden;
  const layers = o.layers ?? d.layers;
  const heads = o.heads ?? d.heads;
  const dropout = o.dropout ?? 0;
  const clip = o.clip ?? d.clip;
  checkCorpusSize(family.neural.batches, corpus.name, evalSplits(), context, batch);
  family.neural.checkTrain?.(ids.train, corpus.name);
  const shared: JobConfig = {
    V,
    batch,
    context,
    embed,
    hidden,
    layers,
    heads,
    dropout,
    seed,
    direct: o.direct ?? optionDefault('direct', false),
    buckets: o.buckets ?? optionDefault('buckets', 0),
    ...(o.initRange !== undefined ? { initRange: o.initRange } : {}),
  };
  // The family's own options (rnn/lstm: the AWD-LSTM regularisation), validated by it.
  const given: Partial<Record<ShapeOption, number | boolean | readonly number[]>> = {};
  for (const k of family.uses) if (o[k] !== undefined) given[k] = o[k];
  const jobConfig: JobConfig = { ...shared, ...family.neural.jobOptions?.(given, shared) };
  if (o.ntasgd !== undefined && (!Number.isSafeInteger(o.ntasgd) || o.ntasgd < 1)) throw new Error(`--ntasgd must be an integer >= 1 (evaluations), got ${String(o.ntasgd)}`);
  if (o.ntasgd !== undefined && o.restoreBest) {
    throw new Error('--restore-best does not combine with --ntasgd (the best snapshot would hold the raw iterates of an averaged evaluation)');
  }
  if (o.momentum !== undefined && (o.optimizer ?? 'adamw') !== 'sgd') throw new Error('--momentum applies to --optimizer sgd only');
  const job = makeJob(family, jobConfig, ids.train, init?.config, dist?.dataShard);
  if (init) {
    init.load(job.model);
    ev.info?.(`--init: weights from ${init.dir}`);
  }

  const optimizerName = o.optimizer ?? 'adamw';
  const accumulate = o.accumulate ?? 1;
  const batchTokens = batch * exampleTokens(family.neural.batches, context) * accumulate;
  const base = makeOptimizer(optimizerName, job.model.parameters(), o, d.lr, batchTokens);
  // NT-ASGD: evaluations and checkpoints see the averaged weights (withAveraged).
  const averaged = o.ntasgd !== undefined ? new NTASGD(base, { nonmono: o.ntasgd }) : null;
  const optimizer = averaged ?? base;
  const withAveraged = <T>(fn: () => T): T => (averaged ? averaged.withAveraged(fn) : fn());
  // The kind recorded in checkpoints (a resume must build the same optimizer).
  const optimizerKind = averaged ? `${optimizerName}+ntasgd` : optimizerName;
  const lr = optimizer.lr;
  ev.info?.(
    `model ${o.model}: ${family.describe(jobConfig)}; ` +
      `${job.model.numParameters()} parameters; ${optimizerName} lr ${lr} (${o.schedule ?? 'constant'}${o.warmup ? `, warmup ${o.warmup}` : ''})${clip ? `, clip ${clip}` : ''}` +
      (averaged ? `, NT-ASGD (nonmono ${averaged.nonmono})` : ''),
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
      withAveraged(() => saveTrained(dir, {
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
          optimizerKind,
          rng: job.model.rngState(),
          carry: carry !== undefined ? carry : (job.carry?.() ?? null),
          best: trainer.bestWeights,
          history: history.toJSON(),
        },
      }));
    let pendingCarry: Map<string, Tensor> | null = null;
    let history = new RunHistory();
    if (o.resume !== undefined) {
      opened = openTraining(o.resume);
      pendingCarry = restoreRun(opened, { model: job.model, config: job.config, optimizer, optimizerKind, trainer });
      history = RunHistory.fromJSON(opened.training.history);
      history.resume(trainer.step);
      ev.info?.(`resumed ${o.resume} at step ${trainer.step} (epoch ${trainer.epoch + 1}, batch ${trainer.batchInEpoch})`);
    }
    if (dist) {
      await dist.start(job.model, { options: recordedOptions(o), config: job.config, step: trainer.step });
      if (pendingCarry) pendingCarry = dist.takeRows(pendingCarry);
      ev.info?.(`data-parallel: ${dist.worldSize} ranks, global batch ${batch} (${dist.share(batch)[1] - dist.share(batch)[0]} on rank 0), gradients all-reduced by ${dist.backend}`);
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
      const r = withAveraged(() => evaluateInChunks(job.evaluate, split, undefined, progress));
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
    history.begin(trainer.step);
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
        if (averaged?.observe(e.loss)) {
          ev.info?.(`NT-ASGD: validation loss ${e.loss.toFixed(4)} is above the best before the last ${averaged.nonmono} evaluations: averaging the weights from step ${e.step}`);
        }
        lastValid = e;
        history.eval(e.step, e.ppl);
        ev.eval?.({ ...e, split: 'valid' });
      },
      saveEvery: o.saveEvery,
      onSave: () => save(o.out!),
      // Ctrl-C: data-parallel ranks agree in each step's all-reduce to stop after the same step.
      shouldStop: dist ? dist.stopWhen(ev.shouldStop) : ev.shouldStop,
    });
    if (result.interrupted) {
      let checkpoint: string | null = null;
      if (o.out !== undefined) {
        await save(o.out);
        if (!dist || dist.isMain) checkpoint = o.out;
        ev.info?.(`checkpoint of step ${result.steps} saved to ${o.out}`);
      }
      return {
        model: o.model,
        steps: result.steps,
        seconds: result.seconds,
        ...wholeRun(history, result.seconds),
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
      ...wholeRun(history, result.seconds),
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
    if (averaged) base.dispose();
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

/** The job of a `family` run: its model (built from `given`, or from the job's sizes) and its batches. */
// `shard` (data-parallel): the batches hold this rank's rows of the global batch of c.batch rows.
function makeJob(family: AnyNeuralFamily, c: JobConfig, train: TokenSource, given?: ModelConfig, shard?: DataShard): Job<AnyBatch> & { config: ModelConfig } {
  const config = (given ?? family.neural.config(c)) as ModelConfig;
  const job = family.neural.job(family.neural.build(config), c, train, shard);
  return { ...job, config };
}

/** The whole run's seconds across resumes (absent when an earlier process's were not recorded). */
function wholeRun(history: RunHistory, seconds: number): { totalSeconds?: number } {
  const earlier = history.earlierSeconds();
  return earlier === null ? {} : { totalSeconds: earlier + seconds };
}
