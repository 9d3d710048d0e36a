// A masked language model (BERT objective): a bidirectional Transformer encoder, pre-norm.
//   x = E[ids] + P[0..T)                         token (V+1 rows: id V is [MASK]) + learned positions
//   x = Block_L(... Block_1(x)), causal = false  x + attn(ln1(x)) (NOT causal: every position sees
//                                                every other one); x + mlp(ln2(x))
//   logits = layerNorm_f(x) E[0..V)^T + b        (B*T, V): tied to the real-token rows of E
// Training: inputs/targets from maskBatch (lib/data/masking.ts); the loss is crossEntropy over the
// (B*T) rows with targets -100 off the selected positions. The blocks are lib/nn/transformer.ts's,
// with causal = false.
// Init as TransformerLM (GPT-2): weights ~ Normal(0, 0.02), residual projections 0.02/sqrt(2L).
import { crossEntropy } from '../ops/crossentropy.js';
import { dropout } from '../ops/dropout.js';
import { embedding } from '../ops/embedding.js';
import { add } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { slice } from '../ops/shape.js';
import { noGrad } from '../autograd.js';
import { Module } from '../nn/module.js';
import { Block, LayerNormModule, deriveSeed } from '../nn/transformer.js';
import { maskBatch } from '../data/masking.js';
import type { MaskOptions } from '../data/masking.js';
import { Tensor, tidy } from '../tensor.js';

export interface MaskedLMConfig {
  /** Real tokens; the model also embeds the mask id = vocabSize. */
  vocabSize: number;
  /** Maximum sequence length T. */
  context: number;
  embed: number;
  heads: number;
  layers: number;
  /** Dropout in [0, 1) on the embeddings and the residual branches (training mode). Default 0. */
  dropout?: number;
  seed?: number;
}

export class MaskedLM extends Module {
  readonly config: Required<MaskedLMConfig>;
  /** The [MASK] id (= vocabSize). */
  readonly maskId: number;
  /** Token embedding (V+1, C); rows 0..V-1 are also the output projection. */
  readonly tokenEmbedding: Tensor;
  readonly positionEmbedding: Tensor;
  readonly blocks: Block[];
  readonly lnFinal: LayerNormModule;
  /** Output bias (V). */
  readonly outputBias: Tensor;
  forwardCount = 0;

  constructor(config: MaskedLMConfig) {
    super();
    if (config === null || typeof config !== 'object') throw new TypeError('MaskedLM: config must be an object');
    const c: Required<MaskedLMConfig> = { dropout: 0, seed: 1, ...config };
    for (const k of ['vocabSize', 'context', 'embed', 'heads', 'layers'] as const) {
      if (typeof c[k] !== 'number' || !Number.isInteger(c[k]) || c[k] < 1) {
        throw new RangeError(`MaskedLM: ${k} must be a positive integer, got ${String(c[k])}`);
      }
    }
    if (c.vocabSize >= 2147483647) throw new RangeError(`MaskedLM: vocabSize must be < 2^31 - 1, got ${c.vocabSize}`);
    if (c.embed % c.heads !== 0) throw new RangeError(`MaskedLM: embed (${c.embed}) must be divisible by heads (${c.heads})`);
    if (typeof c.dropout !== 'number' || !(c.dropout >= 0 && c.dropout < 1)) {
      throw new RangeError(`MaskedLM: dropout must be in [0, 1), got ${String(c.dropout)}`);
    }
    if (!Number.isSafeInteger(c.seed)) throw new RangeError(`MaskedLM: seed must be an integer, got ${String(c.seed)}`);
    this.config = c;
    this.maskId = c.vocabSize;
    const std = 0.02;
    const residualStd = std / Math.sqrt(2 * c.layers);
    this.tokenEmbedding = this.param('tokenEmbedding', Tensor.randn([c.vocabSize + 1, c.embed], { std, seed: deriveSeed(c.seed, 1) }));
    this.positionEmbedding = this.param('positionEmbedding', Tensor.randn([c.context, c.embed], { std, seed: deriveSeed(c.seed, 2) }));
    this.blocks = [];
    for (let l = 0; l < c.layers; l++) {
      this.blocks.push(
        this.module(`blocks.${l}`, new Block(c.embed, c.heads, c.dropout, { std, residualStd, seed: deriveSeed(c.seed, 100 + l) }, false)),
      );
    }
    this.lnFinal = this.module('lnFinal', new LayerNormModule(c.embed));
    this.outputBias = this.param('outputBias', Tensor.zeros([c.vocabSize]));
  }

