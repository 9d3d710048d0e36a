// CUDA out of memory: an allocation larger than the device is a JS error, and the process, the
// device and the memory accounting carry on as before (skipped without a GPU; see test/gpu/gpu.ts).
// Nothing here holds device memory for long, so these tests can run beside the other GPU test
// files; filling the whole device is checked by the `oom` step of scripts/gpu-session.sh, alone
// on the GPU. Written without a GPU; it has not run on one yet (docs/cuda.md).
import { expect, it } from 'vitest';

import { Tensor, matmul, memory, sum, tidy } from '../../lib/index.js';
import { native } from '../../lib/native/index.js';
import { describeGpu } from './gpu.js';

const GB = 1024 ** 3;

/** Device bytes of this process (memory().deviceBytes), 0 when absent. */
const deviceBytes = (): number => memory().deviceBytes ?? 0;

/** Floats in an allocation clearly larger than the device: 2.5x its memory, at least 200 GB. */
function tooManyFloats(): number {
  const total = native.cudaInfo?.().totalMemory ?? 0;
  return Math.ceil(Math.max(200 * GB, 2.5 * total) / 4);
}

/** The device still computes after a failed allocation: a small op, read back. */
function stillWorks(): void {
  tidy(() => {
    const a = Tensor.full([4, 3], 2, 'float32', 'cuda');
    const b = Tensor.full([3, 2], 0.5, 'float32', 'cuda');
    expect(Array.from(matmul(a, b).toArray())).toEqual([3, 3, 3, 3, 3, 3, 3, 3]);
  });
  native.cudaSynchronize!(); // no sticky error left behind
}

describeGpu('cuda out of memory', () => {
  it('Tensor.zeros larger than the device throws a JS error and the process goes on', () => {
    const before = deviceBytes();
    const n = tooManyFloats();
    let err: unknown;
    try {
      Tensor.zeros([n], 'float32', 'cuda');
    } catch (e) {
      err = e;
    }
    expect(err, `allocating ${((n * 4) / GB).toFixed(0)} GB on the device did not throw`).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/memory|alloc/i);
    process.stdout.write(`[test/gpu] ${((n * 4) / GB).toFixed(0)} GB on cuda: ${(err as Error).message}\n`);
    expect(deviceBytes()).toBe(before);
    stillWorks();
  });

  it('an op whose output does not fit throws, and its inputs stay usable', () => {
    // (N,1) @ (1,N): inputs of a few MB, an output of 4 N^2 bytes > the device.
    const total = native.cudaInfo?.().totalMemory ?? 80 * GB;
    const N = Math.ceil(Math.sqrt((1.5 * Math.max(total, 100 * GB)) / 4));
    tidy(() => {
      const a = Tensor.full([N, 1], 1, 'float32', 'cuda');
      const b = Tensor.full([1, N], 1, 'float32', 'cuda');
      const before = deviceBytes();
      expect(() => matmul(a, b)).toThrow(/memory|alloc/i);
      expect(deviceBytes()).toBe(before);
      expect(sum(a).item()).toBe(N);
    });
    stillWorks();
  });
});

it('the OOM suite reports why it runs or is skipped', () => {
  // Keeps this file non-empty (and its skip visible) where no GPU is usable.
  expect(typeof native.backend).toBe('string');
});
