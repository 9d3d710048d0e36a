// One rank of a test job: trainDistributed on the options in argv[2] (JSON), the world from the
// environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT). Prints one JSON line: the rank, every
// step's loss (rank 0 only: the others get no events), the validation perplexity.
import { trainDistributed } from '../../dist/train/distributed.js';

const input = JSON.parse(process.argv[2]);
const losses = [];
try {
  const r = await trainDistributed(input, {
    step: (e) => {
      losses.push(e.loss);
      if (process.env.TEST_SAY_STEPS) process.stderr.write(`step ${e.step}\n`);
    },
  });
  process.stdout.write(`${JSON.stringify({ rank: r.rank, worldSize: r.worldSize, losses, validPpl: r.validPpl, steps: r.steps })}\n`);
} catch (e) {
  process.stderr.write(`worker error: ${e.message}\n`);
  process.exit(2);
}
