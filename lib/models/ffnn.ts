// The feed-forward neural language model of Bengio et al. (2003):
//   x = [C(w_{t-n+1}); …; C(w_{t-1})]          (concatenated, or summed, context embeddings)
//   y = b + W x + U tanh(d + H x)               (W: optional direct connections; h = 0 drops the tanh layer)
//   P(w_t | context) = softmax(y)
import { add } from '../ops/elementwise.js';
import { tanh } from '../ops/activations.js';
import { sum } from '../ops/reduce.js';
import { Embedding, Linear } from '../nn/layers.js';
import { embeddingInitStd, fillNormal } from '../nn/init.js';
import { Module } from '../nn/module.js';
import { Tensor } from '../tensor.js';

export interface FeedForwardConfig {
  vocabSize: number;
  /** n - 1: how many previous tokens the model sees. */
  context: number;
  /** m: embedding size. */
  embed: number;
  /** h: hidden units (0: no hidden layer, a log-linear model over learned embeddings). */
  hidden: number;
  /** Direct input-to-output connections (W). */
  direct: boolean;
  /** Concatenate (Bengio) or sum the context embeddings. */
  combine?: 'concat' | 'sum';
  seed?: number;
  /**
   * Embedding init U(+-initRange) (lmkit's default before the init study: 0.1). Default: unset,
   * Normal(0, s^2) with s = min(1, 16/sqrt(vocabSize)) (Brown words: 0.135) (lib/nn/init.ts). The Linear layers are
   * U(+-1/sqrt(fan_in)) either way (PyTorch's nn.Linear).
   */
  initRange?: number;
}

export class FeedForwardLM extends Module {
  readonly config: Required<Omit<FeedForwardConfig, 'initRange'>> & Pick<FeedForwardConfig, 'initRange'>;
  readonly embedding: Embedding;
  readonly hiddenLayer: Linear | null;
  readonly outputLayer: Linear | null;
  readonly directLayer: Linear | null;

  constructor(config: FeedForwardConfig) {
    super();
    const c: Required<Omit<FeedForwardConfig, 'initRange'>> & Pick<FeedForwardConfig, 'initRange'> = { combine: 'concat', seed: 1, ...config };
    if (c.initRange === undefined) delete c.initRange;
    else if (!(c.initRange > 0)) throw new RangeError(`FeedForwardLM: initRange must be > 0, got ${c.initRange}`);
    for (const k of ['vocabSize', 'context', 'embed'] as const) {
      if (!Number.isInteger(c[k]) || c[k] < 1) throw new RangeError(`FeedForwardLM: ${k} must be a positive integer, got ${c[k]}`);
    }
    if (!Number.isInteger(c.hidden) || c.hidden < 0) throw new RangeError(`FeedForwardLM: hidden must be >= 0, got ${c.hidden}`);
    if (c.hidden === 0 && !c.direct) throw new RangeError('FeedForwardLM: with hidden = 0 the direct connections are required');
    this.config = c;
    const inDim = c.combine === 'concat' ? c.context * c.embed : c.embed;
    this.embedding = this.module('embedding', new Embedding(c.vocabSize, c.embed, { seed: c.seed, initRange: c.initRange }));
    if (c.initRange === undefined) fillNormal(this.embedding.weight, embeddingInitStd(c.vocabSize, 'feedForward'), c.seed);
    if (c.hidden > 0) {
      this.hiddenLayer = this.module('hidden', new Linear(inDim, c.hidden, { seed: c.seed + 10 }));
      this.outputLayer = this.module('output', new Linear(c.hidden, c.vocabSize, { seed: c.seed + 20, bias: !c.direct }));
    } else {
      this.hiddenLayer = null;
      this.outputLayer = null;
    }
    this.directLayer = c.direct ? this.module('direct', new Linear(inDim, c.vocabSize, { seed: c.seed + 30 })) : null;
  }

  /** ids (B, context) int32 -> logits (B, V). */
  forward(ids: Tensor): Tensor {
    const { context, embed, combine } = this.config;
    if (ids.dtype !== 'int32' || ids.rank !== 2 || ids.shape[1] !== context) {
      throw new RangeError(`FeedForwardLM: expected int32 ids of shape [B,${context}], got ${ids.describe()}`);
    }
    const B = ids.shape[0]!;
    const e = this.embedding.forward(ids); // (B, context, embed)
    const x = combine === 'concat' ? e.reshape([B, context * embed]) : sum(e, 1);
    let y: Tensor | null = null;
    if (this.hiddenLayer && this.outputLayer) y = this.outputLayer.forward(tanh(this.hiddenLayer.forward(x)));
    if (this.directLayer) {
      const d = this.directLayer.forward(x);
      y = y ? add(y, d) : d;
    }
    return y!;
  }
}
