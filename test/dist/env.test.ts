// Where a process sits in a job, from the launcher's variables (lib/dist/env.ts), and the
// launcher's argument checks (lib/dist/launch.ts).
import { describe, expect, it } from 'vitest';

import { worldFromEnv } from '../../lib/dist/env.js';
import { launch } from '../../lib/dist/launch.js';

describe('worldFromEnv', () => {
  it('reads torchrun variables, with defaults for the master', () => {
    expect(worldFromEnv({})).toBeNull();
    expect(worldFromEnv({ RANK: '1', WORLD_SIZE: '4', LOCAL_RANK: '1', MASTER_ADDR: '10.0.0.1', MASTER_PORT: '1234' })).toEqual({
      rank: 1,
      worldSize: 4,
      localRank: 1,
      masterAddr: '10.0.0.1',
      masterPort: 1234,
      source: 'torchrun',
    });
    expect(worldFromEnv({ RANK: '0', WORLD_SIZE: '2' })).toMatchObject({ masterAddr: '127.0.0.1', masterPort: 29500, localRank: 0 });
  });

  it("reads Slurm's task variables when RANK/WORLD_SIZE are absent (MASTER_ADDR required)", () => {
    expect(worldFromEnv({ SLURM_PROCID: '3', SLURM_NTASKS: '8', SLURM_LOCALID: '1', MASTER_ADDR: 'node01' })).toMatchObject({
      rank: 3,
      worldSize: 8,
      localRank: 1,
      masterAddr: 'node01',
      source: 'slurm',
    });
    expect(() => worldFromEnv({ SLURM_PROCID: '0', SLURM_NTASKS: '2' })).toThrow(/MASTER_ADDR is not set: under Slurm, export MASTER_ADDR=\$\(scontrol show hostnames/);
    expect(worldFromEnv({ SLURM_PROCID: '0', SLURM_NTASKS: '1' })).toMatchObject({ worldSize: 1 });
  });

  it('bad values are clear errors', () => {
    expect(() => worldFromEnv({ RANK: '2', WORLD_SIZE: '2' })).toThrow(/RANK=2 is out of range for WORLD_SIZE=2/);
    expect(() => worldFromEnv({ RANK: 'x', WORLD_SIZE: '2' })).toThrow(/RANK=x: expected an integer >= 0/);
    expect(() => worldFromEnv({ WORLD_SIZE: '2' })).toThrow(/RANK is not set/);
    expect(() => worldFromEnv({ RANK: '0', WORLD_SIZE: '2', MASTER_PORT: '70000' })).toThrow(/not a TCP port/);
  });
});

describe('launch', () => {
  it('refuses bad counts before starting anything', async () => {
    await expect(launch({ nproc: 0 })).rejects.toThrow(/--nproc must be an integer in \[1, 4096\], got 0/);
    await expect(launch({ nproc: 2, nnodes: 2, nodeRank: 2 })).rejects.toThrow(/--node-rank must be an integer in \[0, 1\]/);
    await expect(launch({ nproc: 1, masterPort: 0 })).rejects.toThrow(/--master-port/);
  });
});
