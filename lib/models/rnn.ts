// Recurrent language models: a stack of Elman RNN or LSTM layers over word embeddings,
// trained with truncated back-propagation through time (Zaremba et al., 2014).
//
//   x_t = dropout(E[w_t])
//   Elman:  h_t = tanh(x_t W_ih^T + h_{t-1} W_hh^T + b)
//   LSTM:   gates_t = x_t W_ih^T + h_{t-1} W_hh^T + b  (B,4H, order i,f,g,o) -> lstmCell
//   logits_t = dropout(h_t^L) W_out^T + b_out      (W_out = E when the weights are tied)
//
// Per layer, the input projections of the whole window come from ONE matmul
// (B*T, in) @ W_ih^T; the time loop only adds h_{t-1} W_hh^T. Dropout (when training) is
// applied to the input of every layer and to the output of the last one.
//
// Regularisation of AWD-LSTM (Merity et al., 2017), each off by default and only active in
// training mode; every mask is drawn from a fresh seed (model seed, call counter), so a run
// is reproducible and resumable (the counter is part of rngState()):
// - weightDrop p: DropConnect on every layer's W_hh: one mask per forward call, shared by all
//   steps and batch rows, kept weights scaled by 1/(1-p) (the expected weight is W_hh).
// - dropoutInput / dropoutHidden / dropoutOutput p: locked (variational) dropout of the
//   embeddings fed to the first layer / of the outputs between layers / of the last layer's
//   output: one mask (B,1,C) per forward, the same at every time step of a row. Alternatives
//   to `dropout` (a fresh mask per element), which must then be 0.
// - embeddingDropout p: drops whole rows (words) of the embedding matrix for the forward
//   call, scaling the kept rows by 1/(1-p): a dropped word is zero at every position.
// - lastHidden: the last layer's width (default hidden), so that the output projection can be
//   tied to the embedding matrix (tieWeights needs embed == lastHidden) with wider lower
//   layers, as AWD-LSTM's 1150-1150-400 stack.
// - activation regularisation (recurrentLoss / activationPenalty): ar * mean(o^2) on the last
//   layer's dropped output and tar * mean((h_t - h_{t-1})^2) on its raw output.
//
// State and truncated BPTT: `forward` returns the final state of the window WITH its
// graph; `detachState` cuts it (no gradient flows into previous windows) and makes it
// survive tidy() scopes. The state you pass to `forward` is copied at the start, so it
// may be disposed (`disposeState`) as soon as the call returns.
import { noGrad } from '../autograd.js';
import { tanh } from '../ops/activations.js';
import { crossEntropy } from '../ops/crossentropy.js';
import { dropout } from '../ops/dropout.js';
import { add, mul, square, sub } from '../ops/elementwise.js';
import { embedding } from '../ops/embedding.js';
import { lstmCell } from '../ops/lstm.js';
import { matmul } from '../ops/matmul.js';
import { mean } from '../ops/reduce.js';
import { concat, slice } from '../ops/shape.js';
import { bpttBatches, type BpttBatch } from '../data/bptt.js';
import { adaptiveLogProbs, adaptiveNll, checkCutoffs, type AdaptiveSoftmaxParts } from '../nn/adaptive-softmax.js';
import { embeddingInitStd, normalInit } from '../nn/init.js';
import { Module, uniformInit } from '../nn/module.js';
import type { EvalResult } from '../train/trainer.js';
import { Tensor, keep, tidy } from '../tensor.js';

export type RecurrentCell = 'rnn' | 'lstm';

export interface RecurrentConfig {
  vocabSize: number;
  cell: RecurrentCell;
  /** Embedding size. */
  embed: number;
  /** Hidden units per layer. */
  hidden: number;
  /** Number of stacked recurrent layers (>= 1). */
  layers: number;
  /** Dropout probability in [0, 1) (inputs of every layer and output of the last). Default 0. */
  dropout?: number;
  /** Use the embedding matrix as the output projection (requires embed == hidden). Default false. */
  tieWeights?: boolean;
  /** Seed of the initial weights and of the dropout masks. Default 1. */
  seed?: number;
  /**
   * Every initial weight uniform in [-initRange, initRange] (Zaremba et al. used 0.05 / 0.1;
   * lmkit's default before the init study was 0.05). Default: unset, the scaled rule below.
   */
  initRange?: number;
  /** DropConnect probability on the hidden-to-hidden matrices (one mask per forward). Default 0. */
  weightDrop?: number;
  /** Locked dropout of the first layer's input (the embeddings). Default 0. */
  dropoutInput?: number;
  /** Locked dropout between recurrent layers. Default 0. */
  dropoutHidden?: number;
  /** Locked dropout of the last layer's output (before the output projection). Default 0. */
  dropoutOutput?: number;
  /** Probability of dropping a whole word (row) of the embedding matrix per forward. Default 0. */
  embeddingDropout?: number;
  /** Hidden units of the last layer (default `hidden`); tieWeights needs embed == lastHidden. */
  lastHidden?: number;
  /**
   * An adaptive softmax output (lib/nn/adaptive-softmax.ts) cut at these word ids (increasing,
   * in (0, V); the vocabulary sorted by frequency): a head of the most frequent words and one
   * cluster per range after it. Default: the full softmax.
   */
  adaptiveCutoffs?: number[];
}

