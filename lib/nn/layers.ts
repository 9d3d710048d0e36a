// Basic layers: Linear and Embedding.
import { embedding } from '../ops/embedding.js';
import { linear } from '../ops/matmul.js';
import { Tensor } from '../tensor.js';
import { Module, uniformInit } from './module.js';

export interface LinearOptions {
  bias?: boolean;
  seed?: number;
  /** Initial values uniform in [-initRange, initRange]; default 1/sqrt(inFeatures). */
  initRange?: number;
}

/** y = x W^T + b, with W (out, in). Works on any leading dimensions of x. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    const bound = opts.initRange ?? 1 / Math.sqrt(Math.max(1, inFeatures));
    const seed = opts.seed ?? 1;
    this.weight = this.param('weight', uniformInit([outFeatures, inFeatures], bound, seed));
    this.bias = opts.bias === false ? null : this.param('bias', uniformInit([outFeatures], bound, seed + 1));
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export interface EmbeddingOptions {
  seed?: number;
  initRange?: number;
}

/** A table (V, C) of learned vectors, looked up by int32 ids. */
export class Embedding extends Module {
  readonly weight: Tensor;

  constructor(
    readonly numEmbeddings: number,
    readonly dim: number,
    opts: EmbeddingOptions = {},
  ) {
    super();
    this.weight = this.param('weight', uniformInit([numEmbeddings, dim], opts.initRange ?? 0.1, opts.seed ?? 1));
  }

  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}
