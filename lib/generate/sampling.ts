// Sampling the next token from a row of logits (Float32Array of size V), in plain TS.
//
//   temperature 0          greedy: the argmax (the lowest id on ties); topK / topP are ignored
//   temperature t > 0      p_i ∝ exp(logit_i / t)
//   topK k (0 = off)       keep the k largest logits (a size-k heap: O(V log k))
//   topP p (1 = off)       nucleus: keep the smallest set of most probable tokens whose
//                          probability (after temperature and top-k) reaches p (always >= 1 token)
//
// The draw uses the caller's seeded generator (`makeRng(seed)` from lib/tensor.ts), one
// rng() call per sampled token, so a seed fixes the whole sequence. Cost: O(V) with neither
// filter, O(V log k) with top-k, O(V log V) with top-p alone (a sort of the candidates).

export interface SamplingOptions {
  /** 0 = greedy. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined = all). */
  topK?: number;
  /** Nucleus threshold in (0, 1] (1 or undefined = all). */
  topP?: number;
}

/** Checks sampling options, throwing a RangeError that names the bad one. */
export function checkSamplingOptions(opts: SamplingOptions, who = 'sample'): void {
  const { temperature = 1, topK = 0, topP = 1 } = opts;
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0) {
    throw new RangeError(`${who}: temperature must be a finite number >= 0, got ${String(temperature)}`);
  }
  if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 0) {
    throw new RangeError(`${who}: topK must be an integer >= 0 (0 = off), got ${String(topK)}`);
  }
  if (typeof topP !== 'number' || !(topP > 0 && topP <= 1)) {
    throw new RangeError(`${who}: topP must be in (0, 1] (1 = off), got ${String(topP)}`);
  }
}

function checkLogits(logits: Float32Array, who: string): void {
  if (!(logits instanceof Float32Array)) throw new TypeError(`${who}: logits must be a Float32Array`);
  if (logits.length === 0) throw new RangeError(`${who}: logits are empty`);
}

/** The id of the largest logit (the lowest id on ties; NaN never wins). */
export function argmax(logits: Float32Array): number {
  checkLogits(logits, 'argmax');
  let best = -1;
  let bestV = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > bestV || (best < 0 && v === -Infinity)) {
      best = i;
      bestV = v;
    }
  }
  if (best < 0) throw new RangeError('argmax: every logit is NaN');
  return best;
}

// Higher logit first, then lower id (a strict total order: results do not depend on the
// sort's stability or on the heap's shape).
function before(logits: Float32Array, a: number, b: number): boolean {
  const va = logits[a]!;
  const vb = logits[b]!;
  return va > vb || (va === vb && a < b);
}

/** Ids of the k largest logits, best first (ties: lower id first). O(V log k). */
export function topKIndices(logits: Float32Array, k: number): Int32Array {
  checkLogits(logits, 'topKIndices');
  const V = logits.length;
  const n = Math.min(Math.max(0, Math.floor(k)), V);
  // A min-heap (worst of the kept ones at the root) of size n.
  const heap = new Int32Array(n);
  let size = 0;
  const worse = (a: number, b: number): boolean => before(logits, b, a);
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < size && worse(heap[l]!, heap[w]!)) w = l;
      if (r < size && worse(heap[r]!, heap[w]!)) w = r;
      if (w === i) return;
      const t = heap[i]!;
      heap[i] = heap[w]!;
      heap[w] = t;
      i = w;
    }
  };
  for (let id = 0; id < V && n > 0; id++) {
    if (Number.isNaN(logits[id]!)) continue;
    if (size < n) {
      let i = size++;
      heap[i] = id;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(heap[i]!, heap[p]!)) break;
        const t = heap[i]!;
        heap[i] = heap[p]!;
        heap[p] = t;
        i = p;
      }
    } else if (before(logits, id, heap[0]!)) {
      heap[0] = id;
      siftDown(0);
    }
  }
  const out = Array.from(heap.subarray(0, size));
  out.sort((a, b) => (before(logits, a, b) ? -1 : 1));
  return Int32Array.from(out);
}

/**
 * The candidate tokens and their probabilities (summing to 1) after temperature, top-k
 * and top-p. With temperature 0: the argmax alone, probability 1.
 */
export function samplingDistribution(logits: Float32Array, opts: SamplingOptions = {}): { ids: Int32Array; probs: Float64Array } {
  checkLogits(logits, 'samplingDistribution');
  checkSamplingOptions(opts, 'samplingDistribution');
  const { temperature = 1, topK = 0, topP = 1 } = opts;
  if (temperature === 0) return { ids: Int32Array.of(argmax(logits)), probs: Float64Array.of(1) };
  const V = logits.length;
  let ids: Int32Array;
  if (topK > 0 && topK < V) {
    ids = topKIndices(logits, topK); // sorted, best first
  } else {
    const all: number[] = [];
    for (let i = 0; i < V; i++) if (!Number.isNaN(logits[i]!)) all.push(i);
    if (topP < 1) all.sort((a, b) => (before(logits, a, b) ? -1 : 1));
    ids = Int32Array.from(all);
  }
  if (ids.length === 0) throw new RangeError('samplingDistribution: every logit is NaN');
  let maxV = -Infinity;
  for (const id of ids) maxV = Math.max(maxV, logits[id]!);
  if (maxV === -Infinity) throw new RangeError('samplingDistribution: every logit is -Infinity');
  if (maxV === Infinity) {
    // +Infinity logits share all the probability.
    const inf = Array.from(ids).filter((id) => logits[id] === Infinity);
    return { ids: Int32Array.from(inf), probs: new Float64Array(inf.length).fill(1 / inf.length) };
  }
  let probs = new Float64Array(ids.length);
  let total = 0;
  for (let i = 0; i < ids.length; i++) {
    const p = Math.exp((logits[ids[i]!]! - maxV) / temperature);
    probs[i] = p;
    total += p;
  }
  for (let i = 0; i < probs.length; i++) probs[i]! /= total;
  if (topP < 1) {
    // ids are sorted best first: keep the shortest prefix reaching topP.
    let cum = 0;
    let n = 0;
    while (n < probs.length) {
      cum += probs[n++]!;
      if (cum >= topP) break;
    }
    ids = ids.slice(0, n);
    probs = probs.slice(0, n);
    for (let i = 0; i < n; i++) probs[i]! /= cum;
  }
  return { ids, probs };
}

/** Draws one token id from `logits` with the given options and a generator of [0, 1) floats. */
export function sampleToken(logits: Float32Array, opts: SamplingOptions, rng: () => number): number {
  const { ids, probs } = samplingDistribution(logits, opts);
  if (ids.length === 1) {
    if ((opts.temperature ?? 1) !== 0) rng(); // one draw per token, whatever the candidates
    return ids[0]!;
  }
  const u = rng();
  let cum = 0;
  for (let i = 0; i < ids.length; i++) {
    cum += probs[i]!;
    if (u < cum) return ids[i]!;
  }
  return ids[ids.length - 1]!; // rounding: u just below 1
}
