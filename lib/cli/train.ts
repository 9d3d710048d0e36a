// `lmkit train`: flags -> runTraining; progress on stderr (a bar on a terminal, log lines when
// piped: lib/cli/progress.ts), JSON lines with --json (step events every --log-every steps,
// an eval event per evaluation). `--resume DIR` passes only the flags given on the command
// line (`given`): the rest come from the checkpoint, and a given model/training flag that
// differs from it is an error. Ctrl-C (SIGINT) stops after the current step; with --out a
// resumable checkpoint of that step is saved first, and the last line says how to resume.
// Data-parallel (lib/dist): a SIGINT to any rank (or to the launcher, which forwards it) stops
// every rank after the same step (they agree in that step's all-reduce); rank 0 saves, and
// every process exits with 130.
import { native, nativeLoadInfo } from '../native/index.js';
import { setDefaultDevice } from '../tensor.js';
import { flagName, inapplicableOptions } from '../train/model-flags.js';
import { checkpointKind } from '../train/checkpointing.js';
import type { TrainRunOptions } from '../train/options.js';
import { isModelKind } from '../train/registry.js';
import { trainDistributed } from '../train/distributed.js';
import { CHILD_MARK, INTERRUPTED_EXIT } from '../dist/launch.js';
import { distributedRole, type DistFlags } from './dist-flags.js';
import type { TrainRunInput } from '../train/run-state.js';
import { TrainProgress } from './progress.js';
import { TrainReportCollector, writeTrainReport } from './train-report.js';

/** The flags are runTraining's options plus the CLI's own. */
export type TrainFlags = TrainRunOptions & DistFlags & {
  threads?: number;
  json?: boolean;
  device?: 'cpu' | 'cuda';
  /** --json: a step event every this many steps (default 50). */
  logEvery?: number;
  /** Piped output: a progress line every this many seconds (default 15). */
  logSeconds?: number;
};

/** The runTraining input of the flags: all of them, or with --resume those in `given` (names). */
export function trainInput(f: TrainFlags, given?: readonly string[]): TrainRunInput {
  const {
    threads: _threads,
    json: _json,
    device: _device,
    logEvery: _logEvery,
    logSeconds: _logSeconds,
    nproc: _n,
    nnodes: _m,
    nodeRank: _r,
    masterAddr: _a,
    masterPort: _p,
    ...run
  } = f;
  if (f.resume === undefined) return run;
  const picked: Partial<TrainRunOptions> = {};
  for (const [k, v] of Object.entries(run)) {
    if (given === undefined || given.includes(k)) (picked as Record<string, unknown>)[k] = v;
  }
  return { ...picked, resume: f.resume };
}

