// What a model family is, in one place (the registry's entries, registry.ts; one file per
// family under families/): its name, which `lmkit train` flags it uses and their defaults,
// what --context means for it, the line the training log prints, whether and how it
// generates, and then either
// - `neural`: a gradient-trained model: its constructor config from the run's sizes, how it
//   is built, the batches it eats (one of the shared kinds of jobs.ts: windows, BPTT streams,
//   masked sequences, causal sequences), its training loss and its evaluator, its input
//   embedding table (`lmkit embed`), fine-tuning (--init) and the formats of other
//   ecosystems (lib/io converters). Its checkpoint tensors are the module's named parameters
//   (saveModuleState: `model.safetensors`), its metadata the constructor config;
// - `counts`: a model estimated from counts in one pass (n-gram): how it is trained and
//   evaluated, and how it is written to checkpoint tensors and read back.
// The trainer, checkpointing, the CLI (train's flags and help, eval, generate, embed, import,
// export) and the report read these descriptors instead of switching on the model's name.
// Types only (the descriptors themselves import this file; it imports none of them).
import type { DataShard } from '../data/shard.js';
import type { TokenSource } from '../data/tokensource.js';
import type { Tokenizer } from '../data/tokenizers.js';
import type { SamplingOptions } from '../generate/sampling.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import type { EvalResult, LossContext, LossResult } from './trainer.js';

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
  /** rnn/lstm: the AWD-LSTM regularisation options given (absent: none). */
  recurrent?: RecurrentRegularization;
  /** --init-range (absent: the model's default init). */
  initRange?: number;
}

/** Perplexity over an id array; `onProgress(tokens)` as it goes (optional). */
export type Evaluator = (ids: Int32Array, onProgress?: (tokensDone: number) => void) => EvalResult;

/** A model family's training pieces: its batches, its loss and its evaluation. */
export interface Job<B> {
  model: Module;
  batches: (epoch: number) => Iterable<B>;
  stepsPerEpoch: number;
  /** The batch's loss; `ctx.keepLogits` false lets it consume the logits (see LossContext). */
  loss: (b: B, ctx?: LossContext) => LossResult;
  evaluate: Evaluator;
  /** Called at the start of every epoch (recurrent models reset their carried state). */
  startEpoch?: () => void;
  /** The state carried between batches (recurrent models), by name: live tensors, for checkpoints. */
  carry?: () => Record<string, Tensor> | null;
  /** Sets the carried state from saved tensors (copied); called after startEpoch on resume. */
  setCarry?: (saved: Map<string, Tensor>) => void;
  dispose: () => void;
}

// The union of the batch kinds; each job only ever sees its own.
export type AnyBatch = { inputs: Int32Array; targets: Int32Array };

/**
 * The batches a neural family trains on (jobs.ts): 'windows' (fixed-context windows -> the
 * next token: ffnn, loglinear), 'streams' (truncated-BPTT streams with a carried state: rnn,
 * lstm), 'masked' (sequences with masked positions to predict: mlm), 'sequences' (causal
 * windows, every position predicts the next: transformer, mamba).
 */
export type BatchKind = 'windows' | 'streams' | 'masked' | 'sequences';

/** The model-shape options of `lmkit train` a family may use (TrainRunOptions keys). */
export type ShapeOption =
  | 'embed'
  | 'hidden'
  | 'layers'
  | 'heads'
  | 'dropout'
  | 'direct'
  | 'buckets'
  | 'initRange'
  // The recurrent families' AWD-LSTM regularisation (families/rnn.ts).
  | 'weightDrop'
  | 'dropoutInput'
  | 'dropoutHidden'
  | 'dropoutOutput'
  | 'embeddingDropout'
  | 'lastHidden'
  | 'adaptiveSoftmax'
  | 'ar'
  | 'tar'
  | 'bpttJitter';

/** The rnn/lstm regularisation options (AWD-LSTM) a run gave; each absent = off. */
export interface RecurrentRegularization {
  /** DropConnect probability on the hidden-to-hidden matrices. */
  weightDrop?: number;
  /** Locked (variational) dropout of the embeddings fed to the first layer. */
  dropoutInput?: number;
  /** Locked dropout between layers. */
  dropoutHidden?: number;
  /** Locked dropout of the last layer's output. */
  dropoutOutput?: number;
  /** Probability of dropping a whole word of the embedding matrix per batch. */
  embeddingDropout?: number;
  /** Width of the last layer (default --hidden); the output is tied to the embeddings when it equals --embed. */
  lastHidden?: number;
  /** An adaptive softmax output cut at these word ids (increasing, in (0, V)); absent: the full softmax. */
  adaptiveSoftmax?: number[];
  /** Activation regularisation coefficient (alpha * mean of the squared dropped output). */
  ar?: number;
  /** Temporal activation regularisation (beta * mean of (h_t - h_{t-1})^2). */
  tar?: number;
  /** Random BPTT lengths around --context (N(context, 5), p 0.95, else context / 2; lr scaled by T / context). */
  bpttJitter?: boolean;
}

/** A neural family's default sizes, batch, learning rate and clipping (`lmkit train --help` shows them). */
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

/** A flag of `lmkit train` that only one family has (its descriptor defines it). */
export interface FamilyFlag {
  option: ShapeOption;
  /** Commander's syntax: '--buckets <n>' (an integer) or '--direct' (a switch). */
  flags: string;
  description: string;
  /** The value when the flag is not given (shown in --help's table of defaults). */
  default: number | boolean;
  /** `<n>` flags: the least value accepted. */
  min?: number;
}

