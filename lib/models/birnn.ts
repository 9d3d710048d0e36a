// Bidirectional recurrent encoder (Elman RNN or LSTM) for sequence tagging
// (Graves & Schmidhuber, 2005; Huang, Xu & Yu, 2015 without the CRF):
//
//   x_t = dropout(E[w_t])
//   per layer: f_t = cell_f(x_t, f_{t-1})           left to right
//              b_t = cell_b(x_t, b_{t+1})           right to left, within the true length
//              x_t = dropout([f_t ; b_t])           (B*T, 2H), the next layer's input
//   logits_t = x_t W_out^T + b_out                  (B*T, numTags)
//
// Padding: batches are right-padded (row b holds lengths[b] real tokens, then padding). The
// forward direction needs nothing: padding comes after every real token. The backward
// direction runs, for row b, over the sequence reversed WITHIN its length:
//   position t  <-  t' = len_b - 1 - t  for t < len_b,  t  otherwise (padding stays last),
// an involution applied to the (B*T, D) rows with a row gather (the `embedding` op on the
// activations, differentiable), then the same left-to-right loop, then gathered back. So
// every real position depends only on real positions in both directions, and the logits of
// the real tokens are exactly those of the unpadded sentence (the test checks it). The
// padded positions get some logits; the loss ignores them (targets -100).
import { noGrad } from '../autograd.js';
import { tanh } from '../ops/activations.js';
import { crossEntropy } from '../ops/crossentropy.js';
import { dropout } from '../ops/dropout.js';
import { add } from '../ops/elementwise.js';
import { embedding } from '../ops/embedding.js';
import { lstmCell } from '../ops/lstm.js';
import { matmul } from '../ops/matmul.js';
import { argmax } from '../ops/reduce.js';
import { concat, slice } from '../ops/shape.js';
import type { PosBatch } from '../data/pos.js';
import { Module, uniformInit } from '../nn/module.js';
import { Tensor, tidy } from '../tensor.js';
import { RecurrentLayer, type RecurrentCell } from './rnn.js';

export interface BiRecurrentConfig {
  vocabSize: number;
  numTags: number;
  cell: RecurrentCell;
  /** Embedding size. */
  embed: number;
  /** Hidden units per direction and layer (the encoder output has 2 * hidden). */
  hidden: number;
  /** Stacked bidirectional layers (>= 1). Default 1. */
  layers?: number;
  /** Dropout probability in [0, 1) on the embeddings and on every layer's output. Default 0. */
  dropout?: number;
  /** Seed of the initial weights and the dropout masks. Default 1. */
  seed?: number;
  /** Initial weights uniform in [-initRange, initRange]. Default 0.1. */
  initRange?: number;
}

function checkPositiveInt(what: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`BiRecurrentTagger: ${what} must be a positive integer, got ${String(v)}`);
  }
}

/** The row permutation reversing each row of a (B,T) batch within its length (an involution). */
export function reverseWithinLengths(lengths: ArrayLike<number>, T: number): Int32Array {
  const B = lengths.length;
  const perm = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = lengths[b]!;
    for (let t = 0; t < T; t++) perm[b * T + t] = b * T + (t < len ? len - 1 - t : t);
  }
  return perm;
}

export class BiRecurrentTagger extends Module {
  readonly config: Required<BiRecurrentConfig>;
  readonly embeddingWeight: Tensor;
  readonly forwardLayers: RecurrentLayer[] = [];
  readonly backwardLayers: RecurrentLayer[] = [];
  readonly outputWeight: Tensor;
  readonly outputBias: Tensor;
  private dropoutCalls = 0;

  constructor(config: BiRecurrentConfig) {
    super();
    const c: Required<BiRecurrentConfig> = { layers: 1, dropout: 0, seed: 1, initRange: 0.1, ...config };
    if (c.cell !== 'rnn' && c.cell !== 'lstm') {
      throw new RangeError(`BiRecurrentTagger: cell must be 'rnn' or 'lstm', got '${String(c.cell)}'`);
    }
    for (const k of ['vocabSize', 'numTags', 'embed', 'hidden', 'layers'] as const) checkPositiveInt(k, c[k]);
    if (typeof c.dropout !== 'number' || !(c.dropout >= 0 && c.dropout < 1)) {
      throw new RangeError(`BiRecurrentTagger: dropout must be in [0, 1), got ${String(c.dropout)}`);
    }
    if (!Number.isSafeInteger(c.seed)) throw new RangeError(`BiRecurrentTagger: seed must be an integer, got ${c.seed}`);
    if (typeof c.initRange !== 'number' || !(c.initRange > 0)) {
      throw new RangeError(`BiRecurrentTagger: initRange must be > 0, got ${c.initRange}`);
    }
    this.config = c;
    const r = c.initRange;
    this.embeddingWeight = this.param('embedding', uniformInit([c.vocabSize, c.embed], r, c.seed));
    for (let l = 0; l < c.layers; l++) {
      const inSize = l === 0 ? c.embed : 2 * c.hidden;
      const s = c.seed + 100 * (l + 1);
      this.forwardLayers.push(this.module(`fwd${l}`, new RecurrentLayer(c.cell, inSize, c.hidden, r, s)));
      this.backwardLayers.push(this.module(`bwd${l}`, new RecurrentLayer(c.cell, inSize, c.hidden, r, s + 50)));
    }
    this.outputWeight = this.param('outputWeight', uniformInit([c.numTags, 2 * c.hidden], r, c.seed + 7));
    this.outputBias = this.param('outputBias', uniformInit([c.numTags], r, c.seed + 8));
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
    const seed = (this.config.seed % 1_000_000) * 1_000_000_000 + this.dropoutCalls++;
    return dropout(x, p, { seed });
  }

