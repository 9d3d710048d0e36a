// Saving a trained model as a checkpoint directory and loading it back: the weights go to
// `model.safetensors` (saveModuleState), and `checkpoint.json` carries the metadata needed
// to rebuild the model: { kind, config (the model constructor's), job (context/batching
// used to train and evaluate), vocab, step, valid_ppl, test_ppl }.
//
// Resumable checkpoints (`lmkit train --out DIR [--save-every N]`, `lmkit train --resume DIR`)
// add the full training state, so that a resumed run continues the same loss curve exactly
// (same machine, seed and thread count):
// - in `model.safetensors`, beside the weights (whose names are unchanged, so eval/generate/
//   embed load these checkpoints as before; loadTrained ignores the rest), tensors named
//   `_train.optim.<buffer>.<param index>` (every optimizer moment: m/v, velocity, Sophia's h,
//   Adafactor's row/col/v), `_train.carry.<name>` (the recurrent state carried between BPTT
//   batches: h.<layer>, c.<layer>) and `_train.best.<param index>` (the best weights kept for
//   early stopping's restore-best);
// - in the metadata, `training`: { version, options (the run's TrainRunOptions, resolved),
//   trainer (step, epoch, batch position in the epoch, early-stopping counters), optimizer
//   { kind, scalars: stepCount, lr, ... }, rng (every model RNG counter, Module.rngState()),
//   carry (names), best (whether best weights are saved) }.
// Both go through saveCheckpoint, whose atomic protocol covers them (one weights file).
// `--save-every` checkpoints (written between steps) resume exactly; the final `--out`
// checkpoint does too, except after `--restore-best` put the best weights back: it then holds
// those (what eval/generate should use), and a resume continues from them with the
// optimizer state of the last step.
// Models trained on a text corpus or token file also carry `tokenizer` (the tokenizer's
// toJSON(), built on the training split) and `corpus` (the path trained on); then `vocab`
// is absent and the loaded `vocab` is derived from the tokenizer (token-vocab.ts).
// Brown checkpoints (and older ones) have only `vocab`: whitespace-split words.
//
// Count-based checkpoints (the n-gram family, kind 'ngram'; saveNgramTrained / loadAnyTrained)
// hold no weights but the tensors and the metadata field `meta[kind]` of the family's
// descriptor (counts.toCheckpoint: for ngram, the bit-packed Kneser-Ney tables, see
// families/ngram.ts). The Brown 5-gram (2.4M n-grams) takes
// 12.3 MB (model.safetensors; plus 0.27 MB of checkpoint.json, mostly the vocabulary) instead
// of 28.9 MB as plain int32 or 38.5 MB as KneserNeyLM.toJSON(). Masked LMs (kind 'mlm') save like the other
// neural models; `lmkit generate` refuses them (they do not generate left to right).
// Which family a checkpoint holds, and how its model is rebuilt, is the registry's (registry.ts).
import fs from 'node:fs';
import path from 'node:path';

import { tokenVocab } from '../data/token-vocab.js';
import { WordTokenizer, tokenizerFromJSON, type Tokenizer, type TokenizerJSON } from '../data/tokenizers.js';
import { Vocab, type VocabJSON } from '../data/vocab.js';
import { META_FILE, loadCheckpoint, loadModuleState, saveCheckpoint, saveModuleState, type LoadedCheckpoint } from '../io/checkpoint.js';
import { KneserNeyLM } from '../models/ngram.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Tensor } from '../tensor.js';
import type { JobConfig } from './family.js';
import type { NgramCheckpointMeta } from './families/ngram.js';
import type { TrainRunOptions } from './options.js';
import { MODEL_KINDS, familyOf, isModelKind, neuralFamilyOf, type ModelConfig, type ModelKind, type NeuralKind, type NeuralModel } from './registry.js';
import type { RunHistoryJSON } from './history.js';
import type { TrainerState } from './trainer.js';

/** Names of training-state tensors start with this (never a model parameter name). */
export const TRAIN_STATE_PREFIX = '_train.';
export const TRAINING_STATE_VERSION = 1;

