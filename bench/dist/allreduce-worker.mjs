// One rank of the lmkit all-reduce benchmark (bench/dist-cpu.mjs): ProcessGroup.allreduceSum on
// Float32Arrays (lmkit's path: JS -> lmkit_gloo.node AsyncWorker -> gloo::allreduce), same sizes
// and iterations as the C++ and PyTorch peers. argv[2]: "ELEMENTS:ITERS,...". Rank 0 prints JSON lines.
import { worldFromEnv } from '../../dist/dist/env.js';
import { ProcessGroup } from '../../dist/dist/group.js';

const cases = process.argv[2].split(',').map((c) => c.split(':').map(Number));
const g = await ProcessGroup.init(worldFromEnv());
for (const [n, iters] of cases) {
  const buf = new Float32Array(n).fill(1);
  for (let i = 0; i < 3; i++) await g.allreduceSum(buf);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) await g.allreduceSum(buf);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (g.rank === 0) process.stdout.write(`${JSON.stringify({ elements: n, iters, seconds })}\n`);
}
await g.close();
