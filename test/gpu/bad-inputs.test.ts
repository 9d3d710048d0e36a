// The bad-input suite of the CPU backend (test/reliability/bad-inputs.test.ts), run with every
// storage on the CUDA device (real or emulated): each op called with one argument made wrong
// (dtype, size, out-of-range ids, a disposed storage, a storage on the host) must throw a JS
// error naming the op, and the process must survive. Skipped without a CUDA device.
import { gpu, describeGpu } from './gpu.js';

if (gpu.ok) {
  process.env.LMKIT_BAD_INPUT_DEVICE = 'cuda';
  // Valid baseline calls are not checked results: they do not count for the coverage check.
  (globalThis as { lmkitNoCoverage?: boolean }).lmkitNoCoverage = true;
  await import('../reliability/bad-inputs.test.js');
} else {
  describeGpu('bad inputs with CUDA storages', () => {});
}