/** The regularisation probabilities of a RecurrentConfig (each in [0, 1)). */
const PROBABILITIES = ['dropout', 'weightDrop', 'dropoutInput', 'dropoutHidden', 'dropoutOutput', 'embeddingDropout'] as const;

// Default init (no initRange; bench/scripts/init-study.mjs, lib/nn/init.ts):
//   W_ih, W_hh, b, W_out, b_out ~ U(+-1/sqrt(H)) (PyTorch's nn.RNN / nn.LSTM / nn.Linear), H the
//   layer's own width (lastHidden for the last layer and the output);
//   the embedding ~ Normal(0, s^2), s = min(1, 48/sqrt(V)) (1 for characters and V <= 2304,
//   0.40 for a 14k-word vocabulary), tied to the output or not.

/** The carried state: per layer h (B,H), and c (B,H) for the LSTM (null for the Elman RNN). */
export interface RecurrentState {
  h: Tensor[];
  c: Tensor[] | null;
}

/** One recurrent layer's parameters: W_ih (G,in), W_hh (G,H), b (G), G = H or 4H. */
export class RecurrentLayer extends Module {
  readonly weightIh: Tensor;
  readonly weightHh: Tensor;
  readonly bias: Tensor;

  constructor(
    readonly cell: RecurrentCell,
    readonly inputSize: number,
    readonly hiddenSize: number,
    /** U(+-initRange) for every weight and bias (default 1/sqrt(hiddenSize), PyTorch's). */
    initRange: number = 1 / Math.sqrt(hiddenSize),
    seed: number = 1,
  ) {
    super();
    const G = cell === 'lstm' ? 4 * hiddenSize : hiddenSize;
    this.weightIh = this.param('weightIh', uniformInit([G, inputSize], initRange, seed));
    this.weightHh = this.param('weightHh', uniformInit([G, hiddenSize], initRange, seed + 1));
    this.bias = this.param('bias', uniformInit([G], initRange, seed + 2));
  }
}

function checkPositiveInt(what: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`RecurrentLM: ${what} must be a positive integer, got ${String(v)}`);
  }
}

export class RecurrentLM extends Module {
  readonly config: Required<Omit<RecurrentConfig, 'initRange' | 'adaptiveCutoffs'>> & Pick<RecurrentConfig, 'initRange' | 'adaptiveCutoffs'>;
  readonly embeddingWeight: Tensor;
  readonly layers: RecurrentLayer[] = [];
  /** The output projection (V,H): the embedding matrix itself when tied. */
  readonly outputWeight: Tensor;
  readonly outputBias: Tensor;
  /** The adaptive softmax's parts (adaptiveCutoffs given), else null: the full softmax. */
  readonly adaptive: AdaptiveSoftmaxParts | null = null;
  private dropoutCalls = 0;

