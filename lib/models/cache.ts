// Neural cache for recurrent language models (Grave, Joulin & Usunier, 2017, "Improving neural
// language models with a continuous cache"). At evaluation only, the model's next-token
// distribution is mixed with one over the tokens that followed the most similar recent states:
//
//   p(w | t) = (1 - lambda) p_model(w | t) + lambda p_cache(w | t)
//   p_cache(w | t) = sum_{i in C_t, y_i = w} exp(theta h_t . h_i) / sum_{i in C_t} exp(theta h_t . h_i)
//
// h_i is the last recurrent layer's output at position i (what the output layer reads), y_i the
// token that followed position i, and C_t the last `size` positions before t of the same stream
// (the text is read as `batchSize` parallel streams with the state carried, as
// evaluateRecurrent does; each stream has its own cache). Nothing is trained: theta and lambda
// are chosen on the validation split. One pass scores a whole grid of (theta, lambda): the dot
// products are computed once (one matmul per stream and window), each theta costs one exp per
// cached position, each lambda one log per token. With `dynamic` the weights also adapt window by
// window as dynamic evaluation does (lib/models/dynamic-eval.ts), each window scored before its step.
import { noGrad } from '../autograd.js';
import { matmul } from '../ops/matmul.js';
import { logSoftmax } from '../ops/softmax.js';
import { bpttBatches } from '../data/bptt.js';
import type { EvalResult } from '../train/trainer.js';
import { Tensor, tidy } from '../tensor.js';
import { DynamicAdapter, adapts, checkDynamicGrid, divergenceLimit } from './dynamic-eval.js';
import { detachState, disposeState, type RecurrentLM, type RecurrentState } from './rnn.js';

/** The cache and the (theta, lambda) values to score. */
export interface CacheGrid {
  /** Positions kept per stream (Grave et al. used 100 to 2000 on PTB and WikiText). */
  size: number;
  /** Flatness of the cache distribution over similarities (>= 0). */
  theta: readonly number[];
  /** Weight of the cache in the mixture, each in [0, 1) (at 1 a token the cache never saw would have probability 0). */
  lambda: readonly number[];
  /**
   * Also adapt the weights as dynamic evaluation does (lib/models/dynamic-eval.ts): after each
   * window has been scored, one SGD step on the model's own mean NLL of it. Absent: the trained weights.
   */
  dynamic?: { lr: number; decay: number };
}

/** The perplexity with one (theta, lambda). */
export interface CacheScore extends EvalResult {
  theta: number;
  lambda: number;
}

export interface CacheEvalResult {
  /** Without the cache (the model alone, the same streams; adapted too with `dynamic`). */
  base: EvalResult;
  /** With `dynamic`: the pass stopped early (a window above 3 ln V nats per token); every loss is then Infinity. */
  diverged: boolean;
  /** One per (theta, lambda) of the grid, theta-major. */
  scores: CacheScore[];
  /** The lowest-perplexity score. */
  best: CacheScore;
}

function checkGrid(g: CacheGrid): void {
  if (!Number.isSafeInteger(g.size) || g.size < 1) throw new RangeError(`cache: size must be an integer >= 1, got ${String(g.size)}`);
  if (g.theta.length === 0 || g.lambda.length === 0) throw new RangeError('cache: give at least one theta and one lambda');
  for (const t of g.theta) if (!(Number.isFinite(t) && t >= 0)) throw new RangeError(`cache: theta must be a finite number >= 0, got ${String(t)}`);
  for (const l of g.lambda) if (!(l >= 0 && l < 1)) throw new RangeError(`cache: lambda must be in [0, 1), got ${String(l)}`);
  if (g.dynamic) checkDynamicGrid({ lr: [g.dynamic.lr], decay: [g.dynamic.decay] });
}

/**
 * The perplexity of `ids` under `model` mixed with a neural cache, for every (theta, lambda)
 * of `grid`, in `batchSize` streams of `seqLen`-step windows (eval mode, no gradients).
 */
