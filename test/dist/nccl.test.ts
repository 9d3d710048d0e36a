// NCCL (lib/dist/nccl.ts, native/dist/nccl_dl.cpp): there is no GPU or NCCL here, so what is
// tested is the loader's failure: one clear line on every rank, never a hang, and the search for
// PyTorch's wheel copy (site-packages/nvidia/nccl/lib). The NCCL collectives themselves have
// never run (docs/distributed.md).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

import { pytorchNcclDirs } from '../../lib/dist/nccl.js';
import { glooMissing, runJob, start } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'lmkit-nccl-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ncclJs = fileURLToPath(new URL('../../dist/dist/nccl.js', import.meta.url));

describe.skipIf(glooMissing !== null)('data parallel over NCCL: the loader', () => {
  it('LMKIT_DIST_BACKEND=nccl with no loadable libnccl.so.2: every rank fails with one line naming why', async () => {
    const missing = join(root, 'nowhere', 'libnccl.so.2');
    const input = { model: 'ffnn', corpus: 'brown', steps: 2, batch: 4, context: 3, embed: 8, hidden: 8, evalTokens: 200, test: false };
    const exits = await runJob(2, input, { LMKIT_DIST_BACKEND: 'nccl', LMKIT_NCCL: missing });
    for (const [rank, e] of exits.entries()) {
      expect(e.code).toBe(2);
      const line = e.stderr.split('\n').find((l) => l.startsWith('worker error: '));
      console.log(`rank ${rank}: ${line}`);
      expect(line).toContain(`rank ${rank}: data-parallel training over NCCL is unavailable: ${missing}: cannot open shared object file`);
      expect(line).toContain('LMKIT_DIST_BACKEND=gloo');
    }
  });

  it("finds PyTorch's wheel copy under a Python prefix, and an unloadable one is named in the error", async () => {
    const venv = join(root, 'venv');
    const dir = join(venv, 'lib', 'python3.11', 'site-packages', 'nvidia', 'nccl', 'lib');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'libnccl.so.2'), 'not an ELF file');
    expect(pytorchNcclDirs({ VIRTUAL_ENV: venv })).toEqual([dir]);
    expect(pytorchNcclDirs({ VIRTUAL_ENV: join(root, 'empty') }).includes(dir)).toBe(false);
    const script = `import(${JSON.stringify(ncclJs)}).then((m) => { try { m.ncclModule(); console.log('loaded'); } catch (e) { console.log(e.message); } })`;
    const e = await start(['-e', script], { VIRTUAL_ENV: venv, LMKIT_NCCL: '', LMKIT_NCCL_DIR: '' }).exit;
    const out = e.stdout.trim();
    console.log(out);
    expect(out.split('\n')).toHaveLength(1);
    expect(out).toMatch(/^data-parallel training over NCCL is unavailable: /);
    // The loader tried libnccl.so.2 on its path (absent here), then the wheel's copy, and says why each failed.
    expect(out).toContain(`${join(dir, 'libnccl.so.2')}: `);
  });
});