/** The training state written into a resumable checkpoint. */
export interface TrainingStateInput {
  options: TrainRunOptions;
  trainer: TrainerState;
  optimizer: Optimizer;
  optimizerKind: string;
  rng: Record<string, number>;
  /** The carried recurrent state (live tensors), or null. */
  carry: Record<string, Tensor> | null;
  /** Early stopping's best weights (aligned with the optimizer's parameters), or null. */
  best: readonly Tensor[] | null;
  /** The run's loss and evaluation history so far (for the report of a resumed run). */
  history?: RunHistoryJSON;
}

/** `meta.training` of a resumable checkpoint. */
export interface TrainingStateMeta {
  version: number;
  options: TrainRunOptions;
  trainer: TrainerState;
  optimizer: { kind: string; scalars: Record<string, number> };
  rng: Record<string, number>;
  carry: string[];
  best: boolean;
  /** Absent in checkpoints written before lmkit kept it. */
  history?: RunHistoryJSON;
}

/** A resumable checkpoint opened for `--resume`: dispose() frees its tensors. */
export interface OpenedTraining {
  dir: string;
  meta: TrainedMeta;
  training: TrainingStateMeta;
  model: Map<string, Tensor>;
  optimizer: Map<string, Tensor>;
  carry: Map<string, Tensor>;
  best: Tensor[] | null;
  dispose(): void;
}

export type { NgramCheckpointMeta } from './families/ngram.js';

/** The kinds that can be saved and loaded: every family (count-based ones: saveNgramTrained, loaded by loadAnyTrained). */
export const CHECKPOINT_KINDS: readonly ModelKind[] = MODEL_KINDS;

export interface TrainedMeta {
  kind: NeuralKind;
  config: ModelConfig;
  /** How the model was trained and evaluated (context, batch ...); absent in hand-made checkpoints. */
  job?: JobConfig;
  /** The word vocabulary of a Brown (whitespace-split) model; absent when `tokenizer` is set. */
  vocab?: VocabJSON;
  /** The tokenizer of a model trained on a text corpus or token file. */
  tokenizer?: TokenizerJSON;
  /** The corpus trained on ('brown' or a path): `lmkit eval`'s default corpus. */
  corpus?: string;
  step: number;
  valid_ppl: number | null;
  test_ppl: number | null;
  [key: string]: unknown;
}

export interface SaveTrainedInput {
  kind: ModelKind;
  config: ModelConfig;
  job?: JobConfig;
  model: NeuralModel;
  /** Whitespace-split word models (Brown): the vocabulary. One of vocab and tokenizer is required. */
  vocab?: Vocab;
  tokenizer?: Tokenizer;
  corpus?: string;
  step: number;
  result?: { validPpl?: number | null; testPpl?: number | null };
  /** The full training state (makes the checkpoint resumable). */
  training?: TrainingStateInput;
}

export interface LoadedTrained {
  kind: NeuralKind;
  model: NeuralModel;
  /** Token strings by id (for embed; from the tokenizer when there is one). */
  vocab: Vocab;
  /**
   * The checkpoint's tokenizer: the one trained with the model, or for a Brown (word) model a
   * WordTokenizer with `split: 'whitespace'` over its vocabulary. Never null.
   */
  tokenizer: Tokenizer;
  meta: TrainedMeta;
}

function checkKind(kind: unknown, where: string): NeuralKind {
  if (!isModelKind(kind)) {
    throw new Error(`${where}: unknown model kind '${String(kind)}'`);
  }
  if (!familyOf(kind).neural) {
    throw new Error(`${where}: a count-based (${kind}) checkpoint has no neural model or training state (load it with loadAnyTrained)`);
  }
  if (!CHECKPOINT_KINDS.includes(kind)) {
    throw new Error(`${where}: checkpoints of '${kind}' models are not supported yet (supported: ${CHECKPOINT_KINDS.join(', ')})`);
  }
  return kind as NeuralKind;
}

