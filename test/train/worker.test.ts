// Training in a worker thread leaves the main event loop free (a server keeps answering).
import { describe, expect, it } from 'vitest';

import { trainInWorker } from '../../lib/train/worker.js';

describe('trainInWorker', () => {
  it('trains Bengio MLP1 on Brown while a 10 ms timer on the main thread keeps firing (99% of gaps < 50 ms)', async () => {
    const gaps: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }, 10);
    const steps: number[] = [];
    let info = '';
    try {
      const result = await trainInWorker(
        { model: 'ffnn', corpus: 'brown', direct: true, steps: 40, evalTokens: 4000, test: false },
        { step: (e) => steps.push(e.loss), info: (m) => (info += `${m}\n`) },
      );
      expect(result.steps).toBe(40);
      expect(result.validPpl).toBeGreaterThan(1);
      expect(Number.isFinite(result.validPpl)).toBe(true);
    } finally {
      clearInterval(timer);
    }
    expect(info).toMatch(/corpus brown/);
    expect(steps.length).toBe(40);
    expect(steps[steps.length - 1]!).toBeLessThan(steps[0]!);
    // Skip the first gaps (worker start-up shares the CPU with module loading).
    const steady = gaps.slice(5).sort((a, b) => a - b);
    console.log(`timer gaps: n ${steady.length}, median ${steady[steady.length >> 1]!.toFixed(1)}, p99 ${steady[Math.floor(steady.length * 0.99)]!.toFixed(1)}, max ${steady[steady.length - 1]!.toFixed(1)} ms`);
    expect(steady.length).toBeGreaterThan(20);
    // p99 rather than max: on a shared 2-core machine a rare gap is the OS scheduler's
    // (other processes), not the training; the training itself never holds this thread.
    const p99 = steady[Math.floor(steady.length * 0.99)]!;
    expect(p99, `timer gaps (ms): p99 ${p99}, max ${steady[steady.length - 1]}`).toBeLessThan(50);
  });

  it('reports errors from the worker as a rejected promise, and aborts on a signal', async () => {
    await expect(trainInWorker({ model: 'ffnn', corpus: 'brown', hidden: 0, steps: 1 })).rejects.toThrow(
      /direct connections are required/,
    );
    const ac = new AbortController();
    const p = trainInWorker({ model: 'ffnn', corpus: 'brown', steps: 100_000 }, {}, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stopped by test')), 200);
    await expect(p).rejects.toThrow('stopped by test');
  });
});
