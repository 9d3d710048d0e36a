import { defineConfig } from 'vitest/config';

import SummaryReporter from './test/support/summary-reporter.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The native thread pool is per process; forks keep test files isolated.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Uninitialised native memory reads as NaN, so an op relying on it fails loudly.
    env: { LMKIT_POISON_EMPTY: '1' },
    reporters: ['default', new SummaryReporter()],
  },
});
