// Linear interpolation of language models (Bengio et al. 2003, the "mix" rows of their
// table: the neural model's next-token probability averaged with an n-gram model's):
//
//   P(w_t | h) = sum_k lambda_k P_k(w_t | h),   sum_k lambda_k = 1
//
// Each model first gives the probability it assigns to every target token of a token
// sequence (`tokenProbs`), for the same positions; `interpolate` then mixes them and
// returns the mean negative log-likelihood and perplexity, and `fitWeights` tunes the
// weights on held-out data by EM (the classic way to set n-gram mixture weights).
import { noGrad } from '../autograd.js';
import { logSoftmax } from '../ops/softmax.js';
import { Tensor, tidy } from '../tensor.js';
import type { KneserNeyLM } from './ngram.js';

/** Per-position probabilities of the target tokens `ids[from..]`. */
export interface TokenProbs {
  /** First predicted position of the sequence. */
  from: number;
  probs: Float64Array;
}

export interface MixtureResult {
  loss: number;
  ppl: number;
  tokens: number;
  weights: number[];
}

/** A model that maps a (B, context) int32 window batch to (B, V) next-token logits. */
export interface WindowModel {
  readonly config: { readonly context: number };
  forward(x: Tensor): Tensor;
}

function checkFrom(from: number, n: number, who: string): void {
  if (!Number.isInteger(from) || from < 0 || from >= n) {
    throw new RangeError(`${who}: from must be an integer in [0, ${n}), got ${String(from)}`);
  }
}

/** P(ids[t] | ids[t-n+1 .. t-1]) for t = from .. ids.length-1, from a Kneser-Ney model. */
export function ngramTokenProbs(lm: KneserNeyLM, ids: Int32Array, from = 0): TokenProbs {
  checkFrom(from, ids.length, 'ngramTokenProbs');
  const probs = new Float64Array(ids.length - from);
  const ctx = lm.order - 1;
  for (let t = from; t < ids.length; t++) {
    probs[t - from] = lm.prob(ids.subarray(Math.max(0, t - ctx), t), ids[t]!);
  }
  return { from, probs };
}

/**
 * P(ids[t] | the `model.context` previous tokens) for t = from .. ids.length-1, from a
 * fixed-window model (feed-forward, log-linear). `from` must be >= its context (default).
 * Runs without gradients, `batch` windows at a time.
 */
export function windowTokenProbs(model: WindowModel, ids: Int32Array, from = model.config.context, batch = 512): TokenProbs {
  const c = model.config.context;
  checkFrom(from, ids.length, 'windowTokenProbs');
  if (from < c) throw new RangeError(`windowTokenProbs: from (${from}) must be >= the model's context (${c})`);
  const probs = new Float64Array(ids.length - from);
  noGrad(() => {
    for (let start = from; start < ids.length; start += batch) {
      const B = Math.min(batch, ids.length - start);
      const x = new Int32Array(B * c);
      for (let b = 0; b < B; b++) x.set(ids.subarray(start + b - c, start + b), b * c);
      tidy(() => {
        const lp = logSoftmax(model.forward(Tensor.fromArray(x, [B, c], 'int32'))).toArray();
        const V = lp.length / B;
        for (let b = 0; b < B; b++) probs[start - from + b] = Math.exp(lp[b * V + ids[start + b]!]!);
      });
    }
  });
  return { from, probs };
}

function aligned(parts: readonly TokenProbs[], who: string): number {
  if (parts.length === 0) throw new RangeError(`${who}: needs at least one model`);
  const n = parts[0]!.probs.length;
  for (const p of parts) {
    if (p.from !== parts[0]!.from || p.probs.length !== n) {
      throw new RangeError(`${who}: the models' probabilities cover different positions (from ${p.from}, ${p.probs.length} tokens vs from ${parts[0]!.from}, ${n})`);
    }
  }
  if (n === 0) throw new RangeError(`${who}: no tokens`);
  return n;
}

/** Mean NLL and perplexity of the mixture sum_k weights[k] * parts[k] (default: equal weights). */
export function interpolate(parts: readonly TokenProbs[], weights?: readonly number[]): MixtureResult {
  const n = aligned(parts, 'interpolate');
  const w = weights ? [...weights] : parts.map(() => 1 / parts.length);
  if (w.length !== parts.length) throw new RangeError(`interpolate: ${parts.length} models but ${w.length} weights`);
  const sum = w.reduce((a, b) => a + b, 0);
  if (w.some((x) => !(x >= 0)) || Math.abs(sum - 1) > 1e-9) {
    throw new RangeError(`interpolate: weights must be >= 0 and sum to 1, got [${w.join(', ')}]`);
  }
  let nll = 0;
  for (let t = 0; t < n; t++) {
    let p = 0;
    for (let k = 0; k < parts.length; k++) p += w[k]! * parts[k]!.probs[t]!;
    nll -= Math.log(p);
  }
  const loss = nll / n;
  return { loss, ppl: Math.exp(loss), tokens: n, weights: w };
}

/** Mixture weights that maximise the likelihood of held-out `parts`, by EM (monotone; `iterations` rounds). */
export function fitWeights(parts: readonly TokenProbs[], iterations = 50): number[] {
  const n = aligned(parts, 'fitWeights');
  const K = parts.length;
  let w = parts.map(() => 1 / K);
  for (let it = 0; it < iterations; it++) {
    const acc = new Float64Array(K);
    for (let t = 0; t < n; t++) {
      let p = 0;
      for (let k = 0; k < K; k++) p += w[k]! * parts[k]!.probs[t]!;
      for (let k = 0; k < K; k++) acc[k]! += (w[k]! * parts[k]!.probs[t]!) / p;
    }
    w = Array.from(acc, (a) => a / n);
  }
  return w;
}
