// Loads the native addon and types its surface.
//
// Where the addon comes from, in order:
//   1. LMKIT_ADDON=<path>        an explicit addon file (e.g. the ASan build); failing to load it is an error.
//   2. LMKIT_BACKEND=cpu|cuda    an explicit backend; `cuda` that cannot load falls back to the CPU
//                                addon with a one-line warning on stderr.
//   3. otherwise: the CUDA addon when one is present and loads, else the CPU addon.
// For each backend, a local source build (build/Release, `npm run build:native`) wins over the
// prebuilt binary shipped in prebuilds/<platform>-<arch>/: building from source is an explicit act,
// and in a checkout a stale prebuild must not shadow freshly compiled kernels.
// `nativeLoadInfo` says which file was taken and why (`lmkit info` prints it).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { OpsNative } from './families.js';
import type { CoreNative } from './storage.js';

export type { DType, NativeStorage } from './storage.js';

export type NativeAddon = CoreNative & OpsNative;

export type NativeBackend = 'cpu' | 'cuda';

/** Which addon file was loaded and why. */
export interface NativeLoadInfo {
  /** The backend the loaded addon reports (its `backend` export), or the one asked for. */
  backend: NativeBackend;
  /** Absolute path of the loaded .node file. */
  path: string;
  /** One line: why this file (and not another) was taken. */
  reason: string;
  /** Where the file came from. */
  source: 'LMKIT_ADDON' | 'build' | 'prebuild';
  /** Files tried before it that exist but failed to load, with the first line of the error. */
  failed: { path: string; error: string }[];
}

const require = createRequire(import.meta.url);
/** The package root: two levels above this file, both in lib/ (sources) and dist/ (compiled). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Candidate {
  path: string;
  source: 'build' | 'prebuild';
}

/** Candidate files of one backend, most preferred first. */
export function addonCandidates(backend: NativeBackend, root = packageRoot): Candidate[] {
  const prebuilds = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (backend === 'cuda') {
    return [
      { path: join(root, 'build', 'Release', 'lmkit_cuda.node'), source: 'build' },
      { path: join(prebuilds, 'lmkit-cuda.node'), source: 'prebuild' },
    ];
  }
  return [
    { path: join(root, 'build', 'Release', 'lmkit.node'), source: 'build' },
    { path: join(prebuilds, 'lmkit.node'), source: 'prebuild' },
    // prebuildify's own naming (what node-gyp-build looks for).
    { path: join(prebuilds, 'node.napi.node'), source: 'prebuild' },
  ];
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

function warn(message: string): void {
  process.stderr.write(`lmkit: warning: ${message}\n`);
}

function reportedBackend(addon: NativeAddon, fallback: NativeBackend): NativeBackend {
  const b = (addon as { backend?: unknown }).backend;
  return b === 'cuda' || b === 'cpu' ? b : fallback;
}

/** Tries the existing candidates in order; returns the first that loads. */
function tryLoad(
  cands: Candidate[],
  failed: NativeLoadInfo['failed'],
): { addon: NativeAddon; cand: Candidate } | undefined {
  for (const cand of cands) {
    if (!existsSync(cand.path)) continue;
    try {
      return { addon: require(cand.path) as NativeAddon, cand };
    } catch (err) {
      failed.push({ path: cand.path, error: firstLine(err) });
    }
  }
  return undefined;
}

function describe(cand: Candidate): string {
  return cand.source === 'build' ? 'local build (build/Release)' : `prebuilt binary (prebuilds/${process.platform}-${process.arch})`;
}

function load(): { addon: NativeAddon; info: NativeLoadInfo } {
  const failed: NativeLoadInfo['failed'] = [];

  const explicit = process.env.LMKIT_ADDON;
  if (explicit) {
    const path = resolve(explicit);
    try {
      const addon = require(path) as NativeAddon;
      const backend = reportedBackend(addon, 'cpu');
      return { addon, info: { backend, path, source: 'LMKIT_ADDON', reason: `LMKIT_ADDON=${explicit}`, failed } };
    } catch (err) {
      throw new Error(`lmkit: cannot load the native addon LMKIT_ADDON=${explicit} (${firstLine(err)})`);
    }
  }

  const rawBackend = (process.env.LMKIT_BACKEND ?? '').trim().toLowerCase();
  let wanted: NativeBackend | 'auto' = 'auto';
  if (rawBackend === 'cpu' || rawBackend === 'cuda') wanted = rawBackend;
  else if (rawBackend !== '' && rawBackend !== 'auto')
    warn(`LMKIT_BACKEND=${process.env.LMKIT_BACKEND} is not cpu, cuda or auto; choosing automatically`);

  let cudaNote = '';
  if (wanted !== 'cpu') {
    const cudaCands = addonCandidates('cuda');
    const got = tryLoad(cudaCands, failed);
    if (got) {
      const why = wanted === 'cuda' ? 'LMKIT_BACKEND=cuda' : 'CUDA addon present and loaded';
      return {
        addon: got.addon,
        info: {
          backend: reportedBackend(got.addon, 'cuda'),
          path: got.cand.path,
          source: got.cand.source,
          reason: `${why}: ${describe(got.cand)}`,
          failed,
        },
      };
    }
    if (failed.length > 0) {
      cudaNote = `the CUDA addon failed to load (${failed[0]!.error})`;
      warn(`${cudaNote} [${failed[0]!.path}]; falling back to the CPU addon`);
    } else {
      cudaNote = 'no CUDA addon found (this build has none)';
      if (wanted === 'cuda') warn(`LMKIT_BACKEND=cuda but ${cudaNote}; falling back to the CPU addon`);
    }
  }

  const cpuCands = addonCandidates('cpu');
  const nFailedBefore = failed.length;
  const got = tryLoad(cpuCands, failed);
  if (got) {
    const parts: string[] = [];
    if (wanted === 'cpu') parts.push('LMKIT_BACKEND=cpu');
    else if (wanted === 'cuda') parts.push(`LMKIT_BACKEND=cuda fell back to CPU: ${cudaNote}`);
    else parts.push(cudaNote);
    parts.push(describe(got.cand));
    if (failed.length > nFailedBefore) {
      const f = failed[nFailedBefore]!;
      parts.push(`after ${f.path} failed: ${f.error}`);
      warn(`${f.path} failed to load (${f.error}); using ${got.cand.path}`);
    }
    return {
      addon: got.addon,
      info: {
        backend: reportedBackend(got.addon, 'cpu'),
        path: got.cand.path,
        source: got.cand.source,
        reason: parts.join('; '),
        failed,
      },
    };
  }

  const tried = cpuCands.map((c) => c.path).join(', ');
  const errors = failed.map((f) => `${f.path}: ${f.error}`).join('; ');
  throw new Error(
    `lmkit: cannot load the native addon (${errors || `none of ${tried} exists`}). ` +
      `Build it with \`npm run build:native\` in ${packageRoot}, or point LMKIT_ADDON at a built lmkit.node`,
  );
}

const loaded = load();

/** The loaded addon. */
export const native: NativeAddon = loaded.addon;

/** Which addon was loaded, from where, and why. */
export const nativeLoadInfo: Readonly<NativeLoadInfo> = Object.freeze(loaded.info);
