// Data-parallel sharding in the batch makers (lib/data/shard.ts): for W ranks, the rows every
// rank builds, put together in rank order, are exactly the single-process batch (same windows,
// same shuffle, same masks, same BPTT streams), and on a token file each rank reads about 1/W of
// the bytes the single process reads.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { bpttBatches } from '../../lib/data/bptt.js';
import { contextWindows } from '../../lib/data/loaders.js';
import { randomMaskedWindows } from '../../lib/data/masking.js';
import { shardRows, type DataShard } from '../../lib/data/shard.js';
import { TokenFile, TokenFileWriter } from '../../lib/data/tokenfile.js';
import { WordTokenizer } from '../../lib/data/tokenizers.js';
import { bpttBatchesFrom, randomContextWindowsFrom, randomWindowsFrom } from '../../lib/data/tokensource.js';
import { Vocab } from '../../lib/data/vocab.js';
import { randomWindows } from '../../lib/data/windows.js';

const root = mkdtempSync(join(tmpdir(), 'lmkit-shard-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const V = 50;
function seeded(n: number, seed = 11): Int32Array {
  let s = seed;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = s % V;
  }
  return out;
}
const ids = seeded(5000);

function tokenFile(): string {
  const path = join(root, `t${Math.random().toString(36).slice(2)}.tok`);
  const w = new TokenFileWriter(path, new WordTokenizer(new Vocab(['<unk>', ...Array.from({ length: V - 1 }, (_, i) => `w${i}`)])));
  w.append(ids);
  w.finish();
  return path;
}

const cat = (parts: Int32Array[]): Int32Array => {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const shards = (W: number): DataShard[] => Array.from({ length: W }, (_, rank) => ({ rank, world: W }));

describe('data shards: W ranks build the single-process batch between them', () => {
  it('shardRows: contiguous, covering, and refusing fewer rows than ranks', () => {
    expect(shardRows(10, undefined)).toEqual([0, 10]);
    expect(shards(3).map((s) => shardRows(10, s))).toEqual([
      [0, 3],
      [3, 6],
      [6, 10],
    ]);
    expect(() => shardRows(2, { rank: 0, world: 3 })).toThrow(/a batch of 2 rows cannot be shared by 3 ranks/);
    expect(() => shardRows(4, { rank: 3, world: 3 })).toThrow(/not a shard/);
  });

  for (const W of [2, 3]) {
    it(`W = ${W}: BPTT streams, random windows, context windows, masked windows (in memory and from a token file)`, () => {
      const B = 7;
      const one = [...bpttBatches(ids, B, 20)];
      const per = shards(W).map((s) => [...bpttBatches(ids, B, 20, null, s)]);
      const file = TokenFile.open(tokenFile());
      try {
        const perFile = shards(W).map((s) => [...bpttBatchesFrom(file, B, 20, null, s)]);
        one.forEach((b, i) => {
          expect(per.reduce((n, p) => n + p[i]!.batchSize, 0)).toBe(B);
          expect(cat(per.map((p) => p[i]!.inputs))).toEqual(b.inputs);
          expect(cat(per.map((p) => p[i]!.targets))).toEqual(b.targets);
          expect(cat(perFile.map((p) => p[i]!.inputs))).toEqual(b.inputs);
          expect(cat(perFile.map((p) => p[i]!.targets))).toEqual(b.targets);
        });
        const rw = randomWindows(ids, B, 16, 5);
        const rws = shards(W).map((s) => randomWindows(ids, B, 16, 5, s));
        const rwf = shards(W).map((s) => randomWindowsFrom(file, B, 16, 5, s));
        expect(cat(rws.map((b) => b.inputs))).toEqual(rw.inputs);
        expect(cat(rws.map((b) => b.targets))).toEqual(rw.targets);
        expect(cat(rwf.map((b) => b.inputs))).toEqual(rw.inputs);
        expect(rws.reduce((n, b) => n + b.tokens, 0)).toBe(rw.tokens);
        const cw = randomContextWindowsFrom(file, 4, B, 9);
        const cws = shards(W).map((s) => randomContextWindowsFrom(file, 4, B, 9, s));
        expect(cat(cws.map((b) => b.inputs))).toEqual(cw.inputs);
        expect(cat(cws.map((b) => b.targets))).toEqual(cw.targets);
      } finally {
        file.close();
      }
      const ctx = [...contextWindows(ids.subarray(0, 300), 3, 32, { shuffle: true, seed: 4 })];
      const ctxs = shards(W).map((s) => [...contextWindows(ids.subarray(0, 300), 3, 32, { shuffle: true, seed: 4, shard: s })]);
      ctx.forEach((b, i) => {
        expect(cat(ctxs.map((p) => p[i]!.inputs))).toEqual(b.inputs);
        expect(cat(ctxs.map((p) => p[i]!.targets))).toEqual(b.targets);
        expect(ctxs.reduce((n, p) => n + p[i]!.size, 0)).toBe(b.size);
      });
      const m = randomMaskedWindows(ids, B, 24, 13, { vocabSize: V });
      const ms = shards(W).map((s) => randomMaskedWindows(ids, B, 24, 13, { vocabSize: V }, s));
      expect(cat(ms.map((b) => b.inputs))).toEqual(m.inputs);
      expect(cat(ms.map((b) => b.targets))).toEqual(m.targets);
      expect(ms.reduce((n, b) => n + b.selected, 0)).toBe(m.selected);
      expect(m.selected).toBeGreaterThan(0);
    });
  }

  it('a token file: each of 4 ranks reads 1/4 of the bytes the single process reads', () => {
    const path = tokenFile();
    const bytes = (shard?: DataShard): number => {
      const f = TokenFile.open(path);
      try {
        for (const b of bpttBatchesFrom(f, 16, 25, null, shard)) void b;
        for (let s = 0; s < 10; s++) randomWindowsFrom(f, 16, 32, s, shard);
        for (let s = 0; s < 10; s++) randomContextWindowsFrom(f, 5, 16, s, shard);
        return f.bytesRead;
      } finally {
        f.close();
      }
    };
    const single = bytes();
    const ranks = shards(4).map((s) => bytes(s));
    console.log(`token file: 1 process read ${single} bytes; 4 ranks read ${ranks.join(', ')}`);
    expect(single).toBeGreaterThan(0);
    expect(ranks.reduce((a, b) => a + b, 0)).toBe(single);
    for (const r of ranks) expect(r).toBe(single / 4);
  });
});
