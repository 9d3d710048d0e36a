// Where this process sits in a data-parallel job, from the environment a launcher sets:
// torchrun's RANK / WORLD_SIZE / LOCAL_RANK / LOCAL_WORLD_SIZE / MASTER_ADDR / MASTER_PORT, or
// Slurm's SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID (srun), MASTER_ADDR/MASTER_PORT then still
// naming rank 0's host (Slurm has no such variable; docs/distributed.md shows the usual line).

/** One process's place in the job, and where rank 0's rendezvous store listens. */
export interface WorldInfo {
  rank: number;
  worldSize: number;
  localRank: number;
  masterAddr: string;
  masterPort: number;
  /** Which variables it came from. */
  source: 'torchrun' | 'slurm' | 'options';
}

export const DEFAULT_MASTER_PORT = 29500;

function intVar(env: EnvLike, name: string, min: number): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name}=${v}: expected an integer >= ${min}`);
  return n;
}

/**
 * The world described by the environment, or null when it describes none (no RANK/WORLD_SIZE,
 * no Slurm task variables): a plain single-process run. torchrun's names win over Slurm's.
 */
/** An environment: `process.env` or a plain object of the same variables. */
export type EnvLike = Record<string, string | undefined>;

export function worldFromEnv(env: EnvLike = process.env): WorldInfo | null {
  let rank = intVar(env, 'RANK', 0);
  let worldSize = intVar(env, 'WORLD_SIZE', 1);
  let localRank = intVar(env, 'LOCAL_RANK', 0);
  let source: WorldInfo['source'] = 'torchrun';
  if (rank === undefined && worldSize === undefined) {
    rank = intVar(env, 'SLURM_PROCID', 0);
    worldSize = intVar(env, 'SLURM_NTASKS', 1);
    localRank = intVar(env, 'SLURM_LOCALID', 0);
    source = 'slurm';
    if (rank === undefined && worldSize === undefined) return null;
  }
  const names = source === 'slurm' ? ['SLURM_PROCID', 'SLURM_NTASKS'] : ['RANK', 'WORLD_SIZE'];
  if (rank === undefined || worldSize === undefined) {
    throw new Error(`${rank === undefined ? names[0] : names[1]} is not set (a data-parallel worker needs both ${names.join(' and ')})`);
  }
  if (rank >= worldSize) throw new Error(`${names[0]}=${rank} is out of range for ${names[1]}=${worldSize} (ranks 0..${worldSize - 1})`);
  const masterAddr = env.MASTER_ADDR ?? (worldSize === 1 || source === 'torchrun' ? '127.0.0.1' : undefined);
  if (masterAddr === undefined || masterAddr === '') {
    throw new Error('MASTER_ADDR is not set: under Slurm, export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)');
  }
  const masterPort = intVar(env, 'MASTER_PORT', 1) ?? DEFAULT_MASTER_PORT;
  if (masterPort > 65535) throw new Error(`MASTER_PORT=${masterPort}: not a TCP port`);
  return { rank, worldSize, localRank: localRank ?? rank, masterAddr, masterPort, source };
}

/** Milliseconds from an environment variable in seconds, else `dflt` ms. */
export function secondsVar(name: string, dfltMs: number, env: EnvLike = process.env): number {
  const v = env[name];
  if (v === undefined || v === '') return dfltMs;
  const s = Number(v);
  if (!(s > 0) || !Number.isFinite(s)) throw new Error(`${name}=${v}: expected a number of seconds > 0`);
  return Math.round(s * 1000);
}