/** Options of generation (`lmkit generate`, the report's samples). */
export interface FamilyGenerateOptions extends SamplingOptions {
  maxTokens: number;
  seed?: number;
}

/** --init: fine-tuning a saved model of the family. */
export interface FineTune<C> {
  /** Sizes that come from the checkpoint's config (a different flag is refused), by option name. */
  fixed: readonly ShapeOption[];
  /** The longest --context the saved model takes. */
  maxContext(config: C): number;
  /** The config to build for fine-tuning: the saved one with the run's dropout. */
  withDropout(config: C, dropout: number | undefined): C;
}

/** A format of another ecosystem (lib/io) that models of the family convert to and from. */
export interface PretrainedFormat<M, C> {
  /** What its models are called ('GPT-2'). */
  label: string;
  /** Reads a model directory: the model, its config, its tokenizer, and the job `lmkit eval` / --init use. */
  load(dir: string, opts: { dropout?: number }): { model: M; config: C; tokenizer: Tokenizer; job: JobConfig; summary: string };
  /** Writes `model` as a model directory; returns the files written. */
  save(dir: string, model: M, opts: { tokenizer?: Tokenizer }): string[];
}

/** The part of a gradient-trained family. */
export interface NeuralPart<M extends Module = Module, C = unknown> {
  defaults: Readonly<Defaults>;
  batches: BatchKind;
  /** The constructor config of the model a job trains. */
  config(c: JobConfig): C;
  /** A fresh model from its constructor config (training, and loading a checkpoint). */
  build(config: C): M;
  /**
   * The training job: batches, loss and evaluation. `shard` (a data-parallel rank): the batches hold
   * only this rank's rows of the global batch of `c.batch` rows (pass it to the batch maker).
   */
  job(model: M, c: JobConfig, train: TokenSource, shard?: DataShard): Job<AnyBatch>;
  /** The evaluation as training does it (perplexity over an id array), with the job's context/batching. */
  evaluator(model: M, c: JobConfig): Evaluator;
  /** Throws when the family cannot train on this training split (e.g. not in memory). */
  checkTrain?(train: TokenSource, corpus: string): void;
  /**
   * The family's own part of the job config from the run's values of the options it `uses`
   * (given: the options set; c: the rest of the job config), validated with the flags' names.
   */
  jobOptions?(given: Readonly<Partial<Record<ShapeOption, number | boolean | readonly number[]>>>, c: Readonly<JobConfig>): Partial<JobConfig>;
  /** The input word-embedding table (V, C) for `lmkit embed` (absent: the family has none). */
  embedding?(model: M): Tensor;
  /** --init support. */
  fineTune?: FineTune<C>;
  /** Formats of other ecosystems, by name ('hf-gpt2'). */
  formats?: Readonly<Record<string, PretrainedFormat<M, C>>>;
}

/** The part of a family estimated from counts (no gradient steps). */
export interface CountsPart<M = unknown> {
  /** --context's default. */
  defaultContext: number;
  /** --context in the table of defaults ('4 (order 5)'). */
  contextLabel(context: number): string;
  /** The settings of the effective configuration besides the common ones ({ context, order }). */
  settings(context: number): Record<string, number>;
  /** Counts the training ids. */
  train(ids: Int32Array, c: { context: number; vocabSize: number }): M;
  /** The log line after training. */
  trained(model: M, seconds: number): string;
  evaluate(model: M, ids: Int32Array): EvalResult;
  /** The context the model conditions on (`lmkit eval` checks the split is longer). */
  contextOf(model: M): number;
  /** The checkpoint's tensors and the metadata field `meta[name]` describing them. */
  toCheckpoint(model: M): { tensors: Record<string, Tensor>; meta: unknown };
  /**
   * The model from the checkpoint's tensors and `meta[name]`, checked against the vocabulary
   * size of the checkpoint's tokenizer; throws a plain message (the caller names the checkpoint).
   */
  fromCheckpoint(tensors: ReadonlyMap<string, Tensor>, meta: unknown, vocabSize: number): M;
}

/** One model family. `N`: its name; `M`: its model class; `C`: its constructor config. */
export interface ModelFamily<N extends string = string, M = unknown, C = unknown> {
  name: N;
  /** One line for docs and help: what the model is. */
  summary: string;
  /** What --context means: 'previous' tokens seen, or the 'sequence' length trained on. */
  context: 'previous' | 'sequence';
  /** The shared shape flags it uses (--embed, --hidden, --layers, --heads, --dropout). */
  uses: readonly ShapeOption[];
  /** Flags only this family has. */
  flags?: readonly FamilyFlag[];
  /** The model part of the training log's `model NAME: ...` line. */
  describe(c: JobConfig): string;
  /** Continues `ids` (`lmkit generate`, the report's samples); absent: the family does not generate. */
  generate?(model: M, ids: Int32Array, opts: FamilyGenerateOptions): Promise<Int32Array>;
  /** Why it cannot generate, when that has a reason worth saying (the error and the report's note). */
  noGenerate?: { error: string; note: string };
  neural?: NeuralPart<M & Module, C>;
  counts?: CountsPart<M>;
}

/** A gradient-trained family. */
export type NeuralFamily<N extends string = string, M extends Module = Module, C = unknown> = ModelFamily<N, M, C> & {
  neural: NeuralPart<M, C>;
  counts?: undefined;
};

/** A family estimated from counts. */
export type CountsFamily<N extends string = string, M = unknown> = ModelFamily<N, M, never> & {
  counts: CountsPart<M>;
  neural?: undefined;
};
