// Adaptive softmax (Grave, Joulin, Cissé, Grangier & Jégou, 2017, "Efficient softmax
// approximation for GPUs"): the vocabulary, sorted by frequency (lmkit's vocabularies are), is cut
// at `cutoffs` c_1 < ... < c_K into a head [0, c_1) and K tail clusters [c_k, c_{k+1}) (c_{K+1} = V).
// The head scores its words and one token per cluster; a tail word's probability is its
// cluster's head probability times its probability within the cluster:
//
//   p(w | h) = softmax([h W_head^T + b_head, h C^T + d])_w                  w in the head
//   p(w | h) = softmax(...)_{c_1 + k} * softmax(h W_k^T + b_k)_{w - c_k}    w in cluster k
//
// W_head and W_k are row ranges of the ordinary (V, H) output matrix and b_head, b_k of its bias,
// so the output can stay tied to the embeddings and a model has only the K cluster vectors C (K, H)
// and biases d (K) more. It is a proper distribution over the V words (not an estimate of the full
// softmax's), trained by its exact NLL: every row pays the head's (c_1 + K) logits, a row whose
// target is in cluster k pays that cluster's too. With most tokens in the head (Zipf) the output
// layer costs a fraction of V x H per token. Full log-probabilities (V per row: evaluation with a
// cache, generation) cost what the full softmax does.
import { add, mulScalar } from '../ops/elementwise.js';
import { crossEntropy } from '../ops/crossentropy.js';
import { embedding } from '../ops/embedding.js';
import { matmul } from '../ops/matmul.js';
import { concat, slice } from '../ops/shape.js';
import { logSoftmax } from '../ops/softmax.js';
import { Tensor } from '../tensor.js';

/** The output layer's tensors an adaptive softmax reads. */
export interface AdaptiveSoftmaxParts {
  /** (V, H): the output matrix (the embedding matrix when tied). */
  weight: Tensor;
  /** (V): the output bias. */
  bias: Tensor;
  /** (K, H): one vector per tail cluster, scored in the head. */
  clusterWeight: Tensor;
  /** (K): the clusters' biases. */
  clusterBias: Tensor;
  /** c_1 < ... < c_K, each in (0, V): where the head and each cluster end. */
  cutoffs: readonly number[];
}

/** Checks cutoffs for a vocabulary of V: a non-empty increasing list of integers in (0, V). */
export function checkCutoffs(cutoffs: readonly number[], V: number, who = 'adaptive softmax'): void {
  if (!Array.isArray(cutoffs) || cutoffs.length === 0) throw new RangeError(`${who}: give at least one cutoff`);
  let prev = 0;
  for (const c of cutoffs) {
    if (!Number.isSafeInteger(c) || c <= prev || c >= V) {
      throw new RangeError(`${who}: cutoffs must be increasing integers between 1 and the vocabulary size - 1 (${V - 1}), got ${cutoffs.join(',')}`);
    }
    prev = c;
  }
}

/** [start, end) of the head (k = 0) and of each cluster k = 1..K. */
function ranges(cutoffs: readonly number[], V: number): [number, number][] {
  const ends = [...cutoffs, V];
  return ends.map((e, k) => [k === 0 ? 0 : ends[k - 1]!, e]);
}

/** The head's logits (N, c_1 + K) of x (N, H). */
function headLogits(p: AdaptiveSoftmaxParts, x: Tensor): Tensor {
  const c1 = p.cutoffs[0]!;
  const w = concat([slice(p.weight, 0, 0, c1), p.clusterWeight], 0);
  const b = concat([slice(p.bias, 0, 0, c1), p.clusterBias], 0);
  return add(matmul(x, w, { transB: true }), b);
}

/** Cluster k's logits (rows of x, n_k) over its words [lo, hi). */
function clusterLogits(p: AdaptiveSoftmaxParts, x: Tensor, lo: number, hi: number): Tensor {
  return add(matmul(x, slice(p.weight, 0, lo, hi), { transB: true }), slice(p.bias, 0, lo, hi));
}

/**
 * The NLL of `targets` (N word ids, on the host) under the adaptive softmax of x (N, H): the sum,
 * or the mean over the N rows. Differentiable in x and every part.
 */
export function adaptiveNll(p: AdaptiveSoftmaxParts, x: Tensor, targets: Int32Array, reduction: 'sum' | 'mean' = 'mean'): Tensor {
  const [N] = x.shape as [number, number];
  const V = p.weight.shape[0]!;
  if (targets.length !== N) throw new RangeError(`adaptiveNll: ${targets.length} targets for ${N} rows`);
  const rs = ranges(p.cutoffs, V);
  const c1 = p.cutoffs[0]!;
  // Each row's head target (its word, or its cluster's token) and the rows of each cluster.
  const head = new Int32Array(N);
  const rows: number[][] = rs.map(() => []);
  for (let i = 0; i < N; i++) {
    const w = targets[i]!;
    if (!(w >= 0 && w < V)) throw new RangeError(`adaptiveNll: target ${w} is outside the vocabulary (size ${V})`);
    let k = 0;
    while (w >= rs[k]![1]) k++;
    head[i] = k === 0 ? w : c1 + k - 1;
    if (k > 0) rows[k]!.push(i);
  }
  let total = crossEntropy(headLogits(p, x), Tensor.fromArray(head, [N], 'int32'), { reduction: 'sum' });
  for (let k = 1; k < rs.length; k++) {
    const idx = rows[k]!;
    if (idx.length === 0) continue;
    const [lo, hi] = rs[k]!;
    const xk = embedding(x, Tensor.fromArray(Int32Array.from(idx), [idx.length], 'int32'));
    const local = Int32Array.from(idx, (i) => targets[i]! - lo);
    total = add(total, crossEntropy(clusterLogits(p, xk, lo, hi), Tensor.fromArray(local, [idx.length], 'int32'), { reduction: 'sum' }));
  }
  return reduction === 'sum' ? total : mulScalar(total, 1 / N);
}

/** The full log-probabilities (N, V) of x (N, H): every word's, normalised (rows logsumexp to 0). */
export function adaptiveLogProbs(p: AdaptiveSoftmaxParts, x: Tensor): Tensor {
  const V = p.weight.shape[0]!;
  const rs = ranges(p.cutoffs, V);
  const c1 = p.cutoffs[0]!;
  const lh = logSoftmax(headLogits(p, x));
  const parts = [slice(lh, 1, 0, c1)];
  for (let k = 1; k < rs.length; k++) {
    const [lo, hi] = rs[k]!;
    parts.push(add(logSoftmax(clusterLogits(p, x, lo, hi)), slice(lh, 1, c1 + k - 1, c1 + k)));
  }
  return parts.length === 1 ? parts[0]! : concat(parts, 1);
}
