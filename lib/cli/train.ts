// `lmkit train`: flags -> runTraining; progress on a terminal, JSON lines with --json.
// `--resume DIR` passes only the flags given on the command line (`given`): the rest come
// from the checkpoint, and a given model/training flag that differs from it is an error.
import { native, nativeLoadInfo } from '../native/index.js';
import { setDefaultDevice } from '../tensor.js';
import { type TrainRunOptions } from '../train/run.js';
import { trainDistributed } from '../train/distributed.js';
import { distributedRole, type DistFlags } from './dist-flags.js';
import type { TrainRunInput } from '../train/run-state.js';
import { Progress, formatEta } from './progress.js';
import { TrainReportCollector, writeTrainReport } from './train-report.js';

/** The flags are runTraining's options plus the CLI's own. */
export type TrainFlags = TrainRunOptions & DistFlags & { threads?: number; json?: boolean; device?: 'cpu' | 'cuda' };

/** The runTraining input of the flags: all of them, or with --resume those in `given` (names). */
export function trainInput(f: TrainFlags, given?: readonly string[]): TrainRunInput {
  const { threads: _threads, json: _json, device: _device, nproc: _n, nnodes: _m, nodeRank: _r, masterAddr: _a, masterPort: _p, ...run } = f;
  if (f.resume === undefined) return run;
  const picked: Partial<TrainRunOptions> = {};
  for (const [k, v] of Object.entries(run)) {
    if (given === undefined || given.includes(k)) (picked as Record<string, unknown>)[k] = v;
  }
  return { ...picked, resume: f.resume };
}

export async function runTrain(f: TrainFlags, given?: readonly string[]): Promise<void> {
  // --nproc: this process launches the workers (dist-flags.ts); a worker: only rank 0 speaks.
  const role = await distributedRole(f);
  if (role.launched !== undefined) {
    process.exitCode = role.launched;
    return;
  }
  if (!role.main) f = { ...f, json: false };
  const emit = (o: Record<string, unknown>): void => {
    if (f.json) process.stdout.write(`${JSON.stringify(o)}\n`);
  };
  const report = new TrainReportCollector();
  const say = (s: string): void => {
    if (role.main) (f.json ? process.stderr : process.stdout).write(`${s}\n`);
  };
  if (f.threads) native.setNumThreads(f.threads);
  say(`threads: ${native.numThreads()}`);
  if (f.device === 'cuda') {
    // The whole run on the GPU: new tensors (weights, optimizer state, batches) go to the device.
    if (nativeLoadInfo.backend !== 'cuda') {
      throw new Error(`--device cuda: no usable CUDA device (${nativeLoadInfo.reason}); use --device cpu`);
    }
    setDefaultDevice('cuda');
    say(`device: cuda (${nativeLoadInfo.reason})`);
  }
  let progress: Progress | null = null;
  const t0 = performance.now();
  const result = await trainDistributed(
    trainInput(f, given),
    {
      info: (s) => {
        report.info(s);
        say(s);
      },
      step: (e) => {
        report.step(e.step, e.loss);
        progress ??= new Progress(f.json ? null : e.total);
        if (e.step % 50 === 0 || e.step === e.total || e.skipped) {
          emit({ event: 'step', step: e.step, loss: e.loss, tokens_per_s: e.tokensPerSecond, ...(e.skipped ? { skipped: true } : {}) });
        }
        if (e.skipped && !f.json) {
          progress.done();
          say(`step ${e.step}: the loss is ${e.loss}; step skipped (--skip-nonfinite), weights not updated`);
        }
        const elapsed = (performance.now() - t0) / 1000;
        progress.update(e.step, {
          loss: e.loss.toFixed(3),
          'tok/s': e.tokensPerSecond.toFixed(0),
          eta: formatEta((elapsed / e.step) * (e.total - e.step)),
        });
      },
      eval: (e) => {
        report.eval(e.split, e.step, e.ppl);
        progress?.done();
        emit({ event: 'eval', split: e.split, step: e.step, loss: e.loss, ppl: e.ppl });
        if (!f.json) say(`step ${e.step}: ${e.split} loss ${e.loss.toFixed(4)}, perplexity ${e.ppl.toFixed(1)}`);
      },
    },
  );
  // --out: the curves and an HTML report beside the checkpoint.
  if (result.checkpoint !== null) {
    const { json: _json, ...flags } = f;
    const paths = await writeTrainReport(result.checkpoint, report, result, flags);
    say(`report: ${paths.html} (curves: ${paths.svg})`);
  }
  emit({
    event: 'done',
    steps: result.steps,
    seconds: result.seconds,
    parameters: result.parameters,
    vocab: result.vocabSize,
    tokens_per_s: result.tokensPerSecond,
    valid_ppl: result.validPpl,
    test_ppl: result.testPpl,
    checkpoint: result.checkpoint,
    ...(result.stoppedEarly !== undefined ? { stopped_early: result.stoppedEarly, skipped_steps: result.skippedSteps } : {}),
  });
  say(
    `done: ${result.model}, ${result.steps} steps in ${result.seconds.toFixed(1)} s, ` +
      `${result.tokensPerSecond.toFixed(0)} training tokens/s, valid perplexity ${result.validPpl.toFixed(1)}` +
      (result.testPpl !== null ? `, test perplexity ${result.testPpl.toFixed(1)}` : '') +
      (result.checkpoint !== null ? `; checkpoint ${result.checkpoint}` : ''),
  );
}
