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
// State and truncated BPTT: `forward` returns the final state of the window WITH its
// graph; `detachState` cuts it (no gradient flows into previous windows) and makes it
// survive tidy() scopes. The state you pass to `forward` is copied at the start, so it
// may be disposed (`disposeState`) as soon as the call returns.
import { noGrad } from '../autograd.js';
import { tanh } from '../ops/activations.js';
import { crossEntropy } from '../ops/crossentropy.js';
import { dropout } from '../ops/dropout.js';
import { add } from '../ops/elementwise.js';
import { embedding } from '../ops/embedding.js';
import { lstmCell } from '../ops/lstm.js';
import { matmul } from '../ops/matmul.js';
import { concat, slice } from '../ops/shape.js';
import { bpttBatches, type BpttBatch } from '../data/bptt.js';
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
}

// Default init (no initRange; bench/scripts/init-study.mjs, lib/nn/init.ts):
//   W_ih, W_hh, b, W_out, b_out ~ U(+-1/sqrt(H)) (PyTorch's nn.RNN / nn.LSTM / nn.Linear);
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
  readonly config: Required<Omit<RecurrentConfig, 'initRange'>> & Pick<RecurrentConfig, 'initRange'>;
  readonly embeddingWeight: Tensor;
  readonly layers: RecurrentLayer[] = [];
  /** The output projection (V,H): the embedding matrix itself when tied. */
  readonly outputWeight: Tensor;
  readonly outputBias: Tensor;
  private dropoutCalls = 0;

  constructor(config: RecurrentConfig) {
    super();
    const c: Required<Omit<RecurrentConfig, 'initRange'>> & Pick<RecurrentConfig, 'initRange'> = { dropout: 0, tieWeights: false, seed: 1, ...config };
    if (c.initRange === undefined) delete c.initRange;
    if (c.cell !== 'rnn' && c.cell !== 'lstm') {
      throw new RangeError(`RecurrentLM: cell must be 'rnn' or 'lstm', got '${String(c.cell)}'`);
    }
    for (const k of ['vocabSize', 'embed', 'hidden', 'layers'] as const) checkPositiveInt(k, c[k]);
    if (typeof c.dropout !== 'number' || !(c.dropout >= 0 && c.dropout < 1)) {
      throw new RangeError(`RecurrentLM: dropout must be in [0, 1), got ${String(c.dropout)}`);
    }
    if (c.tieWeights && c.embed !== c.hidden) {
      throw new RangeError(`RecurrentLM: tieWeights requires embed == hidden, got embed ${c.embed}, hidden ${c.hidden}`);
    }
    if (!Number.isSafeInteger(c.seed)) throw new RangeError(`RecurrentLM: seed must be an integer, got ${c.seed}`);
    if (c.initRange !== undefined && !(c.initRange > 0)) throw new RangeError(`RecurrentLM: initRange must be > 0, got ${c.initRange}`);
    this.config = c;
    // initRange given: everything U(+-initRange); else the scaled default (see above).
    const r = c.initRange ?? 1 / Math.sqrt(c.hidden);
    const embedStd = embeddingInitStd(c.vocabSize, 'recurrent');
    this.embeddingWeight = this.param(
      'embedding',
      c.initRange !== undefined ? uniformInit([c.vocabSize, c.embed], r, c.seed) : normalInit([c.vocabSize, c.embed], embedStd, c.seed),
    );
    for (let l = 0; l < c.layers; l++) {
      const inSize = l === 0 ? c.embed : c.hidden;
      this.layers.push(this.module(`layer${l}`, new RecurrentLayer(c.cell, inSize, c.hidden, r, c.seed + 100 * (l + 1))));
    }
    this.outputWeight = c.tieWeights
      ? this.embeddingWeight
      : this.param('outputWeight', uniformInit([c.vocabSize, c.hidden], r, c.seed + 7));
    this.outputBias = this.param('outputBias', uniformInit([c.vocabSize], r, c.seed + 8));
  }

  /** A zero state for batch size B (kept: dispose it with disposeState). */
  initState(B: number): RecurrentState {
    checkPositiveInt('batch size', B);
    const H = this.config.hidden;
    const zeros = (): Tensor[] => this.layers.map(() => keep(Tensor.zeros([B, H])));
    return { h: zeros(), c: this.config.cell === 'lstm' ? zeros() : null };
  }

  /** RNG state (resumable checkpoints): the counter behind the dropout seeds. */
  protected override ownRngState(): Record<string, number> {
    return { dropoutCalls: this.dropoutCalls };
  }

  protected override setOwnRngState(s: Record<string, number>): void {
    this.dropoutCalls = s.dropoutCalls!;
  }

  private drop(x: Tensor): Tensor {
    const p = this.config.dropout;
    if (!this.training || p === 0) return x;
    // A fresh, reproducible seed per call (model seed, call counter).
    const seed = (this.config.seed % 1_000_000) * 1_000_000_000 + this.dropoutCalls++;
    return dropout(x, p, { seed });
  }

  private checkState(state: RecurrentState, B: number): void {
    const H = this.config.hidden;
    const L = this.layers.length;
    const lstm = this.config.cell === 'lstm';
    const ok = (ts: Tensor[] | null): boolean =>
      ts !== null && ts.length === L && ts.every((t) => t.rank === 2 && t.shape[0] === B && t.shape[1] === H);
    if (!ok(state.h) || (lstm ? !ok(state.c) : state.c !== null && state.c.length > 0)) {
      throw new RangeError(
        `RecurrentLM: the state must hold ${L} h${lstm ? ' and c' : ''} tensors of shape [${B},${H}] (batch size ${B})`,
      );
    }
  }

  /**
   * ids (B,T) int32 -> logits (B*T, V) (row b*T + t predicts the token after ids[b,t]) and
   * the final state (with its graph; pass it through `detachState` before carrying it).
   * `state` null/undefined starts from zeros.
   */
  forward(ids: Tensor, state?: RecurrentState | null): { logits: Tensor; state: RecurrentState } {
    if (ids.dtype !== 'int32' || ids.rank !== 2) {
      throw new RangeError(`RecurrentLM: expected int32 ids of shape [B,T], got ${ids.describe()}`);
    }
    const [B, T] = ids.shape as [number, number];
    if (B === 0 || T === 0) throw new RangeError(`RecurrentLM: empty input ${ids.describe()}`);
    const { hidden: H, cell } = this.config;
    const lstm = cell === 'lstm';
    if (state) this.checkState(state, B);
    const hOut: Tensor[] = [];
    const cOut: Tensor[] = [];
    // (B*T, in): the current layer's input sequence, row b*T + t.
    let x = this.drop(embedding(this.embeddingWeight, ids).reshape([B * T, this.config.embed]));
    for (const [l, layer] of this.layers.entries()) {
      const G = lstm ? 4 * H : H;
      const xproj = add(matmul(x, layer.weightIh, { transB: true }), layer.bias).reshape([B, T, G]);
      // Copies: the caller may dispose the carried state right after this call.
      let h = state ? state.h[l]!.clone() : Tensor.zeros([B, H]);
      let c: Tensor | null = lstm ? (state ? state.c![l]!.clone() : Tensor.zeros([B, H])) : null;
      const steps: Tensor[] = [];
      for (let t = 0; t < T; t++) {
        const pre = add(slice(xproj, 1, t, t + 1).reshape([B, G]), matmul(h, layer.weightHh, { transB: true }));
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
      x = this.drop(seq.reshape([B * T, H]));
    }
    const logits = add(matmul(x, this.outputWeight, { transB: true }), this.outputBias);
    return { logits, state: { h: hOut, c: lstm ? cOut : null } };
  }
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
  /** Mean cross-entropy over the window's B*T tokens. */
  loss: Tensor;
  tokens: number;
  /** The detached final state, to pass with the next window (yours to dispose). */
  state: RecurrentState;
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
  opts: { reduction?: 'mean' | 'sum' } = {},
): RecurrentLossResult {
  const { batchSize: B, T } = batch;
  const ids = Tensor.fromArray(batch.inputs, [B, T], 'int32');
  const targets = Tensor.fromArray(batch.targets, [B * T], 'int32');
  const out = model.forward(ids, state);
  const loss = crossEntropy(out.logits, targets, { reduction: opts.reduction ?? 'mean' });
  return { loss, tokens: B * T, state: detachState(out.state) };
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
