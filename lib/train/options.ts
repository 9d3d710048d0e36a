// The options, events and result of a training run (runTraining, `lmkit train`): types only,
// kept out of run.ts so that the modules run.ts uses (checkpointing, run-state, init,
// effective-config, model-flags) name them without importing run.ts (no import circles).
// The model families and their names are the registry's (registry.ts).
import type { CorpusSpec } from '../data/training-corpus.js';
import type { TokenizerKind } from '../data/tokenizers.js';
import type { RecurrentRegularization } from './family.js';
import type { RunHistoryJSON } from './history.js';
import type { ModelKind } from './registry.js';
import type { EvalResult, StepEvent } from './trainer.js';

export type { ModelKind } from './registry.js';

/** A value of the effective configuration (TrainRunResult.config). */
export type ConfigValue = string | number | boolean;

export type ScheduleKind = 'constant' | 'cosine' | 'inverse';
export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['constant', 'cosine', 'inverse'];
export type OptimizerKind = 'sgd' | 'adamw' | 'adam' | 'adafactor' | 'sophia';
export const OPTIMIZER_KINDS: readonly OptimizerKind[] = ['sgd', 'adamw', 'adam', 'adafactor', 'sophia'];

/** Options of `runTraining` (`lmkit train`'s flags); the rnn/lstm regularisation ones are RecurrentRegularization's. */
export interface TrainRunOptions extends RecurrentRegularization {
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
  /** --optimizer sgd: momentum (default 0.9; AWD-LSTM uses 0). */
  momentum?: number;
  /** NT-ASGD (lib/optim/asgd.ts): average the iterates once the validation loss has not improved for this many evaluations. */
  ntasgd?: number;
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
  /** This call's training time (its steps and the evaluations among them). */
  seconds: number;
  /**
   * The whole run's training time: `seconds` plus that of the earlier processes of a resumed run
   * (recorded in its checkpoints; absent when a checkpoint from before lmkit recorded it was resumed).
   */
  totalSeconds?: number;
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
