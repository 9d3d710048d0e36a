// Random contiguous windows for sequence models (Transformer, RNN): each example is a span
// ids[s .. s+T] of the token stream; the inputs are its first T tokens and the targets the
// same span shifted by one (targets[t] = ids[s+t+1]).
import { makeRng } from '../tensor.js';
import { shardRows, type DataShard } from './shard.js';

export interface SequenceBatch {
  /** (B, T) input tokens, row-major. */
  inputs: Int32Array;
  /** (B, T) next tokens: targets[b*T + t] = the token after inputs[b*T + t]. */
  targets: Int32Array;
  /** B. */
  batchSize: number;
  /** T. */
  seqLen: number;
  /** Tokens predicted (B * T). */
  tokens: number;
}

/**
 * One batch of `batchSize` windows of length T at start positions drawn uniformly (with a
 * seeded RNG) from [0, ids.length - T - 1]. Same seed, same batch. With `shard`, every start is
 * drawn but only the shard's rows are built (./shard.ts).
 */
export function randomWindows(ids: Int32Array, batchSize: number, T: number, seed: number, shard?: DataShard): SequenceBatch {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`randomWindows: batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`randomWindows: T must be a positive integer, got ${T}`);
  if (ids.length < T + 1) {
    throw new RangeError(`randomWindows: a window of T = ${T} needs at least ${T + 1} tokens, the stream has ${ids.length}`);
  }
  const [lo, hi] = shardRows(batchSize, shard, 'randomWindows');
  const rng = makeRng(seed);
  const starts = ids.length - T; // valid starts: 0 .. ids.length - T - 1
  const rows = hi - lo;
  const inputs = new Int32Array(rows * T);
  const targets = new Int32Array(rows * T);
  for (let b = 0; b < hi; b++) {
    const s = Math.floor(rng() * starts);
    if (b < lo) continue;
    inputs.set(ids.subarray(s, s + T), (b - lo) * T);
    targets.set(ids.subarray(s + 1, s + T + 1), (b - lo) * T);
  }
  return { inputs, targets, batchSize: rows, seqLen: T, tokens: rows * T };
}

/**
 * Every non-overlapping window of length T in order (for evaluation), in batches of up to
 * `batchSize` windows; the tail that does not fill a window is dropped.
 */
export function* sequentialWindows(ids: Int32Array, batchSize: number, T: number): Generator<SequenceBatch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`sequentialWindows: batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`sequentialWindows: T must be a positive integer, got ${T}`);
  const n = Math.floor((ids.length - 1) / T);
  for (let w = 0; w < n; w += batchSize) {
    const B = Math.min(batchSize, n - w);
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const s = (w + b) * T;
      inputs.set(ids.subarray(s, s + T), b * T);
      targets.set(ids.subarray(s + 1, s + T + 1), b * T);
    }
    yield { inputs, targets, batchSize: B, seqLen: T, tokens: B * T };
  }
}
