// Saving a trained model as a checkpoint directory and loading it back: the weights go to
// `model.safetensors` (saveModuleState), and `checkpoint.json` carries the metadata needed
// to rebuild the model: { kind, config (the model constructor's), job (context/batching
// used to train and evaluate), vocab, step, valid_ppl, test_ppl }.
// Models trained on a text corpus or token file also carry `tokenizer` (the tokenizer's
// toJSON(), built on the training split) and `corpus` (the path trained on); then `vocab`
// is absent and the loaded `vocab` is derived from the tokenizer (token-vocab.ts).
// Brown checkpoints (and older ones) have only `vocab`: whitespace-split words.
import { tokenVocab } from '../data/token-vocab.js';
import { tokenizerFromJSON, type Tokenizer, type TokenizerJSON } from '../data/tokenizers.js';
import { Vocab, type VocabJSON } from '../data/vocab.js';
import { loadCheckpoint, loadModuleState, saveCheckpoint, saveModuleState } from '../io/checkpoint.js';
import { MODEL_KINDS, buildModel, type JobConfig, type ModelConfig, type ModelKind, type NeuralKind, type NeuralModel } from './run.js';

/** The kinds that can be saved and loaded (ngram and mlm: not supported yet). */
export const CHECKPOINT_KINDS: readonly NeuralKind[] = ['ffnn', 'rnn', 'lstm', 'transformer', 'mamba', 'loglinear'];

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
}

export interface LoadedTrained {
  kind: NeuralKind;
  model: NeuralModel;
  /** Token strings by id (for embed; from the tokenizer when there is one). */
  vocab: Vocab;
  /** The training tokenizer, or null for a whitespace-split word model (Brown). */
  tokenizer: Tokenizer | null;
  meta: TrainedMeta;
}

function checkKind(kind: unknown, where: string): NeuralKind {
  if (typeof kind !== 'string' || !MODEL_KINDS.includes(kind as ModelKind)) {
    throw new Error(`${where}: unknown model kind '${String(kind)}'`);
  }
  if (!CHECKPOINT_KINDS.includes(kind as NeuralKind)) {
    throw new Error(`${where}: checkpoints of '${kind}' models are not supported yet (supported: ${CHECKPOINT_KINDS.join(', ')})`);
  }
  return kind as NeuralKind;
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
  saveCheckpoint(dir, { tensors: saveModuleState(t.model), meta });
}

/** Rebuilds the model saved in `dir` with its vocabulary. Throws an Error naming the problem. */
export function loadTrained(dir: string): LoadedTrained {
  const ck = loadCheckpoint(dir);
  const where = `checkpoint ${dir}`;
  try {
    const meta = ck.meta as Partial<TrainedMeta>;
    const kind = checkKind(meta.kind, where);
    if (typeof meta.config !== 'object' || meta.config === null) throw new Error(`${where}: no model config in the metadata`);
    let tokenizer: Tokenizer | null = null;
    let vocab: Vocab;
    if (meta.tokenizer !== undefined) {
      try {
        tokenizer = tokenizerFromJSON(meta.tokenizer);
      } catch (err) {
        throw new Error(`${where}: bad tokenizer in the metadata: ${err instanceof Error ? err.message : String(err)}`);
      }
      vocab = tokenVocab(tokenizer);
    } else {
      if (typeof meta.vocab !== 'object' || meta.vocab === null) throw new Error(`${where}: no vocabulary in the metadata`);
      vocab = Vocab.fromJSON(meta.vocab);
    }
    if (meta.config.vocabSize !== vocab.size) {
      throw new Error(`${where}: the model has ${meta.config.vocabSize} words but the vocabulary ${vocab.size}`);
    }
    const model = buildModel(kind, meta.config);
    try {
      loadModuleState(model, ck.tensors);
    } catch (err) {
      model.dispose();
      throw new Error(`${where}: ${err instanceof Error ? err.message.replace(/\n\s*/g, '; ') : String(err)}`);
    }
    return { kind, model, vocab, tokenizer, meta: meta as TrainedMeta };
  } finally {
    for (const t of ck.tensors.values()) t.dispose();
  }
}
