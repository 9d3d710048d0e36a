// A Mamba-style selective state-space language model (Gu & Dao 2023), pre-norm residual:
//   x = E[ids]                                            token embedding (no positions: the scan is ordered)
//   x = x + MambaBlock(rmsNorm(x))   (L times)
//   logits = rmsNorm_f(x) E^T                            output tied to the token embedding E
// MambaBlock on u (B,T,D), inner width ED = expand * D:
//   [xin, z] = in_proj(u)                                 Linear D -> 2ED (no bias)
//   xc = silu(causalConv1d(xin, conv.weight (ED,dConv), conv.bias))
//   [dtIn, Bm, Cm] = x_proj(xc)                           Linear ED -> R + 2N (no bias), R = ceil(D/16)
//   delta = softplus(dt_proj(dtIn))                       Linear R -> ED with bias
//   A = -exp(A_log)                                       A_log (ED,N) init log(1..N)
//   y = selectiveScan(xc, delta, A, Bm, Cm, Dskip)        Dskip (ED) init 1
//   out = out_proj(y * silu(z))                           Linear ED -> D (no bias)
// (x_proj is the fused form of the separate Linear_N (B), Linear_N (C) and Linear_R maps.)
// forward(ids (B,T) int32) returns logits (B*T, V), row b*T + t predicting the token after ids[b,t],
// like TransformerLM. Init: embedding ~ Normal(0, 0.02); dt_proj bias = softplus^-1(dt) with dt
// log-uniform in [1e-3, 1e-1] (as the paper's code); other Linears uniform(+-1/sqrt(in)), out_proj
// scaled by 1/sqrt(layers). All seeds are derived from config.seed.
import { relu, silu } from '../ops/activations.js';
import { causalConv1d } from '../ops/conv.js';
import { embedding } from '../ops/embedding.js';
import { add, addScalar, exp, log, mul, neg, scale, sub } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { rmsNorm } from '../ops/norm.js';
import { selectiveScan } from '../ops/scan.js';
import { split } from '../ops/shape.js';
import { Linear } from '../nn/layers.js';
import { Module, uniformInit } from '../nn/module.js';
import { deriveSeed } from '../nn/transformer.js';
import { Tensor, makeRng } from '../tensor.js';

export interface MambaConfig {
  vocabSize: number;
  /** Model width D. */
  embed: number;
  /** Number of blocks L. */
  layers: number;
  /** State size N per channel. Default 16. */
  dState?: number;
  /** Inner width factor E (inner width E*D). Default 2. */
  expand?: number;
  /** Causal conv width. Default 4. */
  dConv?: number;
  seed?: number;
}

/**
 * softplus(x) = log(1 + e^x), composed stably from existing ops:
 * relu(x) + log(1 + exp(-|x|)) with -|x| = x - 2 relu(x).
 */
export function softplus(x: Tensor): Tensor {
  const r = relu(x);
  return add(r, log(addScalar(exp(sub(x, scale(r, 2))), 1)));
}

/** RMSNorm over the last axis with a learned gain (ones). */
class RMSNormModule extends Module {
  readonly weight: Tensor;
  constructor(readonly dim: number) {
    super();
    this.weight = this.param('weight', Tensor.ones([dim]));
  }
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, 1e-5);
  }
}

export class MambaBlock extends Module {
  readonly norm: RMSNormModule;
  readonly inProj: Linear;
  readonly convWeight: Tensor;
  readonly convBias: Tensor;
  readonly xProj: Linear;
  readonly dtProj: Linear;
  readonly ALog: Tensor;
  readonly Dskip: Tensor;
  readonly outProj: Linear;
  readonly inner: number;
  readonly dtRank: number;