  /** One direction, left to right over the rows of x (B*T, in) read as (B,T,in) -> (B*T, H). */
  private scan(layer: RecurrentLayer, x: Tensor, B: number, T: number): Tensor {
    const { hidden: H, cell } = this.config;
    const lstm = cell === 'lstm';
    const G = lstm ? 4 * H : H;
    const xproj = add(matmul(x, layer.weightIh, { transB: true }), layer.bias).reshape([B, T, G]);
    let h: Tensor | null = null;
    let c: Tensor | null = null;
    const steps: Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const xt = slice(xproj, 1, t, t + 1).reshape([B, G]);
      // h_{-1} = 0: the first step has no recurrent term.
      const pre = h ? add(xt, matmul(h, layer.weightHh, { transB: true })) : xt;
      if (lstm) {
        const out = lstmCell(pre, c ?? Tensor.zeros([B, H]));
        h = out.h;
        c = out.c;
      } else {
        h = tanh(pre);
      }
      steps.push(h.reshape([B, 1, H]));
    }
    return (steps.length === 1 ? steps[0]! : concat(steps, 1)).reshape([B * T, H]);
  }

  /**
   * ids (B,T) int32, right-padded; lengths[b] = real tokens of row b (1..T; default all T)
   * -> logits (B*T, numTags), row b*T + t for token t of row b.
   */
  forward(ids: Tensor, lengths?: ArrayLike<number> | null): Tensor {
    if (!(ids instanceof Tensor) || ids.dtype !== 'int32' || ids.rank !== 2) {
      throw new RangeError(`BiRecurrentTagger: expected int32 ids of shape [B,T], got ${ids instanceof Tensor ? ids.describe() : String(ids)}`);
    }
    const [B, T] = ids.shape as [number, number];
    if (B === 0 || T === 0) throw new RangeError(`BiRecurrentTagger: empty input ${ids.describe()}`);
    const lens = lengths ?? new Int32Array(B).fill(T);
    if (lens.length !== B) {
      throw new RangeError(`BiRecurrentTagger: lengths has ${lens.length} entries for a batch of ${B}`);
    }
    for (let b = 0; b < B; b++) {
      const len = lens[b]!;
      if (!Number.isInteger(len) || len < 1 || len > T) {
        throw new RangeError(`BiRecurrentTagger: lengths[${b}] = ${len} is not in [1, ${T}]`);
      }
    }
    const perm = Tensor.fromArray(reverseWithinLengths(lens, T), [B * T], 'int32');
    let x = this.drop(embedding(this.embeddingWeight, ids).reshape([B * T, this.config.embed]));
    for (let l = 0; l < this.forwardLayers.length; l++) {
      const f = this.scan(this.forwardLayers[l]!, x, B, T);
      const rb = this.scan(this.backwardLayers[l]!, embedding(x, perm), B, T);
      const b = embedding(rb, perm);
      x = this.drop(concat([f, b], 1));
    }
    return add(matmul(x, this.outputWeight, { transB: true }), this.outputBias);
  }
}

/** Mean cross-entropy over the real tokens of a batch (padding ignored); usable as a Trainer loss. */
export function taggerLoss(
  model: BiRecurrentTagger,
  batch: PosBatch,
  opts: { reduction?: 'mean' | 'sum' } = {},
): { loss: Tensor; tokens: number } {
  const { batchSize: B, T } = batch;
  const ids = Tensor.fromArray(batch.ids, [B, T], 'int32');
  const tags = Tensor.fromArray(batch.tags, [B * T], 'int32');
  const logits = model.forward(ids, batch.lengths);
  const loss = crossEntropy(logits, tags, { reduction: opts.reduction ?? 'mean', ignoreIndex: -100 });
  return { loss, tokens: batch.tokens };
}

/** Predicted tag ids (B*T; padded positions included) of a batch, in eval mode, without gradients. */
export function predictTags(model: BiRecurrentTagger, batch: PosBatch): Int32Array {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() =>
      tidy(() => {
        const ids = Tensor.fromArray(batch.ids, [batch.batchSize, batch.T], 'int32');
        return argmax(model.forward(ids, batch.lengths), 1).toArray() as Int32Array;
      }),
    );
  } finally {
    model.train(wasTraining);
  }
}

export interface TaggerEvalResult {
  /** Correct / tokens over the real (non-padded) tokens. */
  accuracy: number;
  correct: number;
  tokens: number;
}

/** Tagging accuracy over the real tokens of the batches (eval mode, no gradients). */
export function evaluateTagger(model: BiRecurrentTagger, batches: Iterable<PosBatch>): TaggerEvalResult {
  let correct = 0;
  let tokens = 0;
  for (const batch of batches) {
    const pred = predictTags(model, batch);
    for (let i = 0; i < pred.length; i++) {
      const tag = batch.tags[i]!;
      if (tag === -100) continue;
      tokens++;
      if (pred[i] === tag) correct++;
    }
  }
  return { accuracy: tokens > 0 ? correct / tokens : Number.NaN, correct, tokens };
}