  constructor(config: RecurrentConfig) {
    super();
    const c: Required<Omit<RecurrentConfig, 'initRange' | 'adaptiveCutoffs'>> & Pick<RecurrentConfig, 'initRange' | 'adaptiveCutoffs'> = {
      dropout: 0,
      tieWeights: false,
      seed: 1,
      weightDrop: 0,
      dropoutInput: 0,
      dropoutHidden: 0,
      dropoutOutput: 0,
      embeddingDropout: 0,
      ...config,
      lastHidden: config.lastHidden ?? config.hidden,
    };
    if (c.initRange === undefined) delete c.initRange;
    if (c.adaptiveCutoffs === undefined) delete c.adaptiveCutoffs;
    else checkCutoffs(c.adaptiveCutoffs, c.vocabSize, 'RecurrentLM: adaptiveCutoffs');
    if (c.cell !== 'rnn' && c.cell !== 'lstm') {
      throw new RangeError(`RecurrentLM: cell must be 'rnn' or 'lstm', got '${String(c.cell)}'`);
    }
    for (const k of ['vocabSize', 'embed', 'hidden', 'layers', 'lastHidden'] as const) checkPositiveInt(k, c[k]);
    for (const k of PROBABILITIES) {
      if (typeof c[k] !== 'number' || !(c[k] >= 0 && c[k] < 1)) {
        throw new RangeError(`RecurrentLM: ${k} must be in [0, 1), got ${String(c[k])}`);
      }
    }
    if (c.dropout > 0 && (c.dropoutInput > 0 || c.dropoutHidden > 0 || c.dropoutOutput > 0)) {
      throw new RangeError('RecurrentLM: dropout (per element) and dropoutInput/dropoutHidden/dropoutOutput (locked) are alternatives: set one kind to 0');
    }
    if (c.layers === 1 && c.lastHidden !== c.hidden) {
      throw new RangeError(`RecurrentLM: with 1 layer, lastHidden (${c.lastHidden}) must equal hidden (${c.hidden}); give hidden instead`);
    }
    if (c.tieWeights && c.embed !== c.lastHidden) {
      throw new RangeError(
        c.lastHidden === c.hidden
          ? `RecurrentLM: tieWeights requires embed == hidden, got embed ${c.embed}, hidden ${c.hidden} (or set lastHidden = embed)`
          : `RecurrentLM: tieWeights requires embed == lastHidden, got embed ${c.embed}, lastHidden ${c.lastHidden}`,
      );
    }
    if (!Number.isSafeInteger(c.seed)) throw new RangeError(`RecurrentLM: seed must be an integer, got ${c.seed}`);
    if (c.initRange !== undefined && !(c.initRange > 0)) throw new RangeError(`RecurrentLM: initRange must be > 0, got ${c.initRange}`);
    this.config = c;
    // initRange given: everything U(+-initRange); else the scaled default (see above).
    const r = c.initRange ?? 1 / Math.sqrt(c.hidden);
    const rLast = c.initRange ?? 1 / Math.sqrt(c.lastHidden);
    const embedStd = embeddingInitStd(c.vocabSize, 'recurrent');
    this.embeddingWeight = this.param(
      'embedding',
      c.initRange !== undefined ? uniformInit([c.vocabSize, c.embed], r, c.seed) : normalInit([c.vocabSize, c.embed], embedStd, c.seed),
    );
    for (let l = 0; l < c.layers; l++) {
      const inSize = l === 0 ? c.embed : c.hidden;
      const size = l === c.layers - 1 ? c.lastHidden : c.hidden;
      this.layers.push(this.module(`layer${l}`, new RecurrentLayer(c.cell, inSize, size, l === c.layers - 1 ? rLast : r, c.seed + 100 * (l + 1))));
    }
    this.outputWeight = c.tieWeights
      ? this.embeddingWeight
      : this.param('outputWeight', uniformInit([c.vocabSize, c.lastHidden], rLast, c.seed + 7));
    this.outputBias = this.param('outputBias', uniformInit([c.vocabSize], rLast, c.seed + 8));
    if (c.adaptiveCutoffs) {
      const K = c.adaptiveCutoffs.length;
      this.adaptive = {
        weight: this.outputWeight,
        bias: this.outputBias,
        clusterWeight: this.param('clusterWeight', uniformInit([K, c.lastHidden], rLast, c.seed + 9)),
        clusterBias: this.param('clusterBias', uniformInit([K], rLast, c.seed + 10)),
        cutoffs: [...c.adaptiveCutoffs],
      };
    }
  }

  /**
   * The NLL of `targets` (B*T word ids, row b*T + t) given a forward's output: the adaptive
   * softmax's exact NLL without the full logits when the model has one, else the cross-entropy
   * of `out.logits`.
   */
  nll(out: RecurrentOutput, targets: Int32Array, reduction: 'mean' | 'sum' = 'mean'): Tensor {
    if (this.adaptive) return adaptiveNll(this.adaptive, out.droppedOutput, targets, reduction);
    return crossEntropy(out.logits, Tensor.fromArray(targets, [targets.length], 'int32'), { reduction });
  }

