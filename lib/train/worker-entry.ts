// Runs one training run inside a worker thread (see worker.ts) and reports to the parent.
import { parentPort, workerData } from 'node:worker_threads';

import { runTraining, type TrainRunOptions } from './run.js';

const port = parentPort;
if (!port) throw new Error('worker-entry must run in a worker thread');
runTraining(workerData as TrainRunOptions, {
  info: (message) => port.postMessage({ type: 'info', message }),
  step: (e) => port.postMessage({ type: 'step', event: e }),
  eval: (e) => port.postMessage({ type: 'eval', event: e }),
})
  .then((result) => port.postMessage({ type: 'done', result }))
  .catch((err: unknown) => port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
