// A causal GPT-style Transformer language model (GPT-2 layout, pre-norm):
//   x = E[ids] + P[0..T)                                 token + learned position embeddings, dropout
//   x = Block_L(... Block_1(x))                          x + attn(ln1(x)); x + mlp(ln2(x))
//   logits = layerNorm_f(x) E^T                          output tied to the token embedding E
// forward(ids (B,T) int32, T <= context) returns logits of shape (B*T, V), row b*T + t being the
// prediction for the token after ids[b, t]: ready for crossEntropy with the targets flattened
// to (B*T).
// Init (GPT-2): every weight matrix and embedding ~ Normal(0, 0.02), biases 0, layer-norm gains 1;
// the residual output projections (attn.proj, mlp.proj) use std 0.02 / sqrt(2 * layers). All
// seeds are derived from config.seed.
// Dropout (config.dropout) is applied to the embeddings and to each residual branch, in training
// mode only. Each training forward uses a fresh mask seed derived from config.seed and a forward
// counter (so a run is reproducible), unless forward() is given one.
import { embedding } from '../ops/embedding.js';
import { dropout } from '../ops/dropout.js';
import { add } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { slice } from '../ops/shape.js';
import { Block, LayerNormModule, deriveSeed } from '../nn/transformer.js';
import { Module } from '../nn/module.js';
import { Tensor } from '../tensor.js';

export interface TransformerConfig {
  vocabSize: number;
  /** Maximum sequence length T (size of the position table). */
  context: number;
  /** Model width C. */
  embed: number;
  /** Attention heads; must divide embed. */
  heads: number;
  /** Number of blocks. */
  layers: number;
  /** Dropout probability in [0, 1). Default 0. */
  dropout?: number;
  seed?: number;
}

export interface TransformerForwardOptions {
  /** Seed of this forward's dropout masks (training mode). Default: derived from config.seed and a counter. */
  seed?: number;
}

export class TransformerLM extends Module {
  readonly config: Required<TransformerConfig>;
  /** Token embedding (V, C), also the output projection (tied). */
  readonly tokenEmbedding: Tensor;
  /** Learned position embedding (context, C). */
  readonly positionEmbedding: Tensor;
  readonly blocks: Block[];
  readonly lnFinal: LayerNormModule;
  /** Training forwards run so far (drives the default dropout seeds). */
  forwardCount = 0;

  constructor(config: TransformerConfig) {
    super();
    const c: Required<TransformerConfig> = { dropout: 0, seed: 1, ...config };
    for (const k of ['vocabSize', 'context', 'embed', 'heads', 'layers'] as const) {
      if (!Number.isInteger(c[k]) || c[k] < 1) {
        throw new RangeError(`TransformerLM: ${k} must be a positive integer, got ${String(c[k])}`);
      }
    }
    if (c.embed % c.heads !== 0) {
      throw new RangeError(`TransformerLM: embed (${c.embed}) must be divisible by heads (${c.heads})`);
    }
    if (typeof c.dropout !== 'number' || !(c.dropout >= 0 && c.dropout < 1)) {
      throw new RangeError(`TransformerLM: dropout must be in [0, 1), got ${String(c.dropout)}`);
    }
    if (!Number.isSafeInteger(c.seed)) throw new RangeError(`TransformerLM: seed must be an integer, got ${String(c.seed)}`);
    this.config = c;
    const std = 0.02;
    const residualStd = std / Math.sqrt(2 * c.layers);
    this.tokenEmbedding = this.param('tokenEmbedding', Tensor.randn([c.vocabSize, c.embed], { std, seed: deriveSeed(c.seed, 1) }));
    this.positionEmbedding = this.param('positionEmbedding', Tensor.randn([c.context, c.embed], { std, seed: deriveSeed(c.seed, 2) }));
    this.blocks = [];
    for (let l = 0; l < c.layers; l++) {
      this.blocks.push(
        this.module(`blocks.${l}`, new Block(c.embed, c.heads, c.dropout, { std, residualStd, seed: deriveSeed(c.seed, 100 + l) })),
      );
    }
    this.lnFinal = this.module('lnFinal', new LayerNormModule(c.embed));
  }

  /** RNG state (resumable checkpoints): the counter behind the dropout seeds. */
  protected override ownRngState(): Record<string, number> {
    return { forwardCount: this.forwardCount };
  }

  protected override setOwnRngState(s: Record<string, number>): void {
    this.forwardCount = s.forwardCount!;
  }

  /** ids (B,T) int32 with 1 <= T <= context -> logits (B*T, V) (row b*T + t predicts ids[b, t+1]). */
  forward(ids: Tensor, opts: TransformerForwardOptions = {}): Tensor {
    const { context, embed, dropout: p } = this.config;
    if (!(ids instanceof Tensor) || ids.dtype !== 'int32' || ids.rank !== 2) {
      throw new TypeError(`TransformerLM: expected int32 ids of shape [B,T], got ${ids instanceof Tensor ? ids.describe() : typeof ids}`);
    }
    const [B, T] = ids.shape as [number, number];
    if (T > context) {
      throw new RangeError(`TransformerLM: sequence length T = ${T} exceeds the model's context (${context})`);
    }
    if (T < 1 || B < 1) throw new RangeError(`TransformerLM: ids ${ids.describe()} are empty`);
    const dropping = this.training && p > 0;
    const seed = dropping ? (opts.seed ?? deriveSeed(this.config.seed, 0x5eed, this.forwardCount++)) : undefined;

    let x = add(embedding(this.tokenEmbedding, ids), slice(this.positionEmbedding, 0, 0, T)); // (B,T,C)
    if (dropping) x = dropout(x, p, { seed: deriveSeed(seed!, 0), training: true });
    this.blocks.forEach((block, l) => {
      x = block.forward(x, seed === undefined ? undefined : deriveSeed(seed, l + 1));
    });
    const h = this.lnFinal.forward(x).reshape([B * T, embed]);
    const logits = matmul(h, this.tokenEmbedding, { transB: true }); // (B*T, V)
    return logits;
  }
}