  /** A zero state for batch size B (kept: dispose it with disposeState). */
  initState(B: number): RecurrentState {
    checkPositiveInt('batch size', B);
    const zeros = (): Tensor[] => this.layers.map((l) => keep(Tensor.zeros([B, l.hiddenSize])));
    return { h: zeros(), c: this.config.cell === 'lstm' ? zeros() : null };
  }

  /** RNG state (resumable checkpoints): the counter behind the dropout seeds. */
  protected override ownRngState(): Record<string, number> {
    return { dropoutCalls: this.dropoutCalls };
  }

  protected override setOwnRngState(s: Record<string, number>): void {
    this.dropoutCalls = s.dropoutCalls!;
  }

  /** A fresh, reproducible seed per call (model seed, call counter). */
  private nextSeed(): number {
    return (this.config.seed % 1_000_000) * 1_000_000_000 + this.dropoutCalls++;
  }

  private drop(x: Tensor): Tensor {
    const p = this.config.dropout;
    if (!this.training || p === 0) return x;
    return dropout(x, p, { seed: this.nextSeed() });
  }

  /**
   * Locked (variational) dropout of x (B*T, C) read as B sequences of T steps: one mask
   * (B,1,C) of 0 and 1/(1-p), the same at every step of a row. Identity in eval mode or p = 0.
   */
  private lockedDrop(x: Tensor, B: number, T: number, p: number): Tensor {
    if (!this.training || p === 0) return x;
    const C = x.shape[1]!;
    const mask = lockedDropoutMask(B, C, p, this.nextSeed());
    return mul(x.reshape([B, T, C]), mask).reshape([B * T, C]);
  }

  /**
   * The W_hh of layer `l` as a forward uses it: with DropConnect (training, weightDrop > 0)
   * a fresh mask (drawn once per forward and shared by its steps), else the parameter itself.
   */
  hiddenWeight(l: number): Tensor {
    const layer = this.layers[l];
    if (!layer) throw new RangeError(`RecurrentLM.hiddenWeight: no layer ${l} (${this.layers.length} layers)`);
    const p = this.config.weightDrop;
    if (!this.training || p === 0) return layer.weightHh;
    return dropout(layer.weightHh, p, { seed: this.nextSeed() });
  }

  /**
   * The embeddings (B*T, E) of ids (B,T) as a forward reads them (before the input dropout):
   * with embeddingDropout (training), each word of the vocabulary is dropped at every position
   * of the call with probability p, the others scaled by 1/(1-p).
   */
  embedTokens(ids: Tensor): Tensor {
    const [B, T] = ids.shape as [number, number];
    const e = embedding(this.embeddingWeight, ids).reshape([B * T, this.config.embed]);
    const p = this.config.embeddingDropout;
    if (!this.training || p === 0) return e;
    // One draw per vocabulary row (V,1), looked up per position: (B*T,1) broadcast over E.
    const rows = dropout(Tensor.ones([this.config.vocabSize, 1]), p, { seed: this.nextSeed() });
    return mul(e, embedding(rows, ids).reshape([B * T, 1]));
  }

  private checkState(state: RecurrentState, B: number): void {
    const L = this.layers.length;
    const lstm = this.config.cell === 'lstm';
    const ok = (ts: Tensor[] | null): boolean =>
      ts !== null &&
      ts.length === L &&
      ts.every((t, l) => t.rank === 2 && t.shape[0] === B && t.shape[1] === this.layers[l]!.hiddenSize);
    if (!ok(state.h) || (lstm ? !ok(state.c) : state.c !== null && state.c.length > 0)) {
      const shapes = this.layers.map((l) => `[${B},${l.hiddenSize}]`).join(', ');
      throw new RangeError(`RecurrentLM: the state must hold ${L} h${lstm ? ' and c' : ''} tensors of shapes ${shapes} (batch size ${B})`);
    }
  }

