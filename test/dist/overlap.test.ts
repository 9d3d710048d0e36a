// The gradient all-reduce overlapped with backward (lib/dist/ddp.ts, lib/autograd.ts's
// withGradReadyHook, the ordered collectives of native/dist/addon.cpp): with small buckets the
// all-reduces start while backward is still running (the native worker threads had entered
// Gloo's allreduce before backward returned: counted on the native side), and the run is
// bit-identical to the same buckets all-reduced after backward.
import { describe, expect, it } from 'vitest';

import { fileURLToPath } from 'node:url';

import { freePort, glooMissing, rankEnv, result, runJob, start } from './helpers.js';

const orderWorker = fileURLToPath(new URL('./order-worker.mjs', import.meta.url));

describe.skipIf(glooMissing !== null)('data parallel: all-reduce overlapped with backward', () => {
  it('lstm, 2 ranks, 48 KiB buckets: identical losses with and without overlap; buckets in flight during backward', async () => {
    const input = { model: 'lstm', corpus: 'brown', steps: 12, seed: 5, evalTokens: 300, test: false, batch: 4, context: 12, embed: 24, hidden: 24, layers: 2 };
    const env = { LMKIT_DIST_BUCKET_MB: String(48 / 1024), LMKIT_DIST_PROFILE: '1' };
    const over = await runJob(2, input, { ...env, LMKIT_DIST_OVERLAP: '1' });
    const after = await runJob(2, input, { ...env, LMKIT_DIST_OVERLAP: '0' });
    const a = over.map(result);
    const b = after.map(result);
    expect(a[0]!.losses).toHaveLength(12);
    // Bit-identical: the same buckets, the same sums, only started earlier.
    expect(a[0]!.losses).toEqual(b[0]!.losses);
    expect(a[0]!.validPpl).toBe(b[0]!.validPpl);
    const stats = (stderr: string): { buckets: number; issued: number; started: number; finished: number }[] =>
      [...stderr.matchAll(/(\d+) buckets, (\d+) issued during backward, (\d+) started and (\d+) finished in Gloo before backward returned/g)].map((m) => ({
        buckets: Number(m[1]),
        issued: Number(m[2]),
        started: Number(m[3]),
        finished: Number(m[4]),
      }));
    let startedEarly = 0;
    for (const [rank, e] of over.entries()) {
      const s = stats(e.stderr);
      expect(s).toHaveLength(12);
      const sum = (k: 'issued' | 'started' | 'finished'): number => s.reduce((n, x) => n + x[k], 0);
      console.log(
        `rank ${rank}: ${s[0]!.buckets} buckets per step; over 12 steps ${sum('issued')} issued during backward, ` +
          `${sum('started')} started and ${sum('finished')} finished in Gloo before backward returned`,
      );
      expect(s[0]!.buckets).toBeGreaterThan(2);
      // Every step issues buckets from the hook; the native side starts some before backward ends.
      for (const x of s) expect(x.issued).toBeGreaterThan(0);
      startedEarly += sum('started');
    }
    // (Over both ranks and 12 steps: a thread's scheduling on a loaded machine is not the code's.)
    expect(startedEarly).toBeGreaterThan(0);
    for (const e of after) for (const x of stats(e.stderr)) expect(x.issued).toBe(0);
  });

  it('24 all-reduces issued at once on each of 3 ranks run in the same order: every sum is right', async () => {
    const port = await freePort();
    const exits = await Promise.all([0, 1, 2].map((r) => start([orderWorker], rankEnv(r, 3, port)).exit));
    for (const e of exits) {
      expect(e.code, e.stderr).toBe(0);
      const r = JSON.parse(e.stdout.trim()) as { ok: boolean; issued: number };
      expect(r.issued).toBe(24); // all issued before the first was awaited
      expect(r.ok).toBe(true);
    }
  });
});
