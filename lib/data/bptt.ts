// Batches for recurrent language models trained with truncated back-propagation through
// time (the layout of Zaremba et al., 2014): the token stream is cut into `batchSize`
// contiguous streams of equal length (the remainder is dropped), laid side by side, and
// read left to right in windows of `seqLen` steps. Row b of every window continues row b
// of the previous window, so the hidden state at the end of one window is the right
// initial state for the next (carry it, detached). With a DataShard (./shard.ts) the streams
// are still the global batch's, and each batch holds only the shard's streams (rows).
//
// Random lengths (AWD-LSTM, Merity et al. 2017, section 4.1), with `jitter`: each window's
// length is drawn as round(N(base, sd)), base = seqLen with probability pFull (0.95) else
// seqLen / 2, at least minLen (5); the streams advance by the drawn length, so every token
// is still read once per epoch, and each batch carries lrScale = T / seqLen (the learning
// rate of that step is scaled by it, so that short windows do not weigh as much as long
// ones). The draws come from a generator seeded by (seed, epoch): the same epoch gives the
// same windows (resumed runs skip the consumed ones).

import { makeRng } from '../tensor.js';
import { shardRows, type DataShard } from './shard.js';

/** Random BPTT lengths (see the top of the file). */
export interface BpttJitter {
  /** Seed of the length draws (with `epoch`). */
  seed: number;
  /** The epoch: a different sequence of lengths per epoch. Default 0. */
  epoch?: number;
  /** Standard deviation of the drawn length. Default 5. */
  sd?: number;
  /** Probability of drawing around seqLen (else around seqLen / 2). Default 0.95. */
  pFull?: number;
  /** Shortest window drawn. Default 5 (or seqLen when smaller). */
  minLen?: number;
}

export interface BpttBatch {
  /** (batchSize, T) input tokens, row-major. */
  inputs: Int32Array;
  /** (batchSize, T) the token following each input (inputs shifted by one). */
  targets: Int32Array;
  /** Steps in this window (seqLen, or fewer for the last window). */
  T: number;
  batchSize: number;
  /** T / seqLen when the lengths are random (the step's learning-rate factor); absent otherwise. */
  lrScale?: number;
}

function checkJitter(j: BpttJitter): void {
  if (!Number.isSafeInteger(j.seed)) throw new RangeError(`bpttBatches: jitter.seed must be an integer, got ${String(j.seed)}`);
  if (j.epoch !== undefined && (!Number.isSafeInteger(j.epoch) || j.epoch < 0)) {
    throw new RangeError(`bpttBatches: jitter.epoch must be an integer >= 0, got ${String(j.epoch)}`);
  }
  if (j.sd !== undefined && !(Number.isFinite(j.sd) && j.sd >= 0)) throw new RangeError(`bpttBatches: jitter.sd must be >= 0, got ${String(j.sd)}`);
  if (j.pFull !== undefined && !(j.pFull >= 0 && j.pFull <= 1)) throw new RangeError(`bpttBatches: jitter.pFull must be in [0, 1], got ${String(j.pFull)}`);
  if (j.minLen !== undefined && (!Number.isInteger(j.minLen) || j.minLen < 1)) {
    throw new RangeError(`bpttBatches: jitter.minLen must be a positive integer, got ${String(j.minLen)}`);
  }
}

/**
 * The windows [start, T] over streams of L tokens: fixed seqLen steps, or random lengths
 * with `jitter` (the stream position advances by each drawn length; the last window is cut
 * at the stream's end).
 */
export function* bpttWindows(L: number, seqLen: number, jitter?: BpttJitter | null): Generator<[number, number]> {
  if (!jitter) {
    for (let i = 0; i + 1 < L; i += seqLen) yield [i, Math.min(seqLen, L - 1 - i)];
    return;
  }
  checkJitter(jitter);
  const sd = jitter.sd ?? 5;
  const pFull = jitter.pFull ?? 0.95;
  const minLen = Math.min(jitter.minLen ?? 5, seqLen);
  const rng = makeRng((jitter.seed * 1_000_003 + (jitter.epoch ?? 0) * 7_919 + 17) % 4294967296);
  // Box-Muller normal draws from the seeded uniform generator.
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  for (let i = 0; i + 1 < L; ) {
    const base = rng() < pFull ? seqLen : seqLen / 2;
    const drawn = Math.max(minLen, Math.round(base + sd * normal()));
    const T = Math.min(drawn, L - 1 - i);
    yield [i, T];
    i += T;
  }
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

/** Number of windows `bpttBatches` yields (with `jitter`: for that seed and epoch). */
export function numBpttBatches(ids: Int32Array, batchSize: number, seqLen: number, jitter?: BpttJitter | null): number {
  const L = checkArgs(ids, batchSize, seqLen);
  return countWindows(L, seqLen, jitter);
}

/** Number of windows over streams of L tokens. */
export function countWindows(L: number, seqLen: number, jitter?: BpttJitter | null): number {
  if (L < 2) return 0;
  if (!jitter) return Math.ceil((L - 1) / seqLen);
  let n = 0;
  for (const _ of bpttWindows(L, seqLen, jitter)) n++;
  return n;
}

/**
 * Consecutive (batchSize, T) windows over `batchSize` parallel streams of ids. Each stream
 * has floor(ids.length / batchSize) tokens; its last token is only ever a target. Yields
 * nothing when a stream has fewer than 2 tokens. With `jitter`, random window lengths
 * around seqLen (see the top of the file), each batch with its lrScale.
 */
export function* bpttBatches(
  ids: Int32Array,
  batchSize: number,
  seqLen: number,
  jitter?: BpttJitter | null,
  shard?: DataShard,
): Generator<BpttBatch> {
  const L = checkArgs(ids, batchSize, seqLen);
  if (jitter) checkJitter(jitter);
  const [lo, hi] = shardRows(batchSize, shard, 'bpttBatches');
  const rows = hi - lo;
  for (const [i, T] of bpttWindows(L, seqLen, jitter)) {
    const inputs = new Int32Array(rows * T);
    const targets = new Int32Array(rows * T);
    for (let b = lo; b < hi; b++) {
      const start = b * L + i;
      inputs.set(ids.subarray(start, start + T), (b - lo) * T);
      targets.set(ids.subarray(start + 1, start + 1 + T), (b - lo) * T);
    }
    yield jitter ? { inputs, targets, T, batchSize: rows, lrScale: T / seqLen } : { inputs, targets, T, batchSize: rows };
  }
}
