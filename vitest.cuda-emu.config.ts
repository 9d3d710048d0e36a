// The emulated CUDA suite (`npm run test:cuda-emu`, scripts/test-cuda-emu.sh): test/gpu, unchanged,
// against the emulated CUDA addon (build-cuda-emu: native/cuda compiled by g++ on HIP-CPU), where
// it must not skip (LMKIT_REQUIRE_GPU=1). Files run one after another so that coverage.test.ts,
// which checks that every CUDA launch site and op ran, comes last.
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

import SummaryReporter from './test/support/summary-reporter.js';

class CoverageLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
    const last = (f: TestSpecification): number => (f.moduleId.endsWith('coverage.test.ts') ? 1 : 0);
    return sorted.sort((a, b) => last(a) - last(b));
  }
}

export default defineConfig({
  test: {
    include: ['test/gpu/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    sequence: { sequencer: CoverageLast },
    setupFiles: ['test/gpu/launch-record.ts'],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    env: { LMKIT_POISON_EMPTY: '1', LMKIT_CUDA_EMULATE: '1', LMKIT_REQUIRE_GPU: '1' },
    reporters: ['default', new SummaryReporter()],
  },
});
