// The training jobs shared by the model families, one per kind of batch (family.ts BatchKind),
// and their evaluators: a family's descriptor (families/*.ts) picks one and hands it its model.
//   windows    fixed-context models (ffnn, loglinear): shuffled context windows -> next token
//   streams    recurrent models (rnn, lstm): truncated-BPTT streams, the state carried between
//              batches and reset every epoch (saved in resumable checkpoints)
//   masked     masked LMs (mlm): random windows with masked positions to predict
//   sequences  causal sequence models (transformer, mamba): random windows to train,
//              consecutive windows to evaluate
// Moved from run.ts (jobFor / evaluatorFor / windowJob / sequenceJob) with the registry (issue 17).
import { noGrad } from '../autograd.js';
import { bpttBatchesFrom, inMemory, numBpttBatchesFrom, randomContextWindowsFrom, randomWindowsFrom, type TokenSource } from '../data/tokensource.js';
import { bpttBatches, numBpttBatches, type BpttBatch, type BpttJitter } from '../data/bptt.js';
import { contextWindows, type WindowBatch } from '../data/loaders.js';
import type { DataShard } from '../data/shard.js';
import { randomMaskedWindows, type MaskedSequenceBatch } from '../data/masking.js';
import { randomWindows, sequentialWindows, type SequenceBatch } from '../data/windows.js';
import { evaluateMasked, type MaskedLM } from '../models/mlm.js';
import { activationPenalty, detachState, disposeState, evaluateRecurrent, type RecurrentLM, type RecurrentState } from '../models/rnn.js';
import type { Module } from '../nn/module.js';
import { crossEntropy } from '../ops/crossentropy.js';
import { add } from '../ops/elementwise.js';
import { Tensor, keep } from '../tensor.js';
import { reporting } from './eval-progress.js';
import type { AnyBatch, BatchKind, Evaluator, Job, JobConfig } from './family.js';
import { evaluateLoss, type LossContext } from './trainer.js';

/**
 * Whether a step's loss may compute crossEntropy in place (the logits' gradient written over
 * them, one (N, V) buffer fewer): only when the Trainer says it will not read the logits.
 */
function consumable(ctx?: LossContext): boolean {
  return ctx !== undefined && !ctx.keepLogits;
}

/** A model that maps (B, T) ids to (B*T, V) logits (Transformer, Mamba). */
export interface SequenceLM extends Module {
  forward(ids: Tensor): Tensor;
}

/** A model that maps (B, context) ids to (B, V) next-token logits (feed-forward, log-linear). */
export interface WindowLM extends Module {
  forward(x: Tensor): Tensor;
}

/** The tokens one example of a batch predicts (Sophia's tokens per step): 1 for a window, else the sequence length. */
export function exampleTokens(kind: BatchKind, context: number): number {
  return kind === 'windows' ? 1 : context;
}

/**
 * The tokens a split needs for the batches of `kind` (checkCorpusSize in run.ts) and the flag
 * to name when it has fewer: context + 2, and for streams, 10 evaluation streams of 2 tokens
 * or 2 x --batch training streams.
 */
export function splitNeed(kind: BatchKind | null, split: string, context: number, batch: number): { need: number; what: string } {
  const recurrent = kind === 'streams';
  // Recurrent evaluation reads 10 parallel streams of at least 2 tokens each.
  let need = recurrent && split !== 'train' ? Math.max(context + 2, 21) : context + 2;
  let what = `--context ${context}`;
  if (recurrent && split === 'train' && 2 * batch > need) {
    need = 2 * batch;
    what = `--batch ${batch}`;
  }
  return { need, what };
}

// ---- windows ---------------------------------------------------------------------------------

