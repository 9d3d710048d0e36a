import { defineConfig } from 'vitest/config';

import SummaryReporter from './test/support/summary-reporter.js';

export default defineConfig({
  test: {
    // The native thread pool is per process; forks keep test files isolated.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Uninitialised native memory reads as NaN, so an op relying on it fails loudly.
    env: { LMKIT_POISON_EMPTY: '1' },
    reporters: ['default', new SummaryReporter()],
    projects: [
      { extends: true, test: { name: 'lmkit', include: ['test/**/*.test.ts'], exclude: ['test/dist/**', '**/node_modules/**'] } },
      // The data-parallel tests start several training processes each: they run after all the
      // others, one file at a time, so that they neither starve nor are starved by the
      // timing-sensitive tests (examples/server's latency check) on a 2-core machine.
      { extends: true, test: { name: 'dist', include: ['test/dist/**/*.test.ts'], sequence: { groupOrder: 1 }, fileParallelism: false } },
    ],
  },
});
