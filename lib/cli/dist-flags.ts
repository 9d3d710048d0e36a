// The data-parallel flags of `lmkit train` (lib/dist): --nproc N launches N workers on this
// machine; --nnodes/--node-rank/--master-addr/--master-port place them in a job of several
// machines. A worker (started by the launcher, torchrun-style variables, or srun) is told apart
// by its environment (lib/dist/env.ts).
import { type Command, InvalidArgumentError } from 'commander';

import { worldFromEnv } from '../dist/env.js';
import { CHILD_MARK, launch } from '../dist/launch.js';

export interface DistFlags {
  nproc?: number;
  nnodes?: number;
  nodeRank?: number;
  masterAddr?: string;
  masterPort?: number;
}

function int(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}]`);
    return n;
  };
}

/** Adds the flags to `lmkit train`. */
export function addDistFlags(cmd: Command): Command {
  return cmd
    .option('--nproc <n>', 'data-parallel: start N worker processes on this machine (see docs/distributed.md)', int('--nproc', 1, 4096))
    .option('--nnodes <n>', 'data-parallel: machines in the job (each runs lmkit train --nproc N --node-rank R)', int('--nnodes', 1, 65536))
    .option('--node-rank <r>', "data-parallel: this machine's index, 0 .. nnodes-1", int('--node-rank', 0, 65535))
    .option('--master-addr <host>', "data-parallel: rank 0's address (default 127.0.0.1)")
    .option('--master-port <port>', "data-parallel: rank 0's rendezvous port (default 29500)", int('--master-port', 1, 65535));
}

/**
 * `launched`: this process was the launcher and its workers ended with that exit code; else
 * whether this process is rank 0 (or a single process), which alone prints.
 */
export async function distributedRole(f: DistFlags): Promise<{ launched?: number; main: boolean }> {
  const child = process.env[CHILD_MARK] === '1';
  if (f.nproc !== undefined && !child) {
    return {
      launched: await launch({ nproc: f.nproc, nnodes: f.nnodes, nodeRank: f.nodeRank, masterAddr: f.masterAddr, masterPort: f.masterPort }),
      main: false,
    };
  }
  if (!child && (f.nnodes !== undefined || f.nodeRank !== undefined || f.masterAddr !== undefined || f.masterPort !== undefined)) {
    throw new Error('--nnodes, --node-rank, --master-addr and --master-port go with --nproc N (the workers to start on this machine)');
  }
  const world = worldFromEnv();
  return { main: world === null || world.rank === 0 };
}
