// Batches for recurrent language models trained with truncated back-propagation through
// time (the layout of Zaremba et al., 2014): the token stream is cut into `batchSize`
// contiguous streams of equal length (the remainder is dropped), laid side by side, and
// read left to right in windows of `seqLen` steps. Row b of every window continues row b
// of the previous window, so the hidden state at the end of one window is the right
// initial state for the next (carry it, detached). With a DataShard (./shard.ts) the streams
// are still the global batch's, and each batch holds only the shard's streams (rows).
import { shardRows, type DataShard } from './shard.js';

export interface BpttBatch {
  /** (batchSize, T) input tokens, row-major. */
  inputs: Int32Array;
  /** (batchSize, T) the token following each input (inputs shifted by one). */
  targets: Int32Array;
  /** Steps in this window (seqLen, or fewer for the last window). */
  T: number;
  batchSize: number;
}

function checkArgs(ids: Int32Array, batchSize: number, seqLen: number): number {
  if (!(ids instanceof Int32Array)) throw new TypeError('bpttBatches: ids must be an Int32Array');
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`bpttBatches: batchSize must be a positive integer, got ${batchSize}`);
  }
  if (!Number.isInteger(seqLen) || seqLen < 1) {
    throw new RangeError(`bpttBatches: seqLen must be a positive integer, got ${seqLen}`);
  }
  return Math.floor(ids.length / batchSize);
}

/** Number of windows `bpttBatches` yields. */
export function numBpttBatches(ids: Int32Array, batchSize: number, seqLen: number): number {
  const L = checkArgs(ids, batchSize, seqLen);
  return L < 2 ? 0 : Math.ceil((L - 1) / seqLen);
}

/**
 * Consecutive (batchSize, T) windows over `batchSize` parallel streams of ids. Each stream
 * has floor(ids.length / batchSize) tokens; its last token is only ever a target. Yields
 * nothing when a stream has fewer than 2 tokens.
 */
export function* bpttBatches(ids: Int32Array, batchSize: number, seqLen: number, shard?: DataShard): Generator<BpttBatch> {
  const L = checkArgs(ids, batchSize, seqLen);
  const [lo, hi] = shardRows(batchSize, shard, 'bpttBatches');
  const rows = hi - lo;
  for (let i = 0; i + 1 < L; i += seqLen) {
    const T = Math.min(seqLen, L - 1 - i);
    const inputs = new Int32Array(rows * T);
    const targets = new Int32Array(rows * T);
    for (let b = lo; b < hi; b++) {
      const start = b * L + i;
      inputs.set(ids.subarray(start, start + T), (b - lo) * T);
      targets.set(ids.subarray(start + 1, start + 1 + T), (b - lo) * T);
    }
    yield { inputs, targets, T, batchSize: rows };
  }
}
