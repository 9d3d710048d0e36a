// NCCL for data-parallel runs on CUDA tensors: lmkit_gloo.node dlopens libnccl.so.2 (native/
// dist/nccl_dl.cpp: $LMKIT_NCCL, the loader's path, $LMKIT_NCCL_DIR); where neither variable is
// set, this side looks for the copy in PyTorch's wheel (site-packages/nvidia/nccl/lib under the
// usual Python prefixes) and passes it as LMKIT_NCCL_DIR. Rank 0 makes NCCL's unique id and
// passes it to the others through the rendezvous store; every rank then joins the communicator
// on the device lmkit's CUDA backend uses. Collectives run on lmkit's own stream (ordered after
// the kernels that produced the gradients), in issue order. Compiled in CI, never run on a GPU
// there (docs/distributed.md says what was run).
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import { glooModule, type GlooModule, type NativeNcclComm } from './gloo.js';
import type { ProcessGroup } from './group.js';

/** Folders holding PyTorch's libnccl.so.2 (site-packages/nvidia/nccl/lib) under the usual Python prefixes. */
export function pytorchNcclDirs(env: Record<string, string | undefined> = process.env): string[] {
  const prefixes = [env.VIRTUAL_ENV, env.CONDA_PREFIX, join(homedir(), '.local'), '/usr/local', '/usr', '/opt/conda'].filter((p): p is string => !!p);
  const out: string[] = [];
  const add = (dir: string): void => {
    if (!out.includes(dir) && existsSync(join(dir, 'libnccl.so.2'))) out.push(dir);
  };
  for (const prefix of prefixes) {
    add(join(prefix, 'lib', 'python3', 'dist-packages', 'nvidia', 'nccl', 'lib'));
    let libs: string[] = [];
    try {
      libs = readdirSync(join(prefix, 'lib')).filter((d) => /^python3\.\d+$/.test(d));
    } catch {
      continue;
    }
    for (const py of libs) for (const kind of ['site-packages', 'dist-packages']) add(join(prefix, 'lib', py, kind, 'nvidia', 'nccl', 'lib'));
  }
  return out;
}

/** lmkit_gloo.node with NCCL loaded; throws one line saying why NCCL cannot be used. */
export function ncclModule(): GlooModule {
  const mod = glooModule();
  if (!process.env.LMKIT_NCCL && !process.env.LMKIT_NCCL_DIR) {
    const dir = pytorchNcclDirs()[0];
    if (dir !== undefined) process.env.LMKIT_NCCL_DIR = dir; // read by the native loader on first use
  }
  const info = mod.ncclInfo();
  if (!info.loaded) {
    throw new Error(
      `data-parallel training over NCCL is unavailable: ${info.error.split('\n')[0]} ` +
        "(set LMKIT_NCCL to libnccl.so.2, or LMKIT_NCCL_DIR to its folder such as PyTorch's site-packages/nvidia/nccl/lib; " +
        'LMKIT_DIST_BACKEND=gloo all-reduces CUDA gradients through host memory instead)',
    );
  }
  return mod;
}

/** A communicator of every rank of `group` on CUDA device `device`. */
export class NcclGroup {
  private constructor(
    private readonly comm: NativeNcclComm,
    readonly version: number,
  ) {}

  static async init(group: ProcessGroup, device: number): Promise<NcclGroup> {
    const mod = ncclModule();
    const key = 'lmkit/nccl/unique-id';
    let id: Uint8Array;
    if (group.rank === 0) {
      id = mod.ncclUniqueId();
      await group.kv.set(key, id);
    } else {
      id = await group.kv.get(key, group.opTimeoutMs);
    }
    const comm = await mod.ncclInit(Buffer.from(id.buffer, id.byteOffset, id.byteLength), group.rank, group.worldSize, device).catch((e: Error) => {
      throw new Error(`NCCL communicator (rank ${group.rank} of ${group.worldSize}, device ${device}): ${e.message}`);
    });
    return new NcclGroup(comm, mod.ncclInfo().version);
  }

  /** Sums each (device pointer, count) float32 buffer over the ranks in place, on `stream`; resolves when the stream has done it. */
  allreduceMany(ptrs: bigint[], counts: number[], stream: bigint): Promise<void> {
    return this.comm.allreduceMany(BigUint64Array.from(ptrs), Float64Array.from(counts), stream);
  }

  destroy(): void {
    this.comm.destroy();
  }
}
