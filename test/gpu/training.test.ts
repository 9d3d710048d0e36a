// Training on the CUDA device against the CPU: every neural model family trains 20 steps with
// the whole run on `cuda` (weights, optimizer state, batches: what `lmkit train --device cuda`
// does) and on `cpu`, same seed and data, and the losses must agree step by step, as must the
// validation perplexity at the end. On the emulated CUDA backend (npm run test:cuda-emu) and on
// a real GPU (npm run test:gpu; TF32 off so that both are fp32). Skipped without either.
//
// Tolerance: 2e-4 relative per step. The devices differ in summation order (block reductions
// vs the CPU's vector loops, the GEMM's K order), about 1e-7 relative per operation; through a
// forward and backward of a few dozen ops and 20 Adam steps that grows to ~1e-5 here (the
// largest difference is printed). A wrong kernel gives differences of 1e-2 or more from the
// first step on.
import { expect, it } from 'vitest';

process.env.LMKIT_CUDA_TF32 = '0';

import { setDefaultDevice } from '../../lib/tensor.js';
import { runTraining, type TrainRunOptions } from '../../lib/train/run.js';
import { describeGpu } from './gpu.js';

const STEPS = 20;
const RTOL = 2e-4;
const small: Partial<TrainRunOptions> = { corpus: 'brown', minCount: 50, evalTokens: 200, test: false, seed: 7, steps: STEPS };

const families: [string, TrainRunOptions][] = [
  ['loglinear', { ...small, model: 'loglinear', context: 2, buckets: 64, batch: 16 } as TrainRunOptions],
  ['ffnn (direct, dropout)', { ...small, model: 'ffnn', context: 3, embed: 12, hidden: 20, direct: true, dropout: 0.2, batch: 33 } as TrainRunOptions],
  ['rnn (SGD, clip)', { ...small, model: 'rnn', context: 6, embed: 16, hidden: 16, batch: 5, optimizer: 'sgd', lr: 0.1, clip: 1 } as TrainRunOptions],
  ['lstm (2 layers, dropout)', { ...small, model: 'lstm', context: 7, embed: 20, hidden: 20, layers: 2, dropout: 0.3, batch: 3 } as TrainRunOptions],
  ['transformer (dropout, cosine, accumulate 2)', { ...small, model: 'transformer', context: 9, embed: 16, heads: 2, layers: 1, dropout: 0.1, batch: 3, schedule: 'cosine', warmup: 3, accumulate: 2 } as TrainRunOptions],
  ['masked LM', { ...small, model: 'mlm', context: 8, embed: 16, heads: 2, layers: 1, batch: 3 } as TrainRunOptions],
  ['mamba', { ...small, model: 'mamba', context: 8, embed: 16, layers: 1, batch: 2 } as TrainRunOptions],
  ['ffnn with Adafactor', { ...small, minCount: 400, model: 'ffnn', context: 2, embed: 8, hidden: 12, batch: 16, optimizer: 'adafactor', lr: 0.01 } as TrainRunOptions],
  ['ffnn with Sophia', { ...small, model: 'ffnn', context: 2, embed: 8, hidden: 12, batch: 16, optimizer: 'sophia', lr: 1e-3 } as TrainRunOptions],
  ['char-level lstm', { ...small, model: 'lstm', tokenizer: 'char', context: 8, embed: 8, hidden: 16, batch: 4, minCount: 1 } as TrainRunOptions],
];

async function run(device: 'cpu' | 'cuda', o: TrainRunOptions): Promise<{ losses: number[]; ppl: number }> {
  setDefaultDevice(device);
  try {
    const losses: number[] = [];
    const r = await runTraining(o, { step: (e) => void losses.push(e.loss) });
    return { losses, ppl: r.validPpl };
  } finally {
    setDefaultDevice('cpu');
  }
}

describeGpu('training on the CUDA device vs the CPU', () => {
  const worst: string[] = [];
  for (const [name, opts] of families) {
    it(`${name}: ${STEPS} steps, losses agree step by step`, async () => {
      const cpu = await run('cpu', opts);
      const cuda = await run('cuda', opts);
      expect(cpu.losses.length).toBe(STEPS);
      expect(cuda.losses.length).toBe(STEPS);
      let maxRel = 0;
      for (let i = 0; i < STEPS; i++) {
        const rel = Math.abs(cuda.losses[i]! - cpu.losses[i]!) / Math.max(Math.abs(cpu.losses[i]!), 1e-6);
        maxRel = Math.max(maxRel, rel);
        expect(rel, `step ${i + 1}: cuda ${cuda.losses[i]} vs cpu ${cpu.losses[i]}`).toBeLessThan(RTOL);
      }
      const pplRel = Math.abs(cuda.ppl - cpu.ppl) / cpu.ppl;
      expect(pplRel, `valid perplexity: cuda ${cuda.ppl} vs cpu ${cpu.ppl}`).toBeLessThan(RTOL);
      // Training did something on both (the loss at the end differs from the start).
      expect(cpu.losses[STEPS - 1]).not.toBe(cpu.losses[0]);
      worst.push(`${name}: max relative loss difference ${maxRel.toExponential(2)}, valid ppl ${pplRel.toExponential(2)}`);
      process.stdout.write(`[test/gpu] training ${worst[worst.length - 1]}\n`);
    });
  }
});
