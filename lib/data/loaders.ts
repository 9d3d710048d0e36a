// Batch loaders over token-id streams.
import { makeRng } from '../tensor.js';
import { shardRows, type DataShard } from './shard.js';

export interface WindowBatch {
  /** (B, context) previous tokens, row-major. */
  inputs: Int32Array;
  /** (B) the token that follows each context. */
  targets: Int32Array;
  size: number;
}

/**
 * Fixed-size context windows (feed-forward, log-linear models): one example per position
 * t >= context, predicting ids[t] from ids[t-context .. t-1]. Shuffled with a seeded RNG
 * (`shuffle: true`) or in order.
 */
export function* contextWindows(
  ids: Int32Array,
  context: number,
  batchSize: number,
  opts: { shuffle?: boolean; seed?: number; shard?: DataShard } = {},
): Generator<WindowBatch> {
  const n = ids.length - context;
  if (n <= 0) return;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i + context;
  if (opts.shuffle) {
    const rng = makeRng(opts.seed ?? 0);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      const tmp = order[i]!;
      order[i] = order[j]!;
      order[j] = tmp;
    }
  }
  for (let start = 0; start < n; start += batchSize) {
    const [lo, hi] = shardRows(Math.min(batchSize, n - start), opts.shard, 'contextWindows');
    const B = hi - lo;
    const inputs = new Int32Array(B * context);
    const targets = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const t = order[start + lo + b]!;
      inputs.set(ids.subarray(t - context, t), b * context);
      targets[b] = ids[t]!;
    }
    yield { inputs, targets, size: B };
  }
}
