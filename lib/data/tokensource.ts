// Token sources: a token-id stream that training reads window by window, either held in
// memory (an Int32Array) or read from a binary token file (./tokenfile.ts) at offsets, so a
// corpus larger than memory can be trained on. `read(offset, n)` returns ids
// [offset, offset + n) as a fresh or shared Int32Array; callers must not write into it.
//
// Batch makers over sources (random windows, context windows, BPTT streams) live here too:
// they read only the tokens each batch needs. For an in-memory source, run.ts keeps the
// array-based loaders (bit-identical results on Brown); these are for sources that are not
// in memory.
import { makeRng } from '../tensor.js';
import { bpttWindows, countWindows, type BpttBatch, type BpttJitter } from './bptt.js';
import { shardRows, type DataShard } from './shard.js';
import type { WindowBatch } from './loaders.js';
import type { SequenceBatch } from './windows.js';

export interface TokenSource {
  /** Number of tokens. */
  readonly length: number;
  /** Ids [offset, offset + n); throws a RangeError outside [0, length]. */
  read(offset: number, n: number): Int32Array;
}

export function checkRange(who: string, length: number, offset: number, n: number): void {
  if (!Number.isInteger(offset) || !Number.isInteger(n) || offset < 0 || n < 0 || offset + n > length) {
    throw new RangeError(`${who}: cannot read ${n} tokens at offset ${offset} of a ${length}-token stream`);
  }
}

/** A source over ids held in memory; `read` returns views (subarray), not copies. */
export class ArrayTokenSource implements TokenSource {
  constructor(readonly ids: Int32Array) {}

  get length(): number {
    return this.ids.length;
  }

  read(offset: number, n: number): Int32Array {
    checkRange('ArrayTokenSource.read', this.ids.length, offset, n);
    return this.ids.subarray(offset, offset + n);
  }
}

/** Tokens [start, end) of another source, as a source of its own (no copy). */
export class RangeTokenSource implements TokenSource {
  readonly length: number;

  constructor(
    readonly base: TokenSource,
    readonly start: number,
    end: number,
  ) {
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= base.length)) {
      throw new RangeError(`RangeTokenSource: [${start}, ${end}) is not a range of a ${base.length}-token stream`);
    }
    this.length = end - start;
  }

  read(offset: number, n: number): Int32Array {
    checkRange('RangeTokenSource.read', this.length, offset, n);
    return this.base.read(this.start + offset, n);
  }
}

/** The ids of an in-memory source (no copy), or null when the source is not in memory. */
export function inMemory(src: TokenSource): Int32Array | null {
  if (src instanceof ArrayTokenSource) return src.ids;
  if (src instanceof RangeTokenSource) {
    const base = inMemory(src.base);
    return base ? base.subarray(src.start, src.start + src.length) : null;
  }
  return null;
}

/** Every id of a source, in memory (reads the whole source: for small ones only). */
export function readAll(src: TokenSource): Int32Array {
  return inMemory(src) ?? Int32Array.from(src.read(0, src.length));
}

/**
 * Like `randomWindows` (./windows.ts) over a source: `batchSize` windows of T (+1 target)
 * tokens at seeded random starts in [0, length - T - 1]; one read of T + 1 tokens each. With
 * `shard` (./shard.ts) every start is drawn, but only the shard's rows are read.
 */
export function randomWindowsFrom(src: TokenSource, batchSize: number, T: number, seed: number, shard?: DataShard): SequenceBatch {
  if (src.length < T + 1) throw new RangeError(`randomWindowsFrom: a window of T = ${T} needs at least ${T + 1} tokens, the stream has ${src.length}`);
  const [lo, hi] = shardRows(batchSize, shard, 'randomWindowsFrom');
  const rng = makeRng(seed);
  const starts = src.length - T;
  const rows = hi - lo;
  const inputs = new Int32Array(rows * T);
  const targets = new Int32Array(rows * T);
  for (let b = 0; b < hi; b++) {
    const s = Math.floor(rng() * starts);
    if (b < lo) continue;
    const w = src.read(s, T + 1);
    inputs.set(w.subarray(0, T), (b - lo) * T);
    targets.set(w.subarray(1, T + 1), (b - lo) * T);
  }
  return { inputs, targets, batchSize: rows, seqLen: T, tokens: rows * T };
}