  constructor(
    readonly embed: number,
    readonly dState: number,
    readonly expand: number,
    readonly dConv: number,
    layers: number,
    seed: number,
  ) {
    super();
    const D = embed;
    const ED = expand * D;
    const N = dState;
    const R = Math.ceil(D / 16);
    this.inner = ED;
    this.dtRank = R;
    this.norm = this.module('norm', new RMSNormModule(D));
    this.inProj = this.module('inProj', new Linear(D, 2 * ED, { bias: false, seed: deriveSeed(seed, 1) }));
    const convBound = 1 / Math.sqrt(dConv);
    this.convWeight = this.param('convWeight', uniformInit([ED, dConv], convBound, deriveSeed(seed, 2)));
    this.convBias = this.param('convBias', uniformInit([ED], convBound, deriveSeed(seed, 3)));
    this.xProj = this.module('xProj', new Linear(ED, R + 2 * N, { bias: false, seed: deriveSeed(seed, 4) }));
    this.dtProj = this.module('dtProj', new Linear(R, ED, { seed: deriveSeed(seed, 5), initRange: 1 / Math.sqrt(R) }));
    // dt bias: inverse softplus of dt ~ log-uniform [1e-3, 1e-1].
    const rng = makeRng(deriveSeed(seed, 6));
    const dtBias = new Float32Array(ED);
    for (let i = 0; i < ED; i++) {
      const dt = Math.exp(Math.log(1e-3) + rng() * (Math.log(1e-1) - Math.log(1e-3)));
      dtBias[i] = dt + Math.log(-Math.expm1(-dt));
    }
    this.dtProj.bias!.storage.write(dtBias);
    const aLog = new Float32Array(ED * N);
    for (let d = 0; d < ED; d++) for (let n = 0; n < N; n++) aLog[d * N + n] = Math.log(n + 1);
    this.ALog = this.param('ALog', Tensor.fromArray(aLog, [ED, N]));
    this.Dskip = this.param('Dskip', Tensor.ones([ED]));
    this.outProj = this.module(
      'outProj',
      new Linear(ED, D, { bias: false, seed: deriveSeed(seed, 7), initRange: 1 / Math.sqrt(ED) / Math.sqrt(layers) }),
    );
  }

  /** x (B,T,D) -> x + mixer(norm(x)) (B,T,D). */
  forward(x: Tensor): Tensor {
    const ED = this.inner;
    const N = this.dState;
    const [xin, z] = split(this.inProj.forward(this.norm.forward(x)), -1, [ED, ED]) as [Tensor, Tensor];
    const xc = silu(causalConv1d(xin, this.convWeight, this.convBias));
    const [dtIn, Bm, Cm] = split(this.xProj.forward(xc), -1, [this.dtRank, N, N]) as [Tensor, Tensor, Tensor];
    const delta = softplus(this.dtProj.forward(dtIn));
    const A = neg(exp(this.ALog));
    const y = selectiveScan(xc, delta, A, Bm, Cm, this.Dskip);
    return add(x, this.outProj.forward(mul(y, silu(z))));
  }
}

export class MambaLM extends Module {
  readonly config: Required<MambaConfig>;
  /** Token embedding (V, D), also the output projection (tied). */
  readonly tokenEmbedding: Tensor;
  readonly blocks: MambaBlock[];
  readonly normFinal: RMSNormModule;

  constructor(config: MambaConfig) {
    super();
    const c: Required<MambaConfig> = { dState: 16, expand: 2, dConv: 4, seed: 1, ...config };
    for (const k of ['vocabSize', 'embed', 'layers', 'dState', 'expand', 'dConv'] as const) {
      if (!Number.isInteger(c[k]) || c[k] < 1) {
        throw new RangeError(`MambaLM: ${k} must be a positive integer, got ${String(c[k])}`);
      }
    }
    if (!Number.isSafeInteger(c.seed)) throw new RangeError(`MambaLM: seed must be an integer, got ${String(c.seed)}`);
    this.config = c;
    this.tokenEmbedding = this.param('tokenEmbedding', Tensor.randn([c.vocabSize, c.embed], { std: 0.02, seed: deriveSeed(c.seed, 1) }));
    this.blocks = [];
    for (let l = 0; l < c.layers; l++) {
      this.blocks.push(
        this.module(`blocks.${l}`, new MambaBlock(c.embed, c.dState, c.expand, c.dConv, c.layers, deriveSeed(c.seed, 100 + l))),
      );
    }
    this.normFinal = this.module('normFinal', new RMSNormModule(c.embed));
  }

  /** ids (B,T) int32 -> logits (B*T, V) (row b*T + t predicts ids[b, t+1]). */
  forward(ids: Tensor): Tensor {
    if (!(ids instanceof Tensor) || ids.dtype !== 'int32' || ids.rank !== 2) {
      throw new TypeError(`MambaLM: expected int32 ids of shape [B,T], got ${ids instanceof Tensor ? ids.describe() : typeof ids}`);
    }
    const [B, T] = ids.shape as [number, number];
    if (T < 1 || B < 1) throw new RangeError(`MambaLM: ids ${ids.describe()} are empty`);
    let x = embedding(this.tokenEmbedding, ids); // (B,T,D)
    for (const block of this.blocks) x = block.forward(x);
    const h = this.normFinal.forward(x).reshape([B * T, this.config.embed]);
    return matmul(h, this.tokenEmbedding, { transB: true }); // (B*T, V)
  }
}
