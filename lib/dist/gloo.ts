// Loads lmkit_gloo.node (native/dist/) on first use: the core addon never needs it, and a
// single-process run never loads it. Looked for in build/Release (a source build: `npm run
// build:native` with libgloo-dev installed) and prebuilds/<platform>-<arch>/ (the prebuilt
// package, with libgloo.so.0 and its libraries beside it: scripts/bundle-gloo.sh); LMKIT_GLOO
// names a file explicitly. Where it cannot load, `glooModule()` throws one line saying why.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { packageRoot } from '../native/index.js';

/** An all-reduce/broadcast group over Gloo's TCP full mesh (float32 buffers, in place). */
export interface NativeGlooGroup {
  readonly rank: number;
  readonly size: number;
  allreduce(buf: Float32Array): Promise<void>;
  broadcast(buf: Float32Array, root: number): Promise<void>;
  barrier(): Promise<void>;
  close(): void;
  /** Collectives issued, started in a worker thread (inside Gloo's call), finished: read at once. */
  stats(): { issued: number; started: number; finished: number };
}

export interface NcclInfo {
  loaded: boolean;
  path: string;
  /** NCCL's version code, e.g. 22304 for 2.23.4 (0 when not loaded). */
  version: number;
  error: string;
}

/** A communicator over device memory (float32, in place; the stream synchronised before resolving). */
export interface NativeNcclComm {
  allreduce(devicePtr: bigint, count: number, stream: bigint): Promise<void>;
  broadcast(devicePtr: bigint, count: number, root: number, stream: bigint): Promise<void>;
  /** Float32 sums of several buffers in one NCCL group (a gradient bucket, not flattened). */
  allreduceMany(ptrs: BigUint64Array, counts: Float64Array, stream: bigint): Promise<void>;
  destroy(): void;
}

export interface GlooModule {
  glooVersion: string;
  connect(o: {
    host: string;
    port: number;
    rank: number;
    size: number;
    prefix: string;
    timeoutMs: number;
    hostname?: string;
    iface?: string;
  }): Promise<NativeGlooGroup>;
  ncclInfo(): NcclInfo;
  ncclUniqueId(): Uint8Array;
  ncclInit(id: Uint8Array, rank: number, size: number, device: number): Promise<NativeNcclComm>;
}

let cached: { mod?: GlooModule; path?: string; error?: string } | null = null;

/** The candidate files, in order. */
export function glooCandidates(root = packageRoot): string[] {
  const explicit = process.env.LMKIT_GLOO;
  if (explicit) return [explicit];
  return [join(root, 'build', 'Release', 'lmkit_gloo.node'), join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'lmkit_gloo.node')];
}

function load(): { mod?: GlooModule; path?: string; error?: string } {
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const p of glooCandidates()) {
    if (!existsSync(p)) {
      tried.push(`${p}: not found`);
      continue;
    }
    try {
      return { mod: require(p) as GlooModule, path: p };
    } catch (e) {
      return { error: `${p} does not load: ${String((e as Error).message).split('\n')[0]}`, path: p };
    }
  }
  return {
    error:
      `no lmkit_gloo.node (${process.platform}-${process.arch}): this build of lmkit has no Gloo module ` +
      '(from source: apt-get install libgloo-dev, then npm run build:native)',
  };
}

/** The Gloo module, loaded once; throws a one-line Error when it cannot load. */
export function glooModule(): GlooModule {
  cached ??= load();
  if (!cached.mod) throw new Error(`data-parallel training is unavailable: ${cached.error}`);
  return cached.mod;
}

/** Where the module came from, or why it did not load (for `lmkit info`). */
export function glooLoadInfo(): { path: string | null; error: string | null; version: string | null } {
  cached ??= load();
  return { path: cached.path ?? null, error: cached.error ?? null, version: cached.mod?.glooVersion ?? null };
}
