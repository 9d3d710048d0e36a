// Transformer building blocks (GPT-2 style, pre-norm):
//   LayerNormModule       y = layerNorm(x, weight, bias)                      over the last axis
//   MultiHeadAttention    causal self-attention: one fused qkv Linear C->3C, split into q, k, v,
//                         the native attention op (heads, causal), an output projection C->C and
//                         residual dropout
//   MLP                   Linear C->4C, gelu, Linear 4C->C, residual dropout
//   Block                 x + attn(ln1(x)), then x + mlp(ln2(x))
// All of them take x (B,T,C) float32. Dropout needs a seed in training mode: forward() takes one
// (the model derives a fresh one per step and per dropout site); in eval mode, or with p = 0, it is
// never used. There is no dropout on the attention probabilities (the fused attention op has none).
import { gelu } from '../ops/activations.js';
import { dropout } from '../ops/dropout.js';
import { add } from '../ops/elementwise.js';
import { layerNorm } from '../ops/norm.js';
import { split } from '../ops/shape.js';
import { attention } from '../ops/attention.js';
import { Tensor } from '../tensor.js';
import { fillNormal } from './init.js';
import { Linear } from './layers.js';
import { Module } from './module.js';

/** A 32-bit seed mixed from a base seed and a list of integers (deterministic, well spread). */
export function deriveSeed(base: number, ...parts: number[]): number {
  let h = (Math.trunc(base) ^ 0x9e3779b9) >>> 0;
  for (const p of parts) {
    h = Math.imul(h ^ (Math.trunc(p) >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/** Overwrites t with Normal(0, std) samples (seeded): lib/nn/init.ts's fillNormal. */
export const initNormal: (t: Tensor, std: number, seed: number) => void = fillNormal;

/** A Linear layer with GPT-2 init: weight ~ Normal(0, std), bias = 0. */
function normalLinear(inF: number, outF: number, std: number, seed: number): Linear {
  const l = new Linear(inF, outF, { seed });
  initNormal(l.weight, std, seed);
  l.bias?.storage.fill(0);
  return l;
}

export interface TransformerInit {
  /** Std of the normal init of every weight matrix. Default 0.02. */
  std?: number;
  /** Std of the residual output projections (attn.proj, mlp.proj). Default: std (the model scales it by 1/sqrt(2*layers)). */
  residualStd?: number;
  seed?: number;
}

/** LayerNorm over the last axis with a learned gain (ones) and bias (zeros). */
export class LayerNormModule extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(
    readonly dim: number,
    readonly eps = 1e-5,
  ) {
    super();
    if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`LayerNormModule: dim must be a positive integer, got ${dim}`);
    this.weight = this.param('weight', Tensor.ones([dim]));
    this.bias = this.param('bias', Tensor.zeros([dim]));
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

function checkDims(who: string, embed: number, heads: number, dropoutP: number): void {
  if (!Number.isInteger(embed) || embed < 1) throw new RangeError(`${who}: embed must be a positive integer, got ${embed}`);
  if (!Number.isInteger(heads) || heads < 1) throw new RangeError(`${who}: heads must be a positive integer, got ${heads}`);
  if (embed % heads !== 0) {
    throw new RangeError(`${who}: embed (${embed}) must be divisible by heads (${heads})`);
  }
  if (typeof dropoutP !== 'number' || !(dropoutP >= 0 && dropoutP < 1)) {
    throw new RangeError(`${who}: dropout must be in [0, 1), got ${dropoutP}`);
  }
}

function residualDropout(m: Module, x: Tensor, p: number, seed: number | undefined): Tensor {
  if (!m.training || p === 0) return x;
  if (seed === undefined) throw new TypeError('dropout is on (training mode, p > 0): forward() needs a seed');
  return dropout(x, p, { seed, training: true });
}

/** Multi-head self-attention over x (B,T,C): causal (decoder) by default, or bidirectional (encoder). */
export class MultiHeadAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;

  constructor(
    readonly embed: number,
    readonly heads: number,
    readonly dropoutP = 0,
    init: TransformerInit = {},
    readonly causal = true,
  ) {
    super();
    checkDims('MultiHeadAttention', embed, heads, dropoutP);
    const std = init.std ?? 0.02;
    const seed = init.seed ?? 1;
    this.qkv = this.module('qkv', normalLinear(embed, 3 * embed, std, deriveSeed(seed, 1)));
    this.proj = this.module('proj', normalLinear(embed, embed, init.residualStd ?? std, deriveSeed(seed, 2)));
  }

  forward(x: Tensor, seed?: number): Tensor {
    const C = this.embed;
    if (x.rank !== 3 || x.shape[2] !== C) {
      throw new RangeError(`MultiHeadAttention: expected x of shape [B,T,${C}], got ${x.describe()}`);
    }
    const [q, k, v] = split(this.qkv.forward(x), -1, [C, C, C]) as [Tensor, Tensor, Tensor];
    const y = attention(q, k, v, { heads: this.heads, causal: this.causal });
    return residualDropout(this, this.proj.forward(y), this.dropoutP, seed);
  }
}

/** Position-wise feed-forward: Linear C->4C, gelu, Linear 4C->C, dropout. */
export class MLP extends Module {
  readonly fc: Linear;
  readonly proj: Linear;

  constructor(
    readonly embed: number,
    readonly dropoutP = 0,
    init: TransformerInit = {},
  ) {
    super();
    checkDims('MLP', embed, 1, dropoutP);
    const std = init.std ?? 0.02;
    const seed = init.seed ?? 1;
    this.fc = this.module('fc', normalLinear(embed, 4 * embed, std, deriveSeed(seed, 3)));
    this.proj = this.module('proj', normalLinear(4 * embed, embed, init.residualStd ?? std, deriveSeed(seed, 4)));
  }

  forward(x: Tensor, seed?: number): Tensor {
    return residualDropout(this, this.proj.forward(gelu(this.fc.forward(x))), this.dropoutP, seed);
  }
}

/** Pre-norm transformer block: x + attn(ln1(x)); x + mlp(ln2(x)). Causal unless `causal` is false. */
export class Block extends Module {
  readonly ln1: LayerNormModule;
  readonly attn: MultiHeadAttention;
  readonly ln2: LayerNormModule;
  readonly mlp: MLP;

  constructor(
    readonly embed: number,
    readonly heads: number,
    readonly dropoutP = 0,
    init: TransformerInit = {},
    readonly causal = true,
  ) {
    super();
    checkDims('Block', embed, heads, dropoutP);
    const seed = init.seed ?? 1;
    this.ln1 = this.module('ln1', new LayerNormModule(embed));
    this.attn = this.module('attn', new MultiHeadAttention(embed, heads, dropoutP, { ...init, seed: deriveSeed(seed, 10) }, causal));
    this.ln2 = this.module('ln2', new LayerNormModule(embed));
    this.mlp = this.module('mlp', new MLP(embed, dropoutP, { ...init, seed: deriveSeed(seed, 20) }));
  }

  /** x (B,T,C) -> (B,T,C). `seed` drives the dropout masks (needed in training mode with p > 0). */
  forward(x: Tensor, seed?: number): Tensor {
    const s1 = seed === undefined ? undefined : deriveSeed(seed, 1);
    const s2 = seed === undefined ? undefined : deriveSeed(seed, 2);
    const h = add(x, this.attn.forward(this.ln1.forward(x), s1));
    return add(h, this.mlp.forward(this.ln2.forward(h), s2));
  }
}
