// trainDistributed: runTraining as one rank of a data-parallel job (lib/dist). The job comes
// from `world` or, by default, from the environment a launcher set (torchrun's RANK /
// WORLD_SIZE / MASTER_ADDR / MASTER_PORT, or Slurm's SLURM_PROCID / SLURM_NTASKS); with no job
// (or a world of 1) it is runTraining itself. Every rank calls it with the same input; only
// rank 0's events fire and only rank 0 writes the checkpoint. See docs/distributed.md.
import { DataParallel, type DataParallelOptions } from '../dist/ddp.js';
import { worldFromEnv, type WorldInfo } from '../dist/env.js';
import { ProcessGroup, type ProcessGroupOptions } from '../dist/group.js';
import type { TrainRunInput } from './run-state.js';
import { runTraining, type TrainRunEvents, type TrainRunResult } from './run.js';

export interface DistributedRunOptions extends DataParallelOptions, Pick<ProcessGroupOptions, 'rendezvousTimeoutMs' | 'timeoutMs'> {
  /** This process's place in the job (default: from the environment; null: a single process). */
  world?: WorldInfo | null;
}

export interface DistributedRunResult extends TrainRunResult {
  rank: number;
  worldSize: number;
}

export async function trainDistributed(input: TrainRunInput, ev: TrainRunEvents = {}, o: DistributedRunOptions = {}): Promise<DistributedRunResult> {
  const world = o.world === undefined ? worldFromEnv() : o.world;
  if (world === null || world.worldSize === 1) return { ...(await runTraining(input, ev)), rank: 0, worldSize: 1 };
  const group = await ProcessGroup.init({ ...world, rendezvousTimeoutMs: o.rendezvousTimeoutMs, timeoutMs: o.timeoutMs }).catch((e: Error) => {
    throw new Error(`rank ${world.rank}: ${e.message}`);
  });
  let ok = false;
  const dp = new DataParallel(group, o);
  try {
    const r = await runTraining(input, ev, dp);
    ok = true;
    return { ...r, rank: group.rank, worldSize: group.worldSize };
  } catch (e) {
    const m = (e as Error).message;
    throw new Error(m.startsWith(`rank ${group.rank}`) ? m : `rank ${group.rank}: ${m}`);
  } finally {
    dp.close();
    await group.close(ok).catch(() => undefined);
  }
}