  /**
   * ids (B,T) int32 -> logits (B*T, V) (row b*T + t predicts the token after ids[b,t]) and
   * the final state (with its graph; pass it through `detachState` before carrying it).
   * `state` null/undefined starts from zeros.
   */
  forward(ids: Tensor, state?: RecurrentState | null): RecurrentOutput {
    if (ids.dtype !== 'int32' || ids.rank !== 2) {
      throw new RangeError(`RecurrentLM: expected int32 ids of shape [B,T], got ${ids.describe()}`);
    }
    const [B, T] = ids.shape as [number, number];
    if (B === 0 || T === 0) throw new RangeError(`RecurrentLM: empty input ${ids.describe()}`);
    const { cell, dropoutInput, dropoutHidden, dropoutOutput } = this.config;
    const lstm = cell === 'lstm';
    if (state) this.checkState(state, B);
    const hOut: Tensor[] = [];
    const cOut: Tensor[] = [];
    const L = this.layers.length;
    // (B*T, in): the current layer's input sequence, row b*T + t.
    let x = this.lockedDrop(this.drop(this.embedTokens(ids)), B, T, dropoutInput);
    let raw = x;
    for (const [l, layer] of this.layers.entries()) {
      const H = layer.hiddenSize;
      const G = lstm ? 4 * H : H;
      const xproj = add(matmul(x, layer.weightIh, { transB: true }), layer.bias).reshape([B, T, G]);
      const whh = this.hiddenWeight(l);
      // Copies: the caller may dispose the carried state right after this call.
      let h = state ? state.h[l]!.clone() : Tensor.zeros([B, H]);
      let c: Tensor | null = lstm ? (state ? state.c![l]!.clone() : Tensor.zeros([B, H])) : null;
      const steps: Tensor[] = [];
      for (let t = 0; t < T; t++) {
        const pre = add(slice(xproj, 1, t, t + 1).reshape([B, G]), matmul(h, whh, { transB: true }));
        if (lstm) {
          const out = lstmCell(pre, c!);
          h = out.h;
          c = out.c;
        } else {
          h = tanh(pre);
        }
        steps.push(h.reshape([B, 1, H]));
      }
      hOut.push(h);
      if (c) cOut.push(c);
      const seq = steps.length === 1 ? steps[0]! : concat(steps, 1);
      raw = seq.reshape([B * T, H]);
      x = this.lockedDrop(this.drop(raw), B, T, l === L - 1 ? dropoutOutput : dropoutHidden);
    }
    const st = { h: hOut, c: lstm ? cOut : null };
    if (this.adaptive) {
      // The full log-probabilities only when read (training and evaluation use `nll`).
      const parts = this.adaptive;
      let logProbs: Tensor | null = null;
      return {
        get logits(): Tensor {
          return (logProbs ??= adaptiveLogProbs(parts, x));
        },
        state: st,
        output: raw,
        droppedOutput: x,
      };
    }
    const logits = add(matmul(x, this.outputWeight, { transB: true }), this.outputBias);
    return { logits, state: st, output: raw, droppedOutput: x };
  }
}

/** What RecurrentLM.forward returns. */
export interface RecurrentOutput {
  /**
   * (B*T, V): row b*T + t predicts the token after ids[b,t]. With an adaptive softmax, the
   * full log-probabilities (valid logits), computed when first read: read them in the scope of
   * the forward call.
   */
  readonly logits: Tensor;
  /** The final state, with its graph. */
  state: RecurrentState;
  /** (B*T, lastHidden) the last layer's outputs h_t before dropout (row b*T + t). */
  output: Tensor;
  /** (B*T, lastHidden) the same after the output dropout (what the projection reads). */
  droppedOutput: Tensor;
}

/**
 * A locked-dropout mask (B,1,C): every (row, feature) is 0 with probability p, else 1/(1-p);
 * broadcast over the T steps of (B,T,C), so each sequence keeps its mask at every step.
 */
export function lockedDropoutMask(B: number, C: number, p: number, seed: number): Tensor {
  return dropout(Tensor.ones([B, 1, C]), p, { seed });
}

/** Activation regularisation of AWD-LSTM (Merity et al., 2017, section 4.6). */
export interface ActivationPenalty {
  /** AR: alpha * mean(o^2) over the last layer's dropped output. Default 0. */
  ar?: number;
  /** TAR: beta * mean((h_t - h_{t-1})^2) over the last layer's raw output, within the window. Default 0. */
  tar?: number;
}

/**
 * The scalar penalty ar * mean(droppedOutput^2) + tar * mean((h_t - h_{t-1})^2) of a forward
 * over a (B,T) window (differentiable), or null when both coefficients are 0 (or T = 1 for TAR alone).
 */
export function activationPenalty(out: RecurrentOutput, B: number, T: number, p: ActivationPenalty): Tensor | null {
  const ar = p.ar ?? 0;
  const tar = p.tar ?? 0;
  for (const [k, v] of [['ar', ar], ['tar', tar]] as const) {
    if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) throw new RangeError(`activationPenalty: ${k} must be a finite number >= 0, got ${String(v)}`);
  }
  let total: Tensor | null = null;
  if (ar > 0) total = mul(mean(square(out.droppedOutput)), ar);
  if (tar > 0 && T > 1) {
    const H = out.output.shape[1]!;
    const h = out.output.reshape([B, T, H]);
    const t = mul(mean(square(sub(slice(h, 1, 1, T), slice(h, 1, 0, T - 1)))), tar);
    total = total ? add(total, t) : t;
  }
  return total;
}

