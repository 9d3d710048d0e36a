// Training off the main thread: `trainInWorker` runs `runTraining` in a worker thread, so a
// server that trains a model keeps serving requests (the native kernels of a step can take
// tens of milliseconds; in a worker they never delay the main event loop). Events arrive
// through the same callbacks as runTraining's.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { packageRoot } from '../native/index.js';
import type { TrainRunEvents, TrainRunOptions, TrainRunResult } from './run.js';

/** The compiled worker script (dist/train/worker-entry.js), also when running from sources. */
function entryPath(): string {
  const here = fileURLToPath(new URL('./worker-entry.js', import.meta.url));
  if (existsSync(here)) return here;
  const built = join(packageRoot, 'dist', 'train', 'worker-entry.js');
  if (existsSync(built)) return built;
  throw new Error(`trainInWorker: ${built} is missing; run \`npm run build\``);
}

/**
 * The part of an `AbortSignal` that trainInWorker uses (declared here so that the published
 * types compile without the DOM or Node.js type libraries; an AbortController's signal fits).
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface WorkerTrainOptions {
  /** Aborting terminates the worker; the promise rejects with the signal's reason. */
  signal?: AbortSignalLike;
}

type Message =
  | { type: 'info'; message: string }
  | { type: 'step'; event: Parameters<NonNullable<TrainRunEvents['step']>>[0] }
  | { type: 'eval'; event: Parameters<NonNullable<TrainRunEvents['eval']>>[0] }
  | { type: 'done'; result: TrainRunResult }
  | { type: 'error'; message: string };

export function trainInWorker(
  options: TrainRunOptions,
  events: TrainRunEvents = {},
  opts: WorkerTrainOptions = {},
): Promise<TrainRunResult> {
  return new Promise<TrainRunResult>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(opts.signal.reason ?? new Error('aborted'));
      return;
    }
    const worker = new Worker(entryPath(), { workerData: options });
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => {
      void worker.terminate();
      finish(() => reject(opts.signal?.reason ?? new Error('aborted')));
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: Message) => {
      switch (m.type) {
        case 'info':
          events.info?.(m.message);
          break;
        case 'step':
          events.step?.(m.event);
          break;
        case 'eval':
          events.eval?.(m.event);
          break;
        case 'done':
          finish(() => resolve(m.result));
          void worker.terminate();
          break;
        case 'error':
          finish(() => reject(new Error(m.message)));
          void worker.terminate();
          break;
      }
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`the training worker exited with code ${code}`))));
  });
}
