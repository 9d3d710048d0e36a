// Loads the native addon and types its surface.
//
// Where the addon comes from, in order:
//   1. LMKIT_ADDON=<path>        an explicit addon file (e.g. the ASan build); failing to load it is an error.
//   2. LMKIT_BACKEND=cpu|cuda    an explicit backend; `cuda` that cannot load falls back to the CPU
//                                addon with a one-line warning on stderr.
//   3. otherwise: the CUDA addon when one is present, loads and sees a GPU (its deviceCount()
//      is > 0), else the CPU addon (silently: a CUDA addon on a machine without a GPU is normal).
// The CUDA addon is looked for in build-cuda/Release (scripts/build-cuda.sh), build/Release
// (a cmake-js build with -DLMKIT_CUDA=ON), the optional package lmkit-cuda-<platform>-<arch>
// (`npm install lmkit-cuda-linux-x64`: the prebuilt CUDA addon, kept out of the CPU-only install;
// its version must equal lmkit's) and prebuilds/<platform>-<arch>/lmkit-cuda.node; an
// explicit LMKIT_BACKEND=cuda that cannot be served (no addon, load error, no GPU) falls back to
// the CPU addon with a one-line warning. See docs/cuda.md.
// For each backend, a local source build (build/Release, `npm run build:native`) wins over the
// prebuilt binary shipped in prebuilds/<platform>-<arch>/: building from source is an explicit act,
// and in a checkout a stale prebuild must not shadow freshly compiled kernels.
// The emulated CUDA addon (build-cuda-emu/Release/lmkit_cuda.node, `npm run build:cuda-emu`: the CUDA
// kernels compiled with g++ against HIP-CPU, running on the CPU) is never picked by default: only
// with LMKIT_CUDA_EMULATE=1 (a missing build is then an error, not a fallback) or an explicit
// LMKIT_ADDON path. Its reference cuBLAS (inside the addon, linked as libcublas-emu.so) is what
// LMKIT_CUBLAS points at unless set (LMKIT_CUBLAS=0 tests the own SGEMM kernel instead).
// `nativeLoadInfo` says which file was taken and why (`lmkit info` prints it).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { OpsNative } from './families.js';
import type { CoreNative, CudaInfo } from './storage.js';

export type { CudaInfo, DType, NativeStorage } from './storage.js';

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
  source: 'LMKIT_ADDON' | 'build' | 'prebuild' | 'package';
  /** Files tried before it that exist but failed to load, with the first line of the error. */
  failed: { path: string; error: string }[];
  /** Set when the loaded addon is the emulated CUDA backend (kernels run on the CPU). */
  emulation?: 'HIP-CPU';
  /**
   * What a CUDA addon that was found reported about the device, driver and cuBLAS (also when
   * it was not taken, e.g. no GPU visible); absent when no CUDA addon loaded.
   */
  cuda?: CudaInfo;
}

const require = createRequire(import.meta.url);
/** The package root: two levels above this file, both in lib/ (sources) and dist/ (compiled). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Candidate {
  path: string;
  source: 'build' | 'prebuild' | 'package';
  /** Directory (or package name) named in messages. */
  dir: string;
  /** Why this candidate must not be loaded (e.g. a package of another version); tried as a failure. */
  refuse?: string;
}

/** The name of the optional package that carries the prebuilt CUDA addon for this platform. */
export const cudaPackageName = `lmkit-cuda-${process.platform}-${process.arch}`;

function readJson(path: string): { version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as { version?: unknown };
  } catch {
    return undefined;
  }
}

/**
 * The CUDA addon of the optional package lmkit-cuda-<platform>-<arch>, when it is installed next to
 * lmkit (resolved from `root` as Node resolves packages). A package whose version is not lmkit's
 * own is refused: its kernels would not match this JavaScript.
 */
export function cudaPackageCandidate(root = packageRoot): Candidate | undefined {
  let pkgJson: string;
  try {
    pkgJson = createRequire(join(root, 'package.json')).resolve(`${cudaPackageName}/package.json`);
  } catch {
    return undefined;
  }
  const cand: Candidate = { path: join(dirname(pkgJson), 'lmkit-cuda.node'), source: 'package', dir: cudaPackageName };
  const want = readJson(join(root, 'package.json'))?.version;
  const have = readJson(pkgJson)?.version;
  if (typeof want === 'string' && have !== want)
    cand.refuse = `${cudaPackageName} is version ${String(have)} but lmkit is ${want}; install ${cudaPackageName}@${want}`;
  return cand;
}

/** Candidate files of one backend, most preferred first. */
export function addonCandidates(backend: NativeBackend, root = packageRoot): Candidate[] {
  const prebuilds = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  const pre = `prebuilds/${process.platform}-${process.arch}`;
  if (backend === 'cuda') {
    const pkg = cudaPackageCandidate(root);
    return [
      { path: join(root, 'build-cuda', 'Release', 'lmkit_cuda.node'), source: 'build', dir: 'build-cuda/Release' },
      { path: join(root, 'build', 'Release', 'lmkit_cuda.node'), source: 'build', dir: 'build/Release' },
      ...(pkg ? [pkg] : []),
      { path: join(prebuilds, 'lmkit-cuda.node'), source: 'prebuild', dir: pre },
    ];
  }
  return [
    { path: join(root, 'build', 'Release', 'lmkit.node'), source: 'build', dir: 'build/Release' },
    { path: join(prebuilds, 'lmkit.node'), source: 'prebuild', dir: pre },
    // prebuildify's own naming (what node-gyp-build looks for).
    { path: join(prebuilds, 'node.napi.node'), source: 'prebuild', dir: pre },
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
    if (cand.refuse) {
      failed.push({ path: cand.path, error: cand.refuse });
      continue;
    }
    try {
      return { addon: require(cand.path) as NativeAddon, cand };
    } catch (err) {
      failed.push({ path: cand.path, error: firstLine(err) });
    }
  }
  return undefined;
}

