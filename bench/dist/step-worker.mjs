// One rank of the step-time benchmark (bench/dist-cpu.mjs): trainDistributed on the options in
// argv[2]; rank 0 prints the wall time of every step (ms) after argv[3] warm-up steps.
import { trainDistributed } from '../../dist/train/distributed.js';

const input = JSON.parse(process.argv[2]);
const warmup = Number(process.argv[3]);
const times = [];
let last = 0;
const r = await trainDistributed(input, {
  step: (e) => {
    const now = performance.now();
    if (e.step > warmup + 1) times.push(now - last);
    last = now;
  },
});
if (r.rank === 0) process.stdout.write(`${JSON.stringify({ worldSize: r.worldSize, parameters: r.parameters, stepMs: times })}\n`);
