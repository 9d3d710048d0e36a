// One training run of a language model on a corpus, as `lmkit train` does it: builds the
// vocabulary, the model and the optimizer from a flat options object, trains, evaluates
// validation (and test) perplexity, and reports progress through callbacks.
import { loadBrown } from '../data/brown.js';
import { bpttBatches, numBpttBatches, type BpttBatch } from '../data/bptt.js';
import { contextWindows, type WindowBatch } from '../data/loaders.js';
import { Vocab } from '../data/vocab.js';
import { randomWindows, sequentialWindows, type SequenceBatch } from '../data/windows.js';
import { FeedForwardLM } from '../models/ffnn.js';
import { KneserNeyLM } from '../models/ngram.js';
import { RecurrentLM, disposeState, evaluateRecurrent, recurrentLoss, type RecurrentState } from '../models/rnn.js';
import { TransformerLM } from '../models/transformer.js';
import { LogLinearLM } from '../models/loglinear.js';
import { MambaLM } from '../models/mamba.js';
import { MaskedLM, evaluateMasked } from '../models/mlm.js';
import { randomMaskedWindows, type MaskedSequenceBatch } from '../data/masking.js';
import { Adafactor } from '../optim/adafactor.js';
import type { Module } from '../nn/module.js';
import { crossEntropy } from '../ops/crossentropy.js';
import { AdamW, SGD, type Optimizer } from '../optim/optimizer.js';
import { Tensor } from '../tensor.js';
import { Trainer, evaluateLoss, type EvalResult, type LossResult, type StepEvent } from './trainer.js';

export type ModelKind = 'ngram' | 'loglinear' | 'ffnn' | 'rnn' | 'lstm' | 'transformer' | 'mlm' | 'mamba';
export const MODEL_KINDS: readonly ModelKind[] = ['ngram', 'loglinear', 'ffnn', 'rnn', 'lstm', 'transformer', 'mlm', 'mamba'];
export type OptimizerKind = 'sgd' | 'adamw' | 'adafactor';
export const OPTIMIZER_KINDS: readonly OptimizerKind[] = ['sgd', 'adamw', 'adafactor'];

export interface TrainRunOptions {
  model: ModelKind;
  corpus: 'brown';
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
  optimizer?: OptimizerKind;
  /** loglinear: rows of the hashed feature table (default 2048; the table is buckets x vocabulary). */
  buckets?: number;
  lr?: number;
  weightDecay?: number;
  /** Global gradient-norm clipping (default 1 for recurrent and Transformer models). */
  clip?: number;
  /** Vocabulary: words seen at least this often in train (default 4: ANCHORS.md). */
  minCount?: number;
  seed?: number;
  /** Also evaluate on the test split (default true). */
  test?: boolean;
  /** Evaluate on at most this many tokens of each split (default: all; for quick runs). */
  evalTokens?: number;
}

export interface TrainRunEvents {
  info?: (message: string) => void;
  step?: (e: StepEvent & { total: number }) => void;
  eval?: (e: EvalResult & { split: 'valid' | 'test'; step: number }) => void;
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
}

interface Defaults {
  batch: number;
  context: number;
  embed: number;
  hidden: number;
  layers: number;
  heads: number;
  lr: number;
  clip?: number;
}

const DEFAULTS: Record<Exclude<ModelKind, 'ngram'>, Defaults> = {
  loglinear: { batch: 256, context: 4, embed: 0, hidden: 0, layers: 1, heads: 1, lr: 2e-2 },
  mlm: { batch: 16, context: 64, embed: 128, hidden: 512, layers: 2, heads: 4, lr: 1e-3, clip: 1 },
  mamba: { batch: 16, context: 64, embed: 128, hidden: 0, layers: 2, heads: 1, lr: 2e-3, clip: 1 },
  ffnn: { batch: 256, context: 4, embed: 60, hidden: 50, layers: 1, heads: 1, lr: 2e-3 },
  rnn: { batch: 20, context: 35, embed: 200, hidden: 200, layers: 1, heads: 1, lr: 2e-3, clip: 1 },
  lstm: { batch: 20, context: 35, embed: 200, hidden: 200, layers: 1, heads: 1, lr: 2e-3, clip: 1 },
  transformer: { batch: 16, context: 64, embed: 128, hidden: 512, layers: 2, heads: 4, lr: 1e-3, clip: 1 },
};