/** `s` quoted for a POSIX shell when it needs it. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export async function runTrain(flags: TrainFlags, given?: readonly string[]): Promise<void> {
  // --init: the model is the checkpoint's unless --model says otherwise.
  const initKind = flags.init !== undefined && !(given ?? []).includes('model') ? checkpointKind(flags.init) : undefined;
  let f: TrainFlags = isModelKind(initKind) ? { ...flags, model: initKind } : flags;
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
  // Only rank 0 of a data-parallel job shows progress (the other ranks train silently).
  const sink = role.main ? process.stderr : { write: (_s: string): boolean => true };
  const progress = new TrainProgress({ sink, tty: role.main && process.stderr.isTTY === true && !f.json, logSeconds: f.logSeconds });
  const say = (s: string): void => {
    progress.endLine();
    if (role.main) (f.json ? process.stderr : process.stdout).write(`${s}\n`);
  };
  const warn = (s: string): void => {
    progress.endLine();
    if (role.main) process.stderr.write(`lmkit: warning: ${s}\n`);
  };
  // Flags given for a model that does not use them (with --resume the model is the checkpoint's: checked by resumeOptions).
  if (f.resume === undefined && given !== undefined) {
    for (const k of inapplicableOptions(f.model, given)) warn(`${flagName(k)} does not apply to --model ${f.model} (ignored)`);
  }
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
  const logEvery = f.logEvery ?? 50;
  // Ctrl-C: stop after the current step (a second one exits at once). A rank under the launcher
  // gets Ctrl-C twice (from the terminal and forwarded by the launcher): a second one within a
  // second of the first is the same Ctrl-C.
  let interrupt = false;
  let interruptAt = 0;
  const launched = process.env[CHILD_MARK] === '1';
  const onSigint = (): void => {
    if (interrupt && launched && Date.now() - interruptAt < 1000) return;
    if (interrupt) {
      process.stderr.write('\nlmkit: interrupted again: exiting without waiting for the checkpoint\n');
      process.exit(INTERRUPTED_EXIT);
    }
    interrupt = true;
    interruptAt = Date.now();
    progress.endLine();
    const who = role.main ? '' : `rank ${process.env.RANK ?? '?'}: `;
    const what = role.main || !launched ? `stopping after this step${f.out !== undefined ? ' and saving a checkpoint' : ''} (Ctrl-C again to exit now)` : 'stopping with the others';
    process.stderr.write(`\nlmkit: ${who}interrupted: ${what}\n`);
  };
  process.on('SIGINT', onSigint);
  let result;
  try {
    result = await trainDistributed(trainInput(f, given), {
      info: (s) => {
        report.info(s);
        say(s);
      },
      plan: (p) => progress.setPlan(p),
      step: (e) => {
        report.step(e.step, e.loss);
        if (e.step % logEvery === 0 || e.step === e.total || e.skipped) {
          emit({
            event: 'step',
            step: e.step,
            total: e.total,
            epoch: e.epoch + 1,
            loss: e.loss,
            lr: e.lr,
            tokens_per_s: e.tokensPerSecond,
            elapsed_s: progress.elapsed(),
            ...(e.skipped ? { skipped: true } : {}),
          });
        }
        if (e.skipped && !f.json) say(`step ${e.step}: the loss is ${e.loss}; step skipped (--skip-nonfinite), weights not updated`);
        if (!f.json) progress.step(e);
      },
      evalProgress: (e) => {
        if (!f.json) progress.evalProgress(e);
      },
      eval: (e) => {
        report.eval(e.split, e.step, e.ppl);
        emit({ event: 'eval', split: e.split, step: e.step, loss: e.loss, ppl: e.ppl, tokens: e.tokens });
        if (!f.json) say(`step ${e.step}: ${e.split} loss ${e.loss.toFixed(4)}, perplexity ${e.ppl.toFixed(1)}`);
      },
      shouldStop: () => interrupt,
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (result.interrupted) {
    // The CLI's own flags are not in the checkpoint: repeat those given.
    const own = [...(f.device === 'cuda' ? ['--device cuda'] : []), ...(given?.includes('threads') && f.threads ? [`--threads ${f.threads}`] : [])];
    const resume = result.checkpoint !== null ? ['lmkit train --resume', shellQuote(result.checkpoint), ...own].join(' ') : null;
    emit({
      event: 'interrupted',
      step: result.steps,
      seconds: result.seconds,
      ...(result.totalSeconds !== undefined ? { total_seconds: result.totalSeconds } : {}),
      tokens_per_s: result.tokensPerSecond,
      checkpoint: result.checkpoint,
      resume,
    });
    say(
      resume !== null
        ? `interrupted at step ${result.steps}: checkpoint ${result.checkpoint}; resume with: ${resume}`
        : `interrupted at step ${result.steps}: no checkpoint written (train with --out DIR to save one on Ctrl-C and resume it)`,
    );
    process.exitCode = INTERRUPTED_EXIT;
    return;
  }
  // --out: the curves and an HTML report beside the checkpoint.
  if (result.checkpoint !== null) {
    const { json: _json, ...flags } = f;
    const paths = await writeTrainReport(result.checkpoint, report, result, flags);
    say(`report: ${paths.html} (curves: ${paths.svg})`);
  }
  const resumed = (result.history?.resumedAt.length ?? 0) > 0;
  emit({
    event: 'done',
    steps: result.steps,
    seconds: result.seconds,
    ...(result.totalSeconds !== undefined ? { total_seconds: result.totalSeconds } : {}),
    parameters: result.parameters,
    vocab: result.vocabSize,
    tokens_per_s: result.tokensPerSecond,
    valid_ppl: result.validPpl,
    test_ppl: result.testPpl,
    checkpoint: result.checkpoint,
    ...(result.stoppedEarly !== undefined ? { stopped_early: result.stoppedEarly, skipped_steps: result.skippedSteps } : {}),
  });
  say(
    `done: ${result.model}, ${result.steps} steps in ${result.seconds.toFixed(1)} s` +
      (resumed && result.totalSeconds !== undefined ? ` (the whole run, resumes included: ${result.totalSeconds.toFixed(1)} s)` : '') +
      ', ' +
      `${result.tokensPerSecond.toFixed(0)} training tokens/s, valid perplexity ${result.validPpl.toFixed(1)}` +
      (result.testPpl !== null ? `, test perplexity ${result.testPpl.toFixed(1)}` : '') +
      (result.checkpoint !== null ? `; checkpoint ${result.checkpoint}` : ''),
  );
}