/** The model kind a checkpoint directory records (undefined when its metadata cannot be read), without loading it. */
export function checkpointKind(dir: string): string | undefined {
  try {
    const kind = (JSON.parse(fs.readFileSync(path.join(dir, META_FILE), 'utf8')) as { meta?: { kind?: unknown } }).meta?.kind;
    return typeof kind === 'string' ? kind : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the trained model to `dir` (created if needed; an earlier checkpoint there is replaced atomically). */
export function saveTrained(dir: string, t: SaveTrainedInput): void {
  const kind = checkKind(t.kind, 'saveTrained');
  if (!t.tokenizer && !t.vocab) throw new Error('saveTrained: a vocab or a tokenizer is required');
  const meta: TrainedMeta = {
    kind,
    config: t.config,
    ...(t.job ? { job: t.job } : {}),
    ...(t.tokenizer ? { tokenizer: t.tokenizer.toJSON() } : t.vocab ? { vocab: t.vocab.toJSON() } : {}),
    ...(t.corpus !== undefined ? { corpus: t.corpus } : {}),
    step: t.step,
    valid_ppl: t.result?.validPpl ?? null,
    test_ppl: t.result?.testPpl ?? null,
  };
  const tensors: Record<string, Tensor> = saveModuleState(t.model);
  if (t.training) {
    const tr = t.training;
    const opt = tr.optimizer.stateDict();
    for (const [k, v] of Object.entries(opt.tensors)) tensors[`${TRAIN_STATE_PREFIX}optim.${k}`] = v;
    for (const [k, v] of Object.entries(tr.carry ?? {})) tensors[`${TRAIN_STATE_PREFIX}carry.${k}`] = v;
    tr.best?.forEach((b, i) => (tensors[`${TRAIN_STATE_PREFIX}best.${i}`] = b));
    const training: TrainingStateMeta = {
      version: TRAINING_STATE_VERSION,
      options: tr.options,
      trainer: tr.trainer,
      optimizer: { kind: tr.optimizerKind, scalars: opt.scalars },
      rng: tr.rng,
      carry: Object.keys(tr.carry ?? {}),
      best: tr.best !== null,
      ...(tr.history ? { history: tr.history } : {}),
    };
    meta.training = training;
  }
  saveCheckpoint(dir, { tensors, meta });
}

/**
 * Opens the resumable checkpoint in `dir` (written by `lmkit train --out` / `--save-every`):
 * the model weights, the optimizer's state, the carried recurrent state, the best weights
 * and the training metadata. Throws a clear Error when `dir` holds no such checkpoint.
 */
export function openTraining(dir: string): OpenedTraining {
  const ck = loadCheckpoint(dir);
  const all = [...ck.tensors.values()];
  const dispose = (): void => {
    for (const t of all) t.dispose();
  };
  try {
    const meta = ck.meta as TrainedMeta;
    const training = meta.training as TrainingStateMeta | undefined;
    if (typeof training !== 'object' || training === null) {
      throw new Error(`--resume: checkpoint ${dir} holds no training state (it was not written by \`lmkit train --out\`)`);
    }
    if (training.version !== TRAINING_STATE_VERSION) {
      throw new Error(`--resume: checkpoint ${dir} has training state version ${String(training.version)} (this lmkit reads ${TRAINING_STATE_VERSION})`);
    }
    checkKind(meta.kind, `checkpoint ${dir}`);
    const model = new Map<string, Tensor>();
    const optimizer = new Map<string, Tensor>();
    const carry = new Map<string, Tensor>();
    const bestByIndex = new Map<number, Tensor>();
    for (const [k, t] of ck.tensors) {
      if (!k.startsWith(TRAIN_STATE_PREFIX)) model.set(k, t);
      else if (k.startsWith(`${TRAIN_STATE_PREFIX}optim.`)) optimizer.set(k.slice(TRAIN_STATE_PREFIX.length + 6), t);
      else if (k.startsWith(`${TRAIN_STATE_PREFIX}carry.`)) carry.set(k.slice(TRAIN_STATE_PREFIX.length + 6), t);
      else if (k.startsWith(`${TRAIN_STATE_PREFIX}best.`)) bestByIndex.set(Number(k.slice(TRAIN_STATE_PREFIX.length + 5)), t);
    }
    const best = training.best ? [...bestByIndex.keys()].sort((a, b) => a - b).map((i) => bestByIndex.get(i)!) : null;
    return { dir, meta, training, model, optimizer, carry, best, dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}

/** Options that may differ on `--resume` (they do not change the model or the update rule). */
export const RESUME_OVERRIDABLE: readonly (keyof TrainRunOptions)[] = [
  'steps',
  'epochs',
  'out',
  'saveEvery',
  'evalTokens',
  'test',
  'evalEvery',
  'patience',
  'restoreBest',
  'skipNonfinite',
];

const flagOf = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * The options of a resumed run: the checkpoint's, with `given`'s overridable ones (steps,
 * epochs, out, ...; the steps/epochs target is a total; `out` defaults to the resumed
 * directory). Any other option given with a value different from the checkpoint's is an
 * error naming the flag (the model and its training come from the checkpoint).
 */
export function resumeOptions(saved: TrainRunOptions, given: Partial<TrainRunOptions>, dir: string): TrainRunOptions {
  const conflicts: string[] = [];
  for (const [k, v] of Object.entries(given)) {
    if (k === 'resume' || v === undefined || RESUME_OVERRIDABLE.includes(k as keyof TrainRunOptions)) continue;
    const s = (saved as unknown as Record<string, unknown>)[k];
    if (JSON.stringify(v) !== JSON.stringify(s)) {
      conflicts.push(`${flagOf(k)} ${JSON.stringify(v)} (the checkpoint has ${s === undefined ? 'the default' : JSON.stringify(s)})`);
    }
  }
  if (conflicts.length > 0) {
    throw new Error(
      `--resume ${dir}: ${conflicts.join('; ')}: the model and training flags come from the checkpoint; drop them or start a new run`,
    );
  }
  const out: TrainRunOptions = { ...saved };
  delete out.resume;
  if (given.steps !== undefined || given.epochs !== undefined) {
    delete out.steps;
    delete out.epochs;
  }
  for (const k of RESUME_OVERRIDABLE) {
    if (given[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = given[k];
  }
  out.out ??= dir;
  return out;
}

/** The tokenizer (or Brown word vocabulary) of a checkpoint's metadata, and its vocabulary. */
function codecOf(meta: { tokenizer?: TokenizerJSON; vocab?: VocabJSON }, where: string): { tokenizer: Tokenizer; vocab: Vocab } {
  if (meta.tokenizer !== undefined) {
    let tokenizer: Tokenizer;
    try {
      tokenizer = tokenizerFromJSON(meta.tokenizer);
    } catch (err) {
      throw new Error(`${where}: bad tokenizer in the metadata: ${err instanceof Error ? err.message : String(err)}`);
    }
    return { tokenizer, vocab: tokenVocab(tokenizer) };
  }
  if (typeof meta.vocab !== 'object' || meta.vocab === null) throw new Error(`${where}: no vocabulary in the metadata`);
  // A Brown model: whitespace-split words and the saved vocabulary, as a word tokenizer, so
  // that every checkpoint encodes prompts through `tokenizer`.
  const vocab = Vocab.fromJSON(meta.vocab);
  return { tokenizer: new WordTokenizer(vocab, { split: 'whitespace' }), vocab };
}

function neuralFrom(ck: LoadedCheckpoint, dir: string): LoadedTrained {
  const where = `checkpoint ${dir}`;
  const meta = ck.meta as Partial<TrainedMeta>;
  const kind = checkKind(meta.kind, where);
  if (typeof meta.config !== 'object' || meta.config === null) throw new Error(`${where}: no model config in the metadata`);
  const { tokenizer, vocab } = codecOf(meta, where);
  if (meta.config.vocabSize !== vocab.size) {
    throw new Error(`${where}: the model has ${meta.config.vocabSize} words but the vocabulary ${vocab.size}`);
  }
  const model = neuralFamilyOf(kind).neural.build(meta.config) as NeuralModel;
  try {
    // Training-state tensors of a resumable checkpoint are not the model's.
    const weights = new Map([...ck.tensors].filter(([k]) => !k.startsWith(TRAIN_STATE_PREFIX)));
    loadModuleState(model, weights);
  } catch (err) {
    model.dispose();
    throw new Error(`${where}: ${err instanceof Error ? err.message.replace(/\n\s*/g, '; ') : String(err)}`);
  }
  return { kind, model, vocab, tokenizer, meta: meta as TrainedMeta };
}

/** Rebuilds the model saved in `dir` with its vocabulary. Throws an Error naming the problem. */
export function loadTrained(dir: string): LoadedTrained {
  const ck = loadCheckpoint(dir);
  try {
    return neuralFrom(ck, dir);
  } finally {
    for (const t of ck.tensors.values()) t.dispose();
  }
}

// ---- count-based (n-gram) checkpoints -------------------------------------------------

export interface NgramTrainedMeta {
  kind: 'ngram';
  ngram: NgramCheckpointMeta;
  vocab?: VocabJSON;
  tokenizer?: TokenizerJSON;
  corpus?: string;
  /** The run's options (TrainRunOptions), for reports; an n-gram run cannot be resumed. */
  options?: TrainRunOptions;
  step: number;
  valid_ppl: number | null;
  test_ppl: number | null;
  [key: string]: unknown;
}

export interface SaveNgramInput {
  model: KneserNeyLM;
  vocab?: Vocab;
  tokenizer?: Tokenizer;
  corpus?: string;
  options?: TrainRunOptions;
  result?: { validPpl?: number | null; testPpl?: number | null };
}

export interface LoadedNgram {
  kind: 'ngram';
  model: KneserNeyLM;
  vocab: Vocab;
  /** As LoadedTrained's: never null. */
  tokenizer: Tokenizer;
  meta: NgramTrainedMeta;
}

/** Writes a Kneser-Ney model to `dir` (atomically, as saveTrained): the family's tables + metadata. */
export function saveNgramTrained(dir: string, t: SaveNgramInput): void {
  if (!(t.model instanceof KneserNeyLM)) throw new TypeError('saveNgramTrained: model must be a KneserNeyLM');
  saveCountsTrained(dir, 'ngram', t);
}

/** Writes the count-based model `t.model` of family `kind` to `dir` (atomically, as saveTrained). */
export function saveCountsTrained(dir: string, kind: ModelKind, t: Omit<SaveNgramInput, 'model'> & { model: unknown }): void {
  const counts = familyOf(kind).counts;
  if (!counts) throw new TypeError(`saveCountsTrained: '${kind}' is not a count-based family`);
  if (!t.tokenizer && !t.vocab) throw new Error(`save: a vocab or a tokenizer is required`);
  const { tensors, meta: tables } = counts.toCheckpoint(t.model);
  try {
    const meta = {
      kind,
      [kind]: tables,
      ...(t.tokenizer ? { tokenizer: t.tokenizer.toJSON() } : t.vocab ? { vocab: t.vocab.toJSON() } : {}),
      ...(t.corpus !== undefined ? { corpus: t.corpus } : {}),
      ...(t.options !== undefined ? { options: t.options } : {}),
      step: 0,
      valid_ppl: t.result?.validPpl ?? null,
      test_ppl: t.result?.testPpl ?? null,
    };
    saveCheckpoint(dir, { tensors, meta });
  } finally {
    for (const x of Object.values(tensors)) x.dispose();
  }
}

function countsFrom(ck: LoadedCheckpoint, dir: string, kind: ModelKind): LoadedNgram {
  const where = `checkpoint ${dir}`;
  const meta = ck.meta as Partial<NgramTrainedMeta> & Record<string, unknown>;
  const counts = familyOf(kind).counts!;
  const tables = meta[kind];
  if (typeof tables !== 'object' || tables === null) throw new Error(`${where}: no n-gram tables in the metadata`);
  const { tokenizer, vocab } = codecOf(meta, where);
  let model: KneserNeyLM;
  try {
    model = counts.fromCheckpoint(ck.tensors, tables, vocab.size) as KneserNeyLM;
  } catch (err) {
    throw new Error(`${where}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { kind: 'ngram', model, vocab, tokenizer, meta: meta as NgramTrainedMeta };
}

/** Loads the checkpoint in `dir`, neural or n-gram. The neural model must be disposed by the caller. */
export function loadAnyTrained(dir: string): LoadedTrained | LoadedNgram {
  const ck = loadCheckpoint(dir);
  try {
    const kind = (ck.meta as { kind?: unknown }).kind;
    return isModelKind(kind) && familyOf(kind).counts ? countsFrom(ck, dir, kind) : neuralFrom(ck, dir);
  } finally {
    for (const t of ck.tensors.values()) t.dispose();
  }
}