/**
 * Context windows for fixed-context models over a source: `batchSize` positions t drawn
 * uniformly (seeded) from [context, length), predicting ids[t] from the `context` before
 * it. Sampling with replacement: a shuffled order of every position would need memory
 * proportional to the corpus. With `shard` (./shard.ts) every position is drawn, but only the
 * shard's rows are read.
 */
export function randomContextWindowsFrom(src: TokenSource, context: number, batchSize: number, seed: number, shard?: DataShard): WindowBatch {
  const n = src.length - context;
  if (n <= 0) throw new RangeError(`randomContextWindowsFrom: a context of ${context} needs more than ${context} tokens, the stream has ${src.length}`);
  const [lo, hi] = shardRows(batchSize, shard, 'randomContextWindowsFrom');
  const rng = makeRng(seed);
  const inputs = new Int32Array((hi - lo) * context);
  const targets = new Int32Array(hi - lo);
  for (let b = 0; b < hi; b++) {
    const t = context + Math.floor(rng() * n);
    if (b < lo) continue;
    const w = src.read(t - context, context + 1);
    inputs.set(w.subarray(0, context), (b - lo) * context);
    targets[b - lo] = w[context]!;
  }
  return { inputs, targets, size: hi - lo };
}

/** Number of windows `bpttBatchesFrom` yields (as numBpttBatches in ./bptt.ts). */
export function numBpttBatchesFrom(src: TokenSource, batchSize: number, seqLen: number, jitter?: BpttJitter | null): number {
  return countWindows(Math.floor(src.length / batchSize), seqLen, jitter);
}

/**
 * The batches of `bpttBatches` (./bptt.ts) over a source: `batchSize` contiguous streams
 * side by side, read seqLen + 1 tokens per stream per window (the same batches as the
 * array version, without holding the stream). With `shard` (./shard.ts) the streams are the
 * global batch's and only the shard's streams are read.
 */
export function* bpttBatchesFrom(
  src: TokenSource,
  batchSize: number,
  seqLen: number,
  jitter?: BpttJitter | null,
  shard?: DataShard,
): Generator<BpttBatch> {
  const L = Math.floor(src.length / batchSize);
  const [lo, hi] = shardRows(batchSize, shard, 'bpttBatchesFrom');
  const rows = hi - lo;
  for (const [i, T] of bpttWindows(L, seqLen, jitter)) {
    const inputs = new Int32Array(rows * T);
    const targets = new Int32Array(rows * T);
    for (let b = lo; b < hi; b++) {
      const w = src.read(b * L + i, T + 1);
      inputs.set(w.subarray(0, T), (b - lo) * T);
      targets.set(w.subarray(1, T + 1), (b - lo) * T);
    }
    yield jitter ? { inputs, targets, T, batchSize: rows, lrScale: T / seqLen } : { inputs, targets, T, batchSize: rows };
  }
}

/**
 * Runs `evaluate` (a mean-loss evaluator over an id array) on a source: in one call for an
 * in-memory source; for other sources on consecutive chunks of `chunk` tokens (+1 so
 * targets cross the seam), combining the token-weighted losses. Windows and recurrent
 * state restart at each chunk, so the result can differ slightly from one pass.
 * `onProgress(done, total)` (optional) is passed on to `evaluate` as tokens done within the source.
 */
export function evaluateInChunks<R extends { loss: number; ppl: number; tokens: number }>(
  evaluate: (ids: Int32Array, onProgress?: (done: number) => void) => R,
  src: TokenSource,
  chunk = 1 << 20,
  onProgress?: (done: number, total: number) => void,
): { loss: number; ppl: number; tokens: number } {
  const mem = inMemory(src);
  const total = src.length;
  if (mem) return evaluate(mem, onProgress && ((d) => onProgress(Math.min(d, total), total)));
  let sum = 0;
  let tokens = 0;
  for (let off = 0; off + 1 < src.length; off += chunk) {
    const r = evaluate(src.read(off, Math.min(chunk + 1, src.length - off)), onProgress && ((d) => onProgress(Math.min(off + d, total), total)));
    if (r.tokens > 0) {
      sum += r.loss * r.tokens;
      tokens += r.tokens;
    }
  }
  const loss = tokens > 0 ? sum / tokens : Number.NaN;
  return { loss, ppl: Math.exp(loss), tokens };
}
