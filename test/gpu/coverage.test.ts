// Coverage of the emulated CUDA suite (runs last in vitest.cuda-emu.config.ts): every kernel
// launch site in native/cuda/*.cu (each `LMKIT_LAUNCH(kernel, ...)`) and every op the CUDA
// addon exports must have run in this suite, the op with CUDA storages and without throwing.
// Counts come from the emulated addon's launch counters and the op recorder
// (test/gpu/launch-record.ts), per test file, merged here. Skipped (with the reason) where the
// emulated addon is not loaded: a real GPU has no launch counters.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/native/index.js';
import type { OpRecord } from './launch-record.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = process.env.LMKIT_EMU_COUNTS_DIR;
const why = !native.emulation
  ? 'the emulated CUDA addon is not loaded (LMKIT_CUDA_EMULATE=1)'
  : !dir
    ? 'LMKIT_EMU_COUNTS_DIR is not set (scripts/test-cuda-emu.sh sets it)'
    : '';
if (why) process.stdout.write(`[test/gpu] coverage check skipped: ${why}\n`);

// Functions of the addon that are not ops (process-level, device info, test hooks).
const NOT_OPS = new Set(['memory', 'emptyCache', 'numThreads', 'setNumThreads', 'deviceCount', 'cudaInfo', 'cudaSynchronize', 'cudaStream', 'emuLaunchCounts', 'emuResetLaunchCounts', 'sgemm_backend']);

/** "<file>:<kernel>" for every LMKIT_LAUNCH in native/cuda/*.cu, as the launch macro names it. */
export function launchSites(): string[] {
  const cudaDir = join(root, 'native', 'cuda');
  const sites = new Set<string>();
  for (const f of readdirSync(cudaDir).filter((n) => n.endsWith('.cu'))) {
    const src = readFileSync(join(cudaDir, f), 'utf8');
    for (const m of src.matchAll(/LMKIT_LAUNCH\(\s*([A-Za-z_][\w:]*(?:<[^<>(),]*>)?)\s*,/g)) sites.add(`${f}:${m[1]!.replace(/\s+/g, '')}`);
  }
  return [...sites].sort();
}

describe.skipIf(why !== '')('emulated CUDA suite coverage', () => {
  const launches: Record<string, number> = {};
  const ops: Record<string, OpRecord> = {};
  if (!why && existsSync(dir!)) {
    for (const f of readdirSync(dir!).filter((n) => n.endsWith('.json'))) {
      const rec = JSON.parse(readFileSync(join(dir!, f), 'utf8')) as { ops: Record<string, OpRecord>; launches: Record<string, number> };
      for (const [k, n] of Object.entries(rec.launches)) launches[k] = (launches[k] ?? 0) + n;
      for (const [k, r] of Object.entries(rec.ops)) {
        const o = (ops[k] ??= { ok: 0, threw: 0 });
        o.ok += r.ok;
        o.threw += r.threw;
      }
    }
  }

  it('every kernel launch site in native/cuda ran at least once', () => {
    const sites = launchSites();
    expect(sites.length).toBeGreaterThan(50);
    const lines = sites.map((s) => `${String(launches[s] ?? 0).padStart(8)}  ${s}`);
    const ref = Object.entries(launches).filter(([k]) => k.startsWith('cublas_ref.cpp:'));
    for (const [k, n] of ref) lines.push(`${String(n).padStart(8)}  ${k}`);
    process.stdout.write(`[test/gpu] kernel launches in the emulated suite (${sites.length} launch sites):\n${lines.join('\n')}\n`);
    const missing = sites.filter((s) => !(launches[s]! > 0));
    expect(missing, `launch sites never executed: ${missing.join(', ')}`).toEqual([]);
    // Every site the counters saw is one the scan found (the scan does not miss a launch form).
    const unknown = Object.keys(launches).filter((k) => !k.startsWith('cublas_ref.cpp:') && !sites.includes(k));
    expect(unknown, 'launches not matched by the source scan').toEqual([]);
  });

  it('the cuBLAS path ran through the reference cuBLAS unless LMKIT_CUBLAS=0', () => {
    const n = launches['cublas_ref.cpp:sgemm_ref (cuBLAS reference)'] ?? 0;
    if (process.env.LMKIT_CUBLAS === '0') expect(n).toBe(0);
    else expect(n).toBeGreaterThan(0);
  });

  it('every op the CUDA addon exports ran on CUDA storages and returned', () => {
    const addon = native as unknown as Record<string, unknown>;
    const exported = Object.keys(addon).filter((k) => typeof addon[k] === 'function' && !/^[A-Z]/.test(k) && !NOT_OPS.has(k)).sort();
    expect(exported.length).toBeGreaterThan(40);
    const lines = exported.map((k) => `${String(ops[k]?.ok ?? 0).padStart(8)} ok ${String(ops[k]?.threw ?? 0).padStart(4)} threw  ${k}`);
    process.stdout.write(`[test/gpu] ops called with CUDA storages (${exported.length} exported ops):\n${lines.join('\n')}\n`);
    const missing = exported.filter((k) => !(ops[k]?.ok! > 0));
    expect(missing, `ops never run on CUDA storages: ${missing.join(', ')}`).toEqual([]);
  });
});
