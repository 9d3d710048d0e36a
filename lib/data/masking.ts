// BERT-style masking for masked language modelling (Devlin et al., 2019).
// Each position is selected independently with probability `prob` (default 0.15); a selected
// position is replaced by the mask id with probability maskFrac (0.8), by a token drawn uniformly
// from [0, vocabSize) with probability randomFrac (0.1; it may happen to equal the original), and
// kept unchanged otherwise (0.1). targets = the original token at selected positions and
// ignoreIndex (-100, crossEntropy's default) elsewhere. Everything is drawn from one seeded RNG
// (makeRng) in position order: same ids and seed, same masks.
import { makeRng, Tensor } from '../tensor.js';
import { shardRows, type DataShard } from './shard.js';

export interface MaskOptions {
  /** Real token ids are in [0, vocabSize). */
  vocabSize: number;
  /** Id written at masked positions. Default vocabSize (the model's vocabulary has one extra id). */
  maskId?: number;
  /** Selection probability per position. Default 0.15. */
  prob?: number;
  /** Of the selected positions: fraction replaced by maskId (default 0.8) ... */
  maskFrac?: number;
  /** ... and fraction replaced by a random token (default 0.1); the rest are kept. */
  randomFrac?: number;
  /** Target of the positions not selected. Default -100. */
  ignoreIndex?: number;
  seed?: number;
}

export interface MaskedBatch {
  /** Model inputs: the ids with the selected positions corrupted. */
  inputs: Int32Array;
  /** Original ids at the selected positions, ignoreIndex elsewhere. */
  targets: Int32Array;
  /** Number of selected positions (tokens to predict). */
  selected: number;
}

function checkInt32(who: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
    throw new RangeError(`${who}: ${name} must be an int32, got ${String(v)}`);
  }
  return v;
}

function checkFrac(who: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new RangeError(`${who}: ${name} must be in [0, 1], got ${String(v)}`);
  return v;
}

/** Masks ids (any shape, e.g. (B,T) row-major; an int32 Tensor or an Int32Array) for the MLM objective. */
export function maskBatch(ids: Int32Array | Tensor, opts: MaskOptions): MaskedBatch {
  return maskFrom(ids, opts, 0);
}

/**
 * maskBatch of `ids` as if `skip` positions preceded them: the RNG's draws for those positions
 * are replayed first (how many draws a position takes does not depend on its token), so the
 * masks are those of the longer batch's tail (a data shard's rows).
 */
function maskFrom(ids: Int32Array | Tensor, opts: MaskOptions, skip: number): MaskedBatch {
  const who = 'maskBatch';
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${who}: options are required`);
  const V = opts.vocabSize;
  if (typeof V !== 'number' || !Number.isInteger(V) || V < 1 || V > 2147483647) {
    throw new RangeError(`${who}: vocabSize must be a positive integer, got ${String(V)}`);
  }
  const maskId = checkInt32(who, 'maskId', opts.maskId ?? V);
  if (maskId < 0) throw new RangeError(`${who}: maskId must be >= 0, got ${maskId}`);
  const prob = checkFrac(who, 'prob', opts.prob ?? 0.15);
  const maskFrac = checkFrac(who, 'maskFrac', opts.maskFrac ?? 0.8);
  const randomFrac = checkFrac(who, 'randomFrac', opts.randomFrac ?? 0.1);
  if (maskFrac + randomFrac > 1 + 1e-12) throw new RangeError(`${who}: maskFrac + randomFrac must be <= 1`);
  const ignoreIndex = checkInt32(who, 'ignoreIndex', opts.ignoreIndex ?? -100);
  if (ignoreIndex >= 0 && ignoreIndex < V) throw new RangeError(`${who}: ignoreIndex ${ignoreIndex} is a real token id`);
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`${who}: seed must be an integer, got ${String(seed)}`);

  let src: Int32Array;
  if (ids instanceof Tensor) {
    if (ids.dtype !== 'int32') throw new TypeError(`${who}: ids must be int32, got ${ids.describe()}`);
    src = ids.toArray() as Int32Array;
  } else if (ids instanceof Int32Array) {
    src = ids;
  } else {
    throw new TypeError(`${who}: ids must be an Int32Array or an int32 Tensor`);
  }
  const n = src.length;
  const inputs = new Int32Array(n);
  const targets = new Int32Array(n).fill(ignoreIndex);
  const rng = makeRng(seed);
  for (let i = 0; i < skip; i++) {
    if (rng() >= prob) continue;
    const u = rng();
    if (!(u < maskFrac) && u < maskFrac + randomFrac) rng();
  }
  let selected = 0;
  for (let i = 0; i < n; i++) {
    const t = src[i]!;
    if (t < 0 || t >= V) throw new RangeError(`${who}: ids[${i}] = ${t} is out of range [0, ${V})`);
    inputs[i] = t;
    if (rng() >= prob) continue;
    selected++;
    targets[i] = t;
    const u = rng();
    if (u < maskFrac) inputs[i] = maskId;
    else if (u < maskFrac + randomFrac) inputs[i] = Math.min(V - 1, Math.floor(rng() * V));
  }
  return { inputs, targets, selected };
}

export interface MaskedSequenceBatch extends MaskedBatch {
  batchSize: number;
  seqLen: number;
}

/**
 * B random windows of T tokens of a stream (start positions uniform in [0, ids.length - T],
 * seeded), masked with maskBatch (mask seed derived from `seed`). With `shard` (./shard.ts) only
 * the shard's rows are built, with the windows and masks they have in the whole batch.
 */
export function randomMaskedWindows(
  ids: Int32Array,
  batchSize: number,
  T: number,
  seed: number,
  opts: Omit<MaskOptions, 'seed'>,
  shard?: DataShard,
): MaskedSequenceBatch {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`randomMaskedWindows: batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`randomMaskedWindows: T must be a positive integer, got ${T}`);
  if (ids.length < T) throw new RangeError(`randomMaskedWindows: a window of T = ${T} needs at least ${T} tokens, the stream has ${ids.length}`);
  const [lo, hi] = shardRows(batchSize, shard, 'randomMaskedWindows');
  const rng = makeRng(seed);
  const raw = new Int32Array((hi - lo) * T);
  for (let b = 0; b < batchSize; b++) {
    const s = Math.floor(rng() * (ids.length - T + 1));
    if (b >= lo && b < hi) raw.set(ids.subarray(s, s + T), (b - lo) * T);
  }
  const m = maskFrom(raw, { ...opts, seed: Math.floor(rng() * 2 ** 31) }, lo * T);
  return { ...m, batchSize: hi - lo, seqLen: T };
}
