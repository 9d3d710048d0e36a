// The emulated CUDA backend through the CLI, as a user would use it (LMKIT_CUDA_EMULATE=1):
// `lmkit info` says it is emulated, and `lmkit train --device cuda` runs a whole training job on
// the emulated device. Runs only in the emulated suite (npm run test:cuda-emu).
import { describe, expect, it } from 'vitest';

import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

import { glooLoadInfo } from '../../lib/dist/gloo.js';
import { native } from '../../lib/native/index.js';
import { cli, doneEvent, lmkit } from '../support/cli.js';

const why = native.emulation ? '' : 'the emulated CUDA addon is not loaded (LMKIT_CUDA_EMULATE=1)';
if (why) process.stdout.write(`[test/gpu] emulated CLI check skipped: ${why}\n`);

describe.skipIf(why !== '')('lmkit with LMKIT_CUDA_EMULATE=1', () => {
  it('info names the emulation, so nobody takes it for a GPU', () => {
    const r = lmkit('info');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^backend: {2}cuda \(emulated on CPU: HIP-CPU\)/m);
    expect(r.stdout).toMatch(/^cuda: {5}emulated by HIP-CPU; /m);
    const j = JSON.parse(lmkit('info', '--json').stdout) as { backend: string; emulation: string | null; cuda: { driverVersion: number } };
    expect(j.backend).toBe('cuda');
    expect(j.emulation).toBe('HIP-CPU');
    expect(j.cuda.driverVersion).toBe(0);
  });

  it('train --device cuda runs a whole job on the emulated device', () => {
    const r = lmkit('train', '--model', 'ffnn', '--steps', '3', '--batch', '8', '--embed', '8', '--hidden', '8', '--min-count', '200', '--eval-tokens', '200', '--no-test', '--device', 'cuda', '--json');
    expect(r.code, r.stderr).toBe(0);
    // Loaded by LMKIT_CUDA_EMULATE=1, or by LMKIT_ADDON (the ASan build of `test:cuda-emu -- --asan`).
    expect(r.stderr).toMatch(/device: cuda \((LMKIT_CUDA_EMULATE=1: emulated CUDA addon|LMKIT_ADDON=)/);
    const done = doneEvent(r.stdout);
    expect(done.steps).toBe(3);
    expect(Number.isFinite(done.valid_ppl as number)).toBe(true);
  });

  // Data-parallel on the emulated device: NCCL is for real GPUs; here the gradients go through Gloo, staged in host memory.
  const noGloo = glooLoadInfo().error ?? ((process.env.LD_PRELOAD ?? '').includes('asan') ? 'the ASan run' : null);
  it.skipIf(noGloo !== null)('train --device cuda --nproc 2: the gradients are all-reduced by Gloo', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    const args = ['train', '--model', 'ffnn', '--steps', '3', '--batch', '4', '--embed', '8', '--hidden', '8', '--min-count', '200', '--eval-tokens', '200', '--no-test'];
    const r = spawnSync(process.execPath, [cli, ...args, '--device', 'cuda', '--json', '--nproc', '2', '--master-port', String(port)], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, LMKIT_NUM_THREADS: '1' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/data-parallel: 2 ranks, global batch 8 \(4 on rank 0\), gradients all-reduced by gloo/);
    expect(doneEvent(r.stdout).steps).toBe(3);
  });
});