/** A model family's training pieces: its batches, its loss and its evaluation. */
interface Job<B> {
  model: Module;
  batches: (epoch: number) => Iterable<B>;
  stepsPerEpoch: number;
  loss: (b: B) => LossResult;
  evaluate: (ids: Int32Array) => EvalResult;
  /** Called at the start of every epoch (recurrent models reset their carried state). */
  startEpoch?: () => void;
  dispose: () => void;
}

export async function runTraining(o: TrainRunOptions, ev: TrainRunEvents = {}): Promise<TrainRunResult> {
  if (o.corpus !== 'brown') throw new Error(`unknown corpus '${String(o.corpus)}'`);
  if (!MODEL_KINDS.includes(o.model)) throw new Error(`unknown model '${String(o.model)}' (one of ${MODEL_KINDS.join(', ')})`);
  const seed = o.seed ?? 1;
  const minCount = o.minCount ?? 4;
  const corpus = loadBrown();
  const vocab = Vocab.build(corpus.train, minCount);
  const limit = (a: Int32Array): Int32Array => (o.evalTokens !== undefined ? a.subarray(0, o.evalTokens) : a);
  const ids = {
    train: vocab.encode(corpus.train),
    valid: limit(vocab.encode(corpus.valid)),
    test: limit(vocab.encode(corpus.test)),
  };
  ev.info?.(
    `corpus brown: ${ids.train.length} train / ${ids.valid.length} valid / ${ids.test.length} test tokens, ` +
      `vocabulary ${vocab.size} (min count ${minCount})`,
  );
  const V = vocab.size;

  if (o.model === 'ngram') {
    const order = (o.context ?? 4) + 1;
    const t0 = performance.now();
    const lm = KneserNeyLM.train(ids.train, { order, vocabSize: V });
    const seconds = (performance.now() - t0) / 1000;
    ev.info?.(`model ngram: interpolated modified Kneser-Ney, order ${order}; trained in ${seconds.toFixed(1)} s`);
    const valid = lm.evaluate(ids.valid);
    ev.eval?.({ ...valid, split: 'valid', step: 0 });
    let testPpl: number | null = null;
    if (o.test !== false) {
      const t = lm.evaluate(ids.test);
      testPpl = t.ppl;
      ev.eval?.({ ...t, split: 'test', step: 0 });
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
    };
  }

  const d = DEFAULTS[o.model];
  const batch = o.batch ?? d.batch;
  const context = o.context ?? d.context;
  const embed = o.embed ?? d.embed;
  const hidden = o.hidden ?? d.hidden;
  const layers = o.layers ?? d.layers;
  const heads = o.heads ?? d.heads;
  const dropout = o.dropout ?? 0;
  const clip = o.clip ?? d.clip;
  const job = makeJob(
    o.model,
    { V, batch, context, embed, hidden, layers, heads, dropout, seed, direct: o.direct ?? false, buckets: o.buckets ?? 2048 },
    ids.train,
  );

  const optimizerName = o.optimizer ?? 'adamw';
  const lr = o.lr ?? (optimizerName === 'sgd' ? 0.5 : d.lr);
  const params = job.model.parameters();
  const optimizer: Optimizer =
    optimizerName === 'sgd'
      ? new SGD(params, { lr, momentum: 0.9, weightDecay: o.weightDecay ?? 0 })
      : optimizerName === 'adafactor'
        ? new Adafactor(params, { lr: o.lr ?? 1e-2, weightDecay: o.weightDecay ?? 0 })
        : new AdamW(params, { lr, weightDecay: o.weightDecay ?? 0 });
  ev.info?.(
    `model ${o.model}: ${describe(o.model, { context, embed, hidden, layers, heads, direct: o.direct ?? false, dropout })}; ` +
      `${job.model.numParameters()} parameters; ${optimizerName} lr ${lr}${clip ? `, clip ${clip}` : ''}`,
  );

  try {
    const trainer = new Trainer(job.model, optimizer, job.loss, { clipNorm: clip });
    const epochs = o.epochs ?? (o.steps ? undefined : 1);
    const total = o.steps ?? job.stepsPerEpoch * (epochs ?? 1);
    const evaluate = (split: Int32Array): EvalResult => {
      job.model.eval();
      const r = job.evaluate(split);
      job.model.train();
      return r;
    };
    const result = await trainer.fit({
      batches: (epoch) => {
        job.startEpoch?.();
        return job.batches(epoch);
      },
      epochs,
      steps: o.steps,
      evaluate: () => evaluate(ids.valid),
      onStep: (e) => ev.step?.({ ...e, total }),
      onEval: (e) => ev.eval?.({ ...e, split: 'valid' }),
    });
    const valid = evaluate(ids.valid);
    let testPpl: number | null = null;
    if (o.test !== false) {
      const t = evaluate(ids.test);
      testPpl = t.ppl;
      ev.eval?.({ ...t, split: 'test', step: result.steps });
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
    };
  } finally {
    job.dispose();
    optimizer.dispose();
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

interface JobConfig {
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
}

// The union of the three batch kinds; each job only ever sees its own.
type AnyBatch = { inputs: Int32Array; targets: Int32Array };

function makeJob(kind: Exclude<ModelKind, 'ngram'>, c: JobConfig, train: Int32Array): Job<AnyBatch> {
  if (kind === 'ffnn') {
    const model = new FeedForwardLM({
      vocabSize: c.V,
      context: c.context,
      embed: c.embed,
      hidden: c.hidden,
      direct: c.direct,
      seed: c.seed,
    });
    return windowJob(model, (x) => model.forward(x), c, train);
  }
  if (kind === 'rnn' || kind === 'lstm') {
    const model = new RecurrentLM({
      vocabSize: c.V,
      cell: kind,
      embed: c.embed,
      hidden: c.hidden,
      layers: c.layers,
      dropout: c.dropout,
      seed: c.seed,
      tieWeights: c.embed === c.hidden,
    });
    // The hidden state carried from batch to batch (truncated BPTT), reset every epoch.
    let state: RecurrentState | null = null;
    return {
      model,
      batches: () => bpttBatches(train, c.batch, c.context),
      stepsPerEpoch: numBpttBatches(train, c.batch, c.context),
      startEpoch: () => {
        disposeState(state);
        state = null;
      },
      loss: (b) => {
        const r = recurrentLoss(model, b as BpttBatch, state);
        disposeState(state);
        state = r.state;
        return { loss: r.loss, tokens: r.tokens };
      },
      evaluate: (ids) => evaluateRecurrent(model, ids, 10, c.context),
      dispose: () => {
        disposeState(state);
        model.dispose();
      },
    };
  }
  if (kind === 'loglinear') {
    const model = new LogLinearLM({ vocabSize: c.V, context: c.context, buckets: c.buckets, seed: c.seed });
    return windowJob(model, (x) => model.forward(x), c, train);
  }
  if (kind === 'mlm') {
    const model = new MaskedLM({
      vocabSize: c.V,
      context: c.context,
      embed: c.embed,
      heads: c.heads,
      layers: c.layers,
      dropout: c.dropout,
      seed: c.seed,
    });
    const stepsPerEpoch = Math.ceil(train.length / (c.batch * c.context));
    return {
      model,
      batches: function* (epoch) {
        for (let s = 0; s < stepsPerEpoch; s++) {
          yield randomMaskedWindows(train, c.batch, c.context, c.seed * 1_000_003 + epoch * stepsPerEpoch + s, { vocabSize: c.V });
        }
      },
      stepsPerEpoch,
      loss: (b) => {
        const mb = b as MaskedSequenceBatch;
        const logits = model.forward(Tensor.fromArray(mb.inputs, [mb.batchSize, mb.seqLen], 'int32'));
        const loss = crossEntropy(logits, Tensor.fromArray(mb.targets, [mb.batchSize * mb.seqLen], 'int32'));
        return { loss, tokens: mb.batchSize * mb.seqLen };
      },
      // Masked-token perplexity: exp(mean NLL over the masked positions), fixed masks.
      evaluate: (ids) => evaluateMasked(model, ids, 8, c.context, c.seed),
      dispose: () => model.dispose(),
    };
  }
  if (kind === 'mamba') {
    const model = new MambaLM({ vocabSize: c.V, embed: c.embed, layers: c.layers, seed: c.seed });
    return sequenceJob(model, (ids) => model.forward(ids), c, train);
  }
  const model = new TransformerLM({
    vocabSize: c.V,
    context: c.context,
    embed: c.embed,
    heads: c.heads,
    layers: c.layers,
    dropout: c.dropout,
    seed: c.seed,
  });
  return sequenceJob(model, (ids) => model.forward(ids), c, train);
}

/** Fixed-context models (feed-forward, log-linear): shuffled context windows -> next token. */
function windowJob(model: Module, forward: (x: Tensor) => Tensor, c: JobConfig, train: Int32Array): Job<AnyBatch> {
  const tensors = (b: WindowBatch) => ({
    x: Tensor.fromArray(b.inputs, [b.size, c.context], 'int32'),
    y: Tensor.fromArray(b.targets, [b.size], 'int32'),
  });
  return {
    model,
    batches: (epoch) => contextWindows(train, c.context, c.batch, { shuffle: true, seed: c.seed * 1000 + epoch }),
    stepsPerEpoch: Math.ceil((train.length - c.context) / c.batch),
    loss: (b) => {
      const { x, y } = tensors(b as WindowBatch);
      return { loss: crossEntropy(forward(x), y), tokens: (b as WindowBatch).size };
    },
    evaluate: (ids) =>
      evaluateLoss(contextWindows(ids, c.context, 1024), (b) => {
        const { x, y } = tensors(b);
        return { sum: crossEntropy(forward(x), y, { reduction: 'sum' }), tokens: b.size };
      }),
    dispose: () => model.dispose(),
  };
}

/** Causal sequence models (Transformer, Mamba): random windows to train, consecutive windows to evaluate. */
function sequenceJob(model: Module, forward: (ids: Tensor) => Tensor, c: JobConfig, train: Int32Array): Job<AnyBatch> {
  const lossOf = (b: SequenceBatch, reduction: 'mean' | 'sum') =>
    crossEntropy(
      forward(Tensor.fromArray(b.inputs, [b.batchSize, b.seqLen], 'int32')),
      Tensor.fromArray(b.targets, [b.tokens], 'int32'),
      { reduction },
    );
  const stepsPerEpoch = Math.ceil(train.length / (c.batch * c.context));
  return {
    model,
    batches: function* (epoch) {
      for (let s = 0; s < stepsPerEpoch; s++) yield randomWindows(train, c.batch, c.context, c.seed * 1_000_003 + epoch * stepsPerEpoch + s);
    },
    stepsPerEpoch,
    loss: (b) => ({ loss: lossOf(b as SequenceBatch, 'mean'), tokens: (b as SequenceBatch).tokens }),
    evaluate: (ids) =>
      evaluateLoss(sequentialWindows(ids, 8, c.context), (b) => ({ sum: lossOf(b, 'sum'), tokens: b.tokens })),
    dispose: () => model.dispose(),
  };
}