export function evaluateWithCache(
  model: RecurrentLM,
  ids: Int32Array,
  batchSize: number,
  seqLen: number,
  grid: CacheGrid,
  onProgress?: (tokensDone: number) => void,
): CacheEvalResult {
  checkGrid(grid);
  const { size } = grid;
  const thetas = [...grid.theta];
  const lambdas = [...grid.lambda];
  const V = model.config.vocabSize;
  const H = model.config.lastHidden;
  const wasTraining = model.training;
  model.eval();
  const adapt = grid.dynamic && adapts(grid.dynamic.lr, grid.dynamic.decay) ? grid.dynamic : null;
  const adapter = adapt ? new DynamicAdapter(model) : null;
  const limit = divergenceLimit(V);
  let diverged = false;
  // Per stream: its cached states (row-major, up to size + seqLen rows) and what followed each.
  const keys = Array.from({ length: batchSize }, () => new Float32Array((size + seqLen) * H));
  const next = Array.from({ length: batchSize }, () => new Int32Array(size + seqLen));
  const held = new Array<number>(batchSize).fill(0);
  let baseSum = 0;
  const sums = new Float64Array(thetas.length * lambdas.length);
  let tokens = 0;
  let state: RecurrentState | null = null;
  const z = new Float64Array(thetas.length);
  const hit = new Float64Array(thetas.length);
  try {
    for (const b of bpttBatches(ids, batchSize, seqLen)) {
      const B = b.batchSize;
      const T = b.T;
      // Adapting: the window's graph, released by its backward on the model's own NLL.
      const r = tidy(() => {
        const score = () => {
          const out = model.forward(Tensor.fromArray(b.inputs, [B, T], 'int32'), state);
          // The model's probability of each target (row b*T + t).
          const lp = noGrad(() => logSoftmax(out.logits.detach()).toArray() as Float32Array);
          const pModel = new Float64Array(B * T);
          let nll = 0;
          for (let row = 0; row < B * T; row++) {
            const l = lp[row * V + b.targets[row]!]!;
            pModel[row] = Math.exp(l);
            nll -= l;
          }
          // The model's own NLL (an adaptive softmax's without its full logits), as training does.
          if (adapt) model.nll(out, b.targets).backward();
          return { pModel, nll: nll / (B * T), hidden: out.output.toArray() as Float32Array, next: detachState(out.state) };
        };
        return adapt ? score() : noGrad(score);
      });
      disposeState(state);
      state = r.next;
      if (adapt) {
        if (!(r.nll <= limit)) {
          diverged = true;
          break;
        }
        adapter!.step(adapt.lr, adapt.decay);
      }
      for (let s = 0; s < B; s++) {
        const n = held[s]!;
        const K = keys[s]!;
        const Y = next[s]!;
        // This window's states and targets join the stream's keys (query t sees keys < n + t).
        K.set(r.hidden.subarray(s * T * H, (s + 1) * T * H), n * H);
        Y.set(b.targets.subarray(s * T, (s + 1) * T), n);
        const dots = tidy(() => {
          const q = Tensor.fromArray(K.subarray(n * H, (n + T) * H), [T, H]);
          const k = Tensor.fromArray(K.subarray(0, (n + T) * H), [n + T, H]);
          return matmul(q, k, { transB: true }).toArray() as Float32Array; // (T, n + T)
        });
        const M = n + T;
        for (let t = 0; t < T; t++) {
          const row = s * T + t;
          const pm = r.pModel[row]!;
          const y = b.targets[row]!;
          baseSum -= Math.log(pm);
          const hiEnd = n + t;
          const lo = Math.max(0, hiEnd - size);
          if (hiEnd === lo) {
            // An empty cache (the stream's first position): the model alone.
            for (let k = 0; k < sums.length; k++) sums[k] -= Math.log(pm);
            continue;
          }
          let dmax = -Infinity;
          for (let j = lo; j < hiEnd; j++) dmax = Math.max(dmax, dots[t * M + j]!);
          z.fill(0);
          hit.fill(0);
          for (let j = lo; j < hiEnd; j++) {
            const d = dots[t * M + j]! - dmax;
            const same = Y[j] === y;
            for (let a = 0; a < thetas.length; a++) {
              const e = Math.exp(thetas[a]! * d);
              z[a] += e;
              if (same) hit[a] += e;
            }
          }
          for (let a = 0; a < thetas.length; a++) {
            const pc = hit[a]! / z[a]!;
            for (let l = 0; l < lambdas.length; l++) {
              const lam = lambdas[l]!;
              sums[a * lambdas.length + l] -= Math.log((1 - lam) * pm + lam * pc);
            }
          }
        }
        // Keep the last `size` positions.
        if (M > size) {
          K.copyWithin(0, (M - size) * H, M * H);
          Y.copyWithin(0, M - size, M);
          held[s] = size;
        } else {
          held[s] = M;
        }
      }
      tokens += B * T;
      onProgress?.(tokens);
    }
  } finally {
    disposeState(state);
    if (adapter) {
      adapter.restore();
      adapter.dispose();
    }
    model.train(wasTraining);
  }
  const result = (sum: number): EvalResult => {
    const loss = diverged ? Number.POSITIVE_INFINITY : tokens > 0 ? sum / tokens : Number.NaN;
    return { loss, ppl: Math.exp(loss), tokens };
  };
  const scores: CacheScore[] = [];
  thetas.forEach((theta, a) => lambdas.forEach((lambda, l) => scores.push({ theta, lambda, ...result(sums[a * lambdas.length + l]!) })));
  const best = scores.reduce((x, y) => (y.loss < x.loss ? y : x));
  return { base: result(baseSum), diverged, scores, best };
}
