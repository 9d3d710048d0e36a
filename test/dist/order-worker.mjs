// One rank of the ordering test (overlap.test.ts): issues 24 all-reduces of different sizes at
// once, from synchronous code, then awaits them all; prints whether every sum is right.
import { worldFromEnv } from '../../dist/dist/env.js';
import { ProcessGroup } from '../../dist/dist/group.js';

const g = await ProcessGroup.init(worldFromEnv());
const bufs = Array.from({ length: 24 }, (_, i) => Float32Array.from({ length: 1 + ((i * 7919) % 50000) }, (_, j) => (g.rank + 1) * (i + 1) + (j % 3)));
const before = g.collectiveStats();
const all = bufs.map((b) => g.allreduceSum(b));
const issued = g.collectiveStats().issued - before.issued;
await Promise.all(all);
const W = g.worldSize;
const ok = bufs.every((b, i) => b.every((v, j) => v === ((W * (W + 1)) / 2) * (i + 1) + W * (j % 3)));
process.stdout.write(`${JSON.stringify({ rank: g.rank, ok, issued })}\n`);
await g.close();