/**
 * The state without its graph (truncated BPTT: no gradient reaches earlier windows),
 * as views kept out of tidy() scopes: free them with `disposeState` when replaced.
 */
export function detachState(state: RecurrentState): RecurrentState {
  const cut = (ts: Tensor[]): Tensor[] => ts.map((t) => keep(t.detach()));
  return { h: cut(state.h), c: state.c ? cut(state.c) : null };
}

/** Frees a carried state (null/undefined: nothing to do). */
export function disposeState(state: RecurrentState | null | undefined): void {
  if (!state) return;
  for (const t of state.h) t.dispose();
  for (const t of state.c ?? []) t.dispose();
}

export interface RecurrentLossResult {
  /** Mean cross-entropy over the window's B*T tokens (plus the AR/TAR penalty when asked and training). */
  loss: Tensor;
  tokens: number;
  /** The detached final state, to pass with the next window (yours to dispose). */
  state: RecurrentState;
  /** The cross-entropy alone (`loss` without the AR/TAR penalty; the same tensor without one). */
  nll: Tensor;
  /** With a penalty: `nll`, the value a Trainer reports for the step (LossResult.report). */
  report?: Tensor;
  /** The batch's lrScale (random-length BPTT), passed on to the Trainer. */
  lrScale?: number;
}

/**
 * Loss of one BPTT window, starting from `state` (null: zeros). Usable as a Trainer loss
 * function; the carried state is the caller's:
 *
 *   let state: RecurrentState | null = null;
 *   const trainer = new Trainer(model, opt, (b: BpttBatch) => {
 *     const r = recurrentLoss(model, b, state);
 *     disposeState(state); // safe: the forward copied it
 *     state = r.state;
 *     return r;
 *   });
 *
 * Reset it (disposeState + null) at the start of every epoch. `state` is not disposed here.
 */
export function recurrentLoss(
  model: RecurrentLM,
  batch: BpttBatch,
  state: RecurrentState | null = null,
  opts: { reduction?: 'mean' | 'sum' } & ActivationPenalty = {},
): RecurrentLossResult {
  const { batchSize: B, T } = batch;
  const ids = Tensor.fromArray(batch.inputs, [B, T], 'int32');
  const out = model.forward(ids, state);
  const nll = model.nll(out, batch.targets, opts.reduction ?? 'mean');
  // AR/TAR: training only (they regularise the fit; evaluation reports the plain NLL).
  const penalty = model.training ? activationPenalty(out, B, T, opts) : null;
  const loss = penalty ? add(nll, opts.reduction === 'sum' ? mul(penalty, B * T) : penalty) : nll;
  return { loss, tokens: B * T, state: detachState(out.state), nll, ...(penalty ? { report: nll } : {}), ...(batch.lrScale !== undefined ? { lrScale: batch.lrScale } : {}) };
}

/**
 * Mean NLL and perplexity of `ids` read as BPTT windows (state carried from window to
 * window, starting at zeros), in eval mode (no dropout) and without gradients.
 */
/** Perplexity over `ids` in `batchSize` parallel streams; `onProgress(tokens)` after every batch (optional). */
export function evaluateRecurrent(
  model: RecurrentLM,
  ids: Int32Array,
  batchSize: number,
  seqLen: number,
  onProgress?: (tokensDone: number) => void,
): EvalResult {
  const wasTraining = model.training;
  model.eval();
  let state: RecurrentState | null = null;
  let total = 0;
  let tokens = 0;
  try {
    noGrad(() => {
      for (const b of bpttBatches(ids, batchSize, seqLen)) {
        const r = tidy(() => {
          const { loss, tokens: n, state: next } = recurrentLoss(model, b, state, { reduction: 'sum' });
          return { value: loss.item(), n, next };
        });
        disposeState(state);
        state = r.next;
        total += r.value;
        tokens += r.n;
        onProgress?.(tokens);
      }
    });
  } finally {
    disposeState(state);
    model.train(wasTraining);
  }
  const loss = tokens > 0 ? total / tokens : Number.NaN;
  return { loss, ppl: Math.exp(loss), tokens };
}

export { clipGradNorm } from '../optim/clip.js';