function describe(cand: Candidate): string {
  if (cand.source === 'package') return `prebuilt binary (package ${cand.dir})`;
  return cand.source === 'build' ? `local build (${cand.dir})` : `prebuilt binary (${cand.dir})`;
}

/** The CUDA addon's own report (cudaInfo), or a minimal one if it throws. */
function cudaReport(addon: NativeAddon): CudaInfo {
  try {
    if (typeof addon.cudaInfo === 'function') return addon.cudaInfo();
  } catch (err) {
    return { deviceCount: 0, driverVersion: 0, runtimeVersion: 0, cublas: false, error: firstLine(err) };
  }
  const n = typeof addon.deviceCount === 'function' ? addon.deviceCount() : 0;
  return { deviceCount: n, driverVersion: 0, runtimeVersion: 0, cublas: false };
}

/** The emulated CUDA addon of a checkout (built by `npm run build:cuda-emu`). */
export function emulatedAddonPath(root = packageRoot): string {
  return join(root, 'build-cuda-emu', 'Release', 'lmkit_cuda.node');
}

/**
 * Points LMKIT_CUBLAS at the emulated addon's reference cuBLAS (unless the user set it), before
 * the addon first looks for cuBLAS (its cudaInfo()).
 */
function useEmulatedCublas(addonPath: string): void {
  if (process.env.LMKIT_CUBLAS !== undefined) return;
  const so = join(dirname(addonPath), 'libcublas-emu.so');
  if (existsSync(so)) process.env.LMKIT_CUBLAS = so;
}

function load(): { addon: NativeAddon; info: NativeLoadInfo } {
  const failed: NativeLoadInfo['failed'] = [];

  const explicit = process.env.LMKIT_ADDON;
  if (explicit) {
    const path = resolve(explicit);
    let addon: NativeAddon;
    try {
      addon = require(path) as NativeAddon;
    } catch (err) {
      throw new Error(`lmkit: cannot load the native addon LMKIT_ADDON=${explicit} (${firstLine(err)})`);
    }
    const backend = reportedBackend(addon, 'cpu');
    const info: NativeLoadInfo = { backend, path, source: 'LMKIT_ADDON', reason: `LMKIT_ADDON=${explicit}`, failed };
    if (addon.emulation) {
      info.emulation = addon.emulation;
      useEmulatedCublas(path);
    }
    if (backend === 'cuda') info.cuda = cudaReport(addon);
    return { addon, info };
  }

  const emulate = (process.env.LMKIT_CUDA_EMULATE ?? '').trim();
  if (emulate !== '' && emulate !== '0') {
    const path = emulatedAddonPath();
    if (!existsSync(path))
      throw new Error(
        `lmkit: LMKIT_CUDA_EMULATE=${emulate} but the emulated CUDA addon ${path} is not built: run \`npm run build:cuda-emu\``,
      );
    let addon: NativeAddon;
    try {
      addon = require(path) as NativeAddon;
    } catch (err) {
      throw new Error(`lmkit: cannot load the emulated CUDA addon ${path} (${firstLine(err)})`);
    }
    if (!addon.emulation) throw new Error(`lmkit: ${path} is not an emulated CUDA addon (it has no 'emulation' export)`);
    useEmulatedCublas(path);
    return {
      addon,
      info: {
        backend: reportedBackend(addon, 'cuda'),
        path,
        source: 'build',
        reason: `LMKIT_CUDA_EMULATE=${emulate}: emulated CUDA addon (kernels run on the CPU through ${addon.emulation}; not a GPU)`,
        failed,
        emulation: addon.emulation,
        cuda: cudaReport(addon),
      },
    };
  }

  const rawBackend = (process.env.LMKIT_BACKEND ?? '').trim().toLowerCase();
  let wanted: NativeBackend | 'auto' = 'auto';
  if (rawBackend === 'cpu' || rawBackend === 'cuda') wanted = rawBackend;
  else if (rawBackend !== '' && rawBackend !== 'auto')
    warn(`LMKIT_BACKEND=${process.env.LMKIT_BACKEND} is not cpu, cuda or auto; choosing automatically`);

  let cudaNote = '';
  let cudaSeen: CudaInfo | undefined;
  if (wanted !== 'cpu') {
    const cudaCands = addonCandidates('cuda');
    const got = tryLoad(cudaCands, failed);
    const report = got ? cudaReport(got.addon) : undefined;
    cudaSeen = report;
    if (got && report && report.deviceCount > 0 && !report.error) {
      const why = wanted === 'cuda' ? 'LMKIT_BACKEND=cuda' : 'CUDA addon present, loaded and a GPU is visible';
      return {
        addon: got.addon,
        info: {
          backend: reportedBackend(got.addon, 'cuda'),
          path: got.cand.path,
          source: got.cand.source,
          reason: `${why}: ${describe(got.cand)}`,
          failed,
          cuda: report,
        },
      };
    }
    if (got && report) {
      // Loaded, but no usable device: the CPU addon serves.
      cudaNote = `the CUDA addon ${got.cand.path} loaded but sees no usable GPU (${report.error ?? 'no CUDA device'})`;
      if (wanted === 'cuda') warn(`LMKIT_BACKEND=cuda but ${cudaNote}; falling back to the CPU addon`);
    } else if (failed.length > 0) {
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
        ...(cudaSeen ? { cuda: cudaSeen } : {}),
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