  /** ids (B,T) int32 in [0, vocabSize] (vocabSize = [MASK]), T <= context -> logits (B*T, vocabSize); row b*T+t is about position t. */
  /** RNG state (resumable checkpoints): the counter behind the dropout seeds. */
  protected override ownRngState(): Record<string, number> {
    return { forwardCount: this.forwardCount };
  }

  protected override setOwnRngState(s: Record<string, number>): void {
    this.forwardCount = s.forwardCount!;
  }

  forward(ids: Tensor, opts: { seed?: number } = {}): Tensor {
    const { context, embed, dropout: p, vocabSize } = this.config;
    if (!(ids instanceof Tensor) || ids.dtype !== 'int32' || ids.rank !== 2) {
      throw new TypeError(`MaskedLM: expected int32 ids of shape [B,T], got ${ids instanceof Tensor ? ids.describe() : typeof ids}`);
    }
    const [B, T] = ids.shape as [number, number];
    if (T > context) throw new RangeError(`MaskedLM: sequence length T = ${T} exceeds the model's context (${context})`);
    if (T < 1 || B < 1) throw new RangeError(`MaskedLM: ids ${ids.describe()} are empty`);
    const dropping = this.training && p > 0;
    const seed = dropping ? (opts.seed ?? deriveSeed(this.config.seed, 0x5eed, this.forwardCount++)) : undefined;

    let x = add(embedding(this.tokenEmbedding, ids), slice(this.positionEmbedding, 0, 0, T));
    if (dropping) x = dropout(x, p, { seed: deriveSeed(seed!, 0), training: true });
    this.blocks.forEach((block, l) => {
      x = block.forward(x, seed === undefined ? undefined : deriveSeed(seed, l + 1));
    });
    const h = this.lnFinal.forward(x).reshape([B * T, embed]);
    const out = slice(this.tokenEmbedding, 0, 0, vocabSize); // (V, C): the real tokens
    return add(matmul(h, out, { transB: true }), this.outputBias);
  }
}

export interface MaskedEvaluation {
  /** Mean NLL over the selected (masked) positions. */
  loss: number;
  /** exp(loss): masked-token perplexity. */
  ppl: number;
  /** Selected positions scored. */
  tokens: number;
}

/**
 * Masked-token perplexity on a token stream: every non-overlapping window of T tokens, in batches
 * of up to B windows, masked with maskBatch (batch i uses seed deriveSeed(seed, i), so the masks
 * are the same on every call); exp of the mean NLL over the selected positions only. Runs in eval
 * mode without gradients and restores the model's mode.
 */
export function evaluateMasked(
  model: MaskedLM,
  ids: Int32Array,
  B: number,
  T: number,
  seed = 0,
  maskOpts: Omit<MaskOptions, 'seed' | 'vocabSize' | 'maskId'> = {},
  /** Called after every batch with the tokens of `ids` read so far (optional). */
  onProgress?: (tokensDone: number) => void,
): MaskedEvaluation {
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`evaluateMasked: B must be a positive integer, got ${B}`);
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`evaluateMasked: T must be a positive integer, got ${T}`);
  if (T > model.config.context) throw new RangeError(`evaluateMasked: T = ${T} exceeds the model's context (${model.config.context})`);
  const windows = Math.floor(ids.length / T);
  if (windows < 1) throw new RangeError(`evaluateMasked: the stream (${ids.length} tokens) is shorter than one window of ${T}`);
  const wasTraining = model.training;
  model.eval();
  let total = 0;
  let tokens = 0;
  try {
    noGrad(() => {
      for (let w = 0, i = 0; w < windows; w += B, i++) {
        const nb = Math.min(B, windows - w);
        const m = maskBatch(ids.subarray(w * T, (w + nb) * T), {
          ...maskOpts,
          vocabSize: model.config.vocabSize,
          maskId: model.maskId,
          seed: deriveSeed(seed, i),
        });
        onProgress?.((w + nb) * T);
        if (m.selected === 0) continue;
        tidy(() => {
          const logits = model.forward(Tensor.fromArray(m.inputs, [nb, T], 'int32'));
          const loss = crossEntropy(logits, Tensor.fromArray(m.targets, [nb * T], 'int32'), { reduction: 'sum', ignoreIndex: maskOpts.ignoreIndex ?? -100 });
          total += loss.item();
        });
        tokens += m.selected;
      }
    });
  } finally {
    model.train(wasTraining);
  }
  const loss = tokens > 0 ? total / tokens : Number.NaN;
  return { loss, ppl: Math.exp(loss), tokens };
}
