// Data-parallel sharding of batches (lib/dist): a job of `world` ranks trains on one global
// batch of B rows per step, rank r owning the contiguous rows [floor(r B / W), floor((r+1) B / W)).
// The batch makers of lib/data take an optional `DataShard` and then build (and read from a token
// file) only their own rows, while drawing everything random exactly as the single-process run
// does (the same seeded window starts, the same shuffle, the same masks), so the W ranks' rows
// together are the single-process batch, row for row:
// - BPTT streams (bptt.ts, tokensource.ts): the stream layout is the global batch's (B streams of
//   floor(length / B) tokens); rank r owns its streams and reads only their tokens;
// - random windows, context windows (windows.ts, loaders.ts, tokensource.ts): every rank draws the
//   B starts, then materialises/reads only its rows;
// - masked windows (masking.ts): the masking RNG is replayed over the rows before the rank's
//   (its draws do not depend on the tokens), so the masks are the single-process ones.

/** This process's place among the ranks that share each batch. */
export interface DataShard {
  rank: number;
  world: number;
}

/** Rows [lo, hi) of a batch of `rows` rows that `shard` owns (all of them without a shard). */
export function shardRows(rows: number, shard: DataShard | undefined, who = 'data shard'): [number, number] {
  if (shard === undefined) return [0, rows];
  const { rank, world } = shard;
  if (!Number.isSafeInteger(world) || world < 1 || !Number.isSafeInteger(rank) || rank < 0 || rank >= world) {
    throw new RangeError(`${who}: rank ${String(rank)} of world ${String(world)} is not a shard`);
  }
  if (rows < world) {
    throw new RangeError(`${who}: a batch of ${rows} rows cannot be shared by ${world} ranks (use a larger --batch)`);
  }
  return [Math.floor((rank * rows) / world), Math.floor(((rank + 1) * rows) / world)];
}
