// `lmkit train --nproc N`: starts N worker processes on this machine (torchrun's
// --nproc-per-node), each with RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and
// MASTER_PORT set; with --nnodes M --node-rank R every machine runs its own launcher and the
// ranks are R*N .. R*N+N-1 of M*N. The launcher watches its workers: when one exits non-zero or
// is killed, it says which rank and how, gives the others a grace period to stop on their own
// (they fail their next collective naming the lost rank), then terminates them; its exit code is
// the first failure's (0 when all succeed). Workers get LMKIT_NUM_THREADS = cores / N unless set.
// SIGINT/SIGTERM to the launcher are forwarded to the workers; workers that stop on an interrupt
// exit with INTERRUPTED_EXIT (130: they agreed on the step, rank 0 saved), and so does the launcher.
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';

import { DEFAULT_MASTER_PORT } from './env.js';
import { glooModule } from './gloo.js';

export interface LaunchOptions {
  /** Worker processes on this machine (>= 1). */
  nproc: number;
  /** Machines (default 1). */
  nnodes?: number;
  /** This machine's index (default 0). */
  nodeRank?: number;
  /** Rank 0's address (default 127.0.0.1). */
  masterAddr?: string;
  /** Rank 0's store port (default 29500). */
  masterPort?: number;
  /** What each worker runs: node arguments after process.execPath (default: this process's own). */
  argv?: string[];
  env?: Record<string, string | undefined>;
  /** Seconds the others get to stop on their own after a rank failed (default LMKIT_DIST_GRACE or 15). */
  graceSeconds?: number;
  /** Where the launcher's own lines go (default stderr). */
  log?: (line: string) => void;
}

/** The exit code of a run stopped by Ctrl-C (SIGINT), single-process or data-parallel: 128 + SIGINT. */
export const INTERRUPTED_EXIT = 130;

/** The environment variable that marks a worker started by the launcher (it must not launch again). */
export const CHILD_MARK = 'LMKIT_DIST_CHILD';

function checkInt(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer in [${min}, ${max}], got ${v}`);
}

/** Runs the workers to the end; resolves with the exit code the launcher should exit with. */
export async function launch(o: LaunchOptions): Promise<number> {
  const nnodes = o.nnodes ?? 1;
  const nodeRank = o.nodeRank ?? 0;
  checkInt('--nproc', o.nproc, 1, 4096);
  checkInt('--nnodes', nnodes, 1, 65536);
  checkInt('--node-rank', nodeRank, 0, nnodes - 1);
  const port = o.masterPort ?? DEFAULT_MASTER_PORT;
  checkInt('--master-port', port, 1, 65535);
  const world = nnodes * o.nproc;
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  // Fail here, once, where the Gloo module cannot load (not N times in the workers).
  if (world > 1) glooModule();
  const argv = o.argv ?? [...process.execArgv, ...process.argv.slice(1)];
  const env = o.env ?? process.env;
  const threads = env.LMKIT_NUM_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / o.nproc)));
  const grace = (o.graceSeconds ?? Number(env.LMKIT_DIST_GRACE ?? 15)) * 1000;
  const children: { rank: number; child: ChildProcess; done: boolean }[] = [];
  let firstFailure: { rank: number; code: number } | null = null;
  let killTimer: NodeJS.Timeout | null = null;
  const stopOthers = (): void => {
    killTimer ??= setTimeout(() => {
      for (const c of children) {
        if (!c.done) {
          log(`lmkit: rank ${c.rank} did not stop within ${grace / 1000} s of the failure; terminating it`);
          c.child.kill('SIGTERM');
        }
      }
      setTimeout(() => children.forEach((c) => !c.done && c.child.kill('SIGKILL')), 5000).unref();
    }, grace);
  };
  const forward = (sig: NodeJS.Signals): void => {
    for (const c of children) if (!c.done) c.child.kill(sig);
  };
  const onInt = (): void => forward('SIGINT');
  const onTerm = (): void => forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const exits = [];
    for (let i = 0; i < o.nproc; i++) {
      const rank = nodeRank * o.nproc + i;
      const child = spawn(process.execPath, argv, {
        stdio: 'inherit',
        env: {
          ...env,
          [CHILD_MARK]: '1',
          RANK: String(rank),
          WORLD_SIZE: String(world),
          LOCAL_RANK: String(i),
          LOCAL_WORLD_SIZE: String(o.nproc),
          MASTER_ADDR: o.masterAddr ?? '127.0.0.1',
          MASTER_PORT: String(port),
          LMKIT_NUM_THREADS: threads,
        },
      });
      const entry = { rank, child, done: false };
      children.push(entry);
      log(`lmkit: rank ${rank} of ${world} started (pid ${child.pid})`);
      exits.push(
        new Promise<void>((resolve) => {
          child.on('error', (e) => {
            entry.done = true;
            log(`lmkit: rank ${rank} could not start: ${e.message}`);
            firstFailure ??= { rank, code: 1 };
            stopOthers();
            resolve();
          });
          child.on('exit', (code, signal) => {
            entry.done = true;
            if (code === INTERRUPTED_EXIT) {
              log(`lmkit: rank ${rank} (pid ${child.pid}) stopped on an interrupt (exit ${INTERRUPTED_EXIT})`);
              firstFailure ??= { rank, code };
              stopOthers();
            } else if (code !== 0) {
              const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
              if (firstFailure === null) {
                log(`lmkit: rank ${rank} (pid ${child.pid}) ${how}; the other ranks stop (grace ${grace / 1000} s)`);
                firstFailure = { rank, code: code ?? 1 };
              }
              stopOthers();
            }
            resolve();
          });
        }),
      );
    }
    await Promise.all(exits);
  } finally {
    if (killTimer) clearTimeout(killTimer);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  return firstFailure === null ? 0 : (firstFailure as { code: number }).code || 1;
}