/** Fixed-context models: perplexity over all the context windows of `ids`, 1024 at a time. */
export function windowEvaluator(m: WindowLM, c: JobConfig): Evaluator {
  return (ids, onProgress) =>
    evaluateLoss(reporting(contextWindows(ids, c.context, 1024), (b) => b.size, onProgress), (b) => {
      const { x, y } = windowTensors(b, c.context);
      return { sum: crossEntropy(m.forward(x), y, { reduction: 'sum' }), tokens: b.size };
    });
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
export function windowJob(
  model: Module,
  forward: (x: Tensor) => Tensor,
  c: JobConfig,
  train: TokenSource,
  evaluate: Evaluator,
  shard?: DataShard,
): Job<AnyBatch> {
  const mem = inMemory(train);
  const stepsPerEpoch = Math.ceil((train.length - c.context) / c.batch);
  return {
    model,
    batches: mem
      ? (epoch) => contextWindows(mem, c.context, c.batch, { shuffle: true, seed: c.seed * 1000 + epoch, shard })
      : function* (epoch) {
          for (let s = 0; s < stepsPerEpoch; s++) yield randomContextWindowsFrom(train, c.context, c.batch, c.seed * 1_000_003 + epoch * stepsPerEpoch + s, shard);
        },
    stepsPerEpoch,
    loss: (b, ctx) => {
      const { x, y } = windowTensors(b as WindowBatch, c.context);
      const logits = forward(x);
      return { loss: crossEntropy(logits, y, { inplace: consumable(ctx) }), tokens: (b as WindowBatch).size, logits, lossOnLabels: (labels) => crossEntropy(forward(windowTensors(b as WindowBatch, c.context).x), labels) };
    },
    evaluate,
    dispose: () => model.dispose(),
  };
}


// ---- streams ---------------------------------------------------------------------------------

/** The parallel streams a recurrent model's evaluation reads the text as. */
export const EVAL_STREAMS = 10;

/** Recurrent models: perplexity over EVAL_STREAMS parallel streams of `ids`, BPTT windows of the context. */
export function streamEvaluator(model: RecurrentLM, c: JobConfig): Evaluator {
  return (ids, onProgress) => evaluateRecurrent(model, ids, EVAL_STREAMS, c.context, onProgress);
}

/** Recurrent models: truncated-BPTT streams, the hidden state carried from batch to batch. */
export function streamJob(model: RecurrentLM, c: JobConfig, train: TokenSource, evaluate: Evaluator, shard?: DataShard): Job<AnyBatch> {
  // The hidden state carried from batch to batch (truncated BPTT), reset every epoch.
  let state: RecurrentState | null = null;
  // The state the last batch started from (kept for Sophia's lossOnLabels).
  let input: RecurrentState | null = null;
  const mem = inMemory(train);
  const reg = c.recurrent ?? {};
  // Random BPTT lengths: drawn from (seed, epoch), so a resumed epoch has the same windows.
  const jitter = (epoch: number): BpttJitter | null => (reg.bpttJitter ? { seed: c.seed, epoch } : null);
  const penalty = { ar: reg.ar ?? 0, tar: reg.tar ?? 0 };
  return {
    model,
    // In memory: the array loader; a token file: the same streams, read window by window.
    batches: (epoch) => (mem ? bpttBatches(mem, c.batch, c.context, jitter(epoch), shard) : bpttBatchesFrom(train, c.batch, c.context, jitter(epoch), shard)),
    // With random lengths: the windows of the first epoch (others differ by a few).
    stepsPerEpoch: mem ? numBpttBatches(mem, c.batch, c.context, jitter(0)) : numBpttBatchesFrom(train, c.batch, c.context, jitter(0)),
    startEpoch: () => {
      disposeState(state);
      disposeState(input);
      state = null;
      input = null;
    },
    loss: (b, ctx) => {
      // recurrentLoss, keeping the batch's input state until the next batch (Sophia's
      // lossOnLabels re-runs the forward from it).
      const { batchSize: B, T, inputs, targets } = b as BpttBatch;
      disposeState(input);
      input = state;
      const from = input;
      const ids = (): Tensor => Tensor.fromArray(inputs, [B, T], 'int32');
      const out = model.forward(ids(), from);
      // An adaptive softmax: its exact NLL, without the full logits (read only for Sophia).
      const nll = model.adaptive ? model.nll(out, targets) : crossEntropy(out.logits, Tensor.fromArray(targets, [B * T], 'int32'), { inplace: consumable(ctx) });
      // AR/TAR: added to the loss back-propagated; the step reports the cross-entropy.
      const pen = activationPenalty(out, B, T, penalty);
      const loss = pen ? add(nll, pen) : nll;
      state = detachState(out.state);
      return {
        loss,
        ...(pen ? { report: nll } : {}),
        ...((b as BpttBatch).lrScale !== undefined ? { lrScale: (b as BpttBatch).lrScale } : {}),
        tokens: B * T,
        get logits(): Tensor {
          // Adaptive: computed here for Sophia's label sampling, which reads them detached.
          return model.adaptive ? noGrad(() => out.logits) : out.logits;
        },
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

// ---- masked ----------------------------------------------------------------------------------

/** Masked LMs: masked-token perplexity, exp(mean NLL over the masked positions), fixed masks. */
export function maskedEvaluator(model: MaskedLM, c: JobConfig): Evaluator {
  return (ids, onProgress) => evaluateMasked(model, ids, 8, c.context, c.seed, {}, onProgress);
}

/** Masked LMs: random windows of the (in-memory) training ids with masked positions. */
export function maskedJob(model: MaskedLM, c: JobConfig, train: TokenSource, evaluate: Evaluator, shard?: DataShard): Job<AnyBatch> {
  const mlmIds = inMemory(train);
  if (!mlmIds) throw new Error('mlm: the training tokens must be in memory');
  const stepsPerEpoch = Math.ceil(train.length / (c.batch * c.context));
  return {
    model,
    batches: function* (epoch) {
      for (let s = 0; s < stepsPerEpoch; s++) {
        yield randomMaskedWindows(mlmIds, c.batch, c.context, c.seed * 1_000_003 + epoch * stepsPerEpoch + s, { vocabSize: c.V }, shard);
      }
    },
    stepsPerEpoch,
    loss: (b, ctx) => {
      const mb = b as MaskedSequenceBatch;
      const logits = model.forward(Tensor.fromArray(mb.inputs, [mb.batchSize, mb.seqLen], 'int32'));
      const loss = crossEntropy(logits, Tensor.fromArray(mb.targets, [mb.batchSize * mb.seqLen], 'int32'), { inplace: consumable(ctx) });
      return { loss, tokens: mb.batchSize * mb.seqLen };
    },
    evaluate,
    dispose: () => model.dispose(),
  };
}

// ---- sequences -------------------------------------------------------------------------------

/** Causal sequence models: perplexity over consecutive windows of `ids`, 8 at a time. */
export function sequenceEvaluator(m: SequenceLM, c: JobConfig): Evaluator {
  return (ids, onProgress) =>
    evaluateLoss(reporting(sequentialWindows(ids, 8, c.context), (b) => b.tokens, onProgress), (b) => ({ sum: sequenceLoss(m, b, 'sum'), tokens: b.tokens }));
}

export function sequenceLoss(model: SequenceLM, b: SequenceBatch, reduction: 'mean' | 'sum'): Tensor {
  return crossEntropy(
    model.forward(Tensor.fromArray(b.inputs, [b.batchSize, b.seqLen], 'int32')),
    Tensor.fromArray(b.targets, [b.tokens], 'int32'),
    { reduction },
  );
}

/** Causal sequence models (Transformer, Mamba): random windows to train, consecutive windows to evaluate. */
export function sequenceJob(
  model: SequenceLM,
  c: JobConfig,
  train: TokenSource,
  evaluate: Evaluator,
  shard?: DataShard,
): Job<AnyBatch> {
  const stepsPerEpoch = Math.ceil(train.length / (c.batch * c.context));
  // In memory: slices of the array; a token file: one read of T + 1 tokens per window.
  const mem = inMemory(train);
  const windows = (seed: number): SequenceBatch =>
    mem ? randomWindows(mem, c.batch, c.context, seed, shard) : randomWindowsFrom(train, c.batch, c.context, seed, shard);
  return {
    model,
    batches: function* (epoch) {
      for (let s = 0; s < stepsPerEpoch; s++) yield windows(c.seed * 1_000_003 + epoch * stepsPerEpoch + s);
    },
    stepsPerEpoch,
    loss: (b, ctx) => {
      // sequenceLoss, exposing the logits and the loss on other labels (Sophia).
      const sb = b as SequenceBatch;
      const ids = (): Tensor => Tensor.fromArray(sb.inputs, [sb.batchSize, sb.seqLen], 'int32');
      const logits = model.forward(ids());
      const loss = crossEntropy(logits, Tensor.fromArray(sb.targets, [sb.tokens], 'int32'), { reduction: 'mean', inplace: consumable(ctx) });
      return { loss, tokens: sb.tokens, logits, lossOnLabels: (labels) => crossEntropy(model.forward(ids()), labels) };
    },
    evaluate,
    dispose: () => model.dispose(),
  };
}
