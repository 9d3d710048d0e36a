// Setup file of the emulated CUDA suite (vitest.cuda-emu.config.ts): records, per test file,
// which native ops were called with CUDA storages (and whether they returned or threw) and the
// emulated addon's kernel-launch counters, into $LMKIT_EMU_COUNTS_DIR/<pid>.json. The last file
// of the run, test/gpu/coverage.test.ts, merges them and checks that every launch site in
// native/cuda and every exported CUDA op ran. Does nothing with a real GPU or the CPU addon.
// A file that sets globalThis.lmkitNoCoverage (the bad-input suite, whose calls are valid
// baselines, not checked results) is not counted.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';

import { native } from '../../lib/native/index.js';

export interface OpRecord {
  ok: number;
  threw: number;
}

const dir = process.env.LMKIT_EMU_COUNTS_DIR;
const noCoverage = (): boolean => (globalThis as { lmkitNoCoverage?: boolean }).lmkitNoCoverage === true;
const ops: Record<string, OpRecord> = {};

function onCuda(x: unknown): boolean {
  if (typeof x !== 'object' || x === null) return false;
  try {
    return (x as { device?: unknown }).device === 'cuda';
  } catch {
    return false; // not a live Storage (the bad-input suite passes fakes): the op reports it
  }
}

if (native.emulation && dir) {
  const addon = native as unknown as Record<string, unknown>;
  for (const name of Object.keys(addon)) {
    const f = addon[name];
    if (typeof f !== 'function' || name === 'Storage' || /^[A-Z]/.test(name)) continue;
    addon[name] = function recorded(this: unknown, ...args: unknown[]): unknown {
      if (noCoverage() || !args.some(onCuda)) return (f as (...a: unknown[]) => unknown).apply(this, args);
      const r = (ops[name] ??= { ok: 0, threw: 0 });
      try {
        const out = (f as (...a: unknown[]) => unknown).apply(this, args);
        r.ok++;
        return out;
      } catch (err) {
        r.threw++;
        throw err;
      }
    };
  }
  afterAll(() => {
    if (noCoverage()) return;
    mkdirSync(dir, { recursive: true });
    const launches = native.emuLaunchCounts?.() ?? {};
    writeFileSync(join(dir, `${process.pid}-${Date.now()}.json`), JSON.stringify({ ops, launches }));
  });
}
