// The progress of `lmkit train` on stderr.
//
// On a terminal: one bar that redraws in place (at most 5 times a second): steps while
// training, tokens while an evaluation runs. Piped or redirected (CI, `| tee`, `nohup`):
// plain log lines, one at the first step, then one every `logSeconds` (time-based, not
// step-based: a line every 15 s whatever the speed of a step), one at the start of every
// evaluation and one every `logSeconds` while it runs.
//
// The ETA counts from the first step (the corpus and model set-up are not in it) and covers
// the evaluations still to come: their tokens at the measured evaluation speed (before the
// first evaluation: an estimate, three times the training speed, as a forward pass costs
// about a third of a training step).

/** Where the progress goes (process.stderr in the CLI). */
export interface ProgressSink {
  write(s: string): unknown;
}

export interface TrainProgressOptions {
  sink: ProgressSink;
  /** A terminal: redraw one bar; else plain log lines. */
  tty: boolean;
  /** Seconds between log lines when not a terminal (default 15). */
  logSeconds?: number;
  /** The clock in milliseconds (tests). */
  now?: () => number;
}

export interface ProgressPlan {
  totalSteps: number;
  startStep: number;
  evalSteps: readonly number[];
  validTokens: number;
  testTokens: number;
}

export interface ProgressStep {
  step: number;
  total: number;
  epoch: number;
  loss: number;
  lr: number;
  tokensPerSecond: number;
}

export interface ProgressEval {
  split: 'valid' | 'test';
  step: number;
  done: number;
  total: number;
}

const BAR_WIDTH = 24;
/** Estimated evaluation speed before one is measured, as a multiple of the training speed. */
const EVAL_SPEED_GUESS = 3;

/** `[####....]  42%`: the bar is full and the percentage 100 only when done === total. */
export function formatBar(done: number, total: number, width = BAR_WIDTH): string {
  const f = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = done >= total ? width : Math.min(width - 1, Math.floor(f * width));
  const pct = done >= total ? 100 : Math.min(99, Math.floor(f * 100));
  return `[${'#'.repeat(filled).padEnd(width, '.')}] ${String(pct).padStart(3)}%`;
}

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

function fmtLr(lr: number): string {
  return lr === 0 ? '0' : lr >= 1e-3 && lr < 1e3 ? String(Number(lr.toPrecision(3))) : lr.toExponential(2);
}

export class TrainProgress {
  private readonly sink: ProgressSink;
  private readonly tty: boolean;
  private readonly logMs: number;
  private readonly now: () => number;
  private readonly started: number;
  private plan: ProgressPlan | null = null;
  /** The first step seen and when (the ETA's origin), and evaluation time since then. */
  private first: { step: number; at: number } | null = null;
  private evalMs = 0;
  private evalTokens = 0;
  private evalStart: number | null = null;
  private evalSplit: 'valid' | 'test' | null = null;
  private last: ProgressStep | null = null;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private lastLine = Number.NEGATIVE_INFINITY;
  private drawn = false;
  private evalsDone = new Set<number>();

  constructor(o: TrainProgressOptions) {
    this.sink = o.sink;
    this.tty = o.tty;
    this.logMs = (o.logSeconds ?? 15) * 1000;
    this.now = o.now ?? (() => performance.now());
    this.started = this.now();
  }

  setPlan(p: ProgressPlan): void {
    this.plan = p;
  }

  /** Seconds since the progress began (the CLI creates it before loading the corpus). */
  elapsed(): number {
    return (this.now() - this.started) / 1000;
  }

  /** Training tokens/s measured so far (0 before the first step). */
  private trainRate(): number {
    return this.last?.tokensPerSecond ?? 0;
  }

  private evalRate(): number {
    if (this.evalMs > 0 && this.evalTokens > 0) return this.evalTokens / (this.evalMs / 1000);
    return EVAL_SPEED_GUESS * this.trainRate();
  }

  /** Seconds left: the remaining steps at the measured step time, plus the evaluations to come. `inEval`: tokens left of the one running. */
  eta(inEval?: { left: number }): number {
    const s = this.last;
    if (!s || !this.first) return Number.NaN;
    let train = 0;
    if (s.step < s.total) {
      const steps = s.step - this.first.step;
      if (steps <= 0) return Number.NaN; // one step measured nothing yet (it includes the first-step set-up)
      const trainMs = this.now() - this.first.at - this.evalMs - (this.evalStart !== null ? this.now() - this.evalStart : 0);
      train = (trainMs / 1000 / steps) * (s.total - s.step);
    }
    const rate = this.evalRate();
    let evalTokens = inEval?.left ?? 0;
    if (this.plan) {
      const upcoming = this.plan.evalSteps.filter((x) => x > s.step || (x === s.step && !this.evalsDone.has(x) && inEval === undefined)).length;
      const testLeft = this.plan.testTokens > 0 && !this.evalsDone.has(-1) && this.evalSplit !== 'test';
      evalTokens += upcoming * this.plan.validTokens + (testLeft ? this.plan.testTokens : 0);
    }
    const evalSeconds = evalTokens > 0 ? (rate > 0 ? evalTokens / rate : Number.NaN) : 0;
    return train + evalSeconds;
  }

  step(e: ProgressStep): void {
    const t = this.now();
    this.first ??= { step: e.step, at: t };
    this.last = e;
    const fields = `loss ${e.loss.toFixed(3)}  lr ${fmtLr(e.lr)}  tok/s ${e.tokensPerSecond.toFixed(0)}  elapsed ${formatEta(this.elapsed())}  eta ${formatEta(this.eta())}`;
    if (this.tty) {
      if (t - this.lastDraw < 200 && e.step !== e.total) return;
      this.lastDraw = t;
      this.drawn = true;
      this.sink.write(`\r${formatBar(e.step, e.total)} ${e.step}/${e.total}  ${fields}\x1b[K`);
      return;
    }
    if (t - this.lastLine < this.logMs && e.step !== e.total) return;
    this.lastLine = t;
    this.sink.write(`step ${e.step}/${e.total}  epoch ${e.epoch + 1}  ${fields}\n`);
  }

  evalProgress(e: ProgressEval): void {
    const t = this.now();
    if (e.done === 0) {
      this.evalStart = t;
      this.evalSplit = e.split;
      this.endLine();
      if (!this.tty) {
        this.lastLine = t;
        this.sink.write(`evaluating ${e.split} at step ${e.step}: ${e.total.toLocaleString('en-US')} tokens, eta ${formatEta(this.eta({ left: e.total }))}\n`);
      }
      return;
    }
    if (e.done >= e.total && this.evalStart !== null) {
      this.evalMs += t - this.evalStart;
      this.evalTokens += e.total;
      this.evalStart = null;
      this.evalSplit = null;
      this.evalsDone.add(e.split === 'test' ? -1 : e.step);
    }
    const line = `${e.split} ${e.done.toLocaleString('en-US')}/${e.total.toLocaleString('en-US')} tokens  eta ${formatEta(this.eta({ left: e.total - e.done }))}`;
    if (this.tty) {
      if (t - this.lastDraw < 200 && e.done < e.total) return;
      this.lastDraw = t;
      this.drawn = true;
      this.sink.write(`\r${formatBar(e.done, e.total)} ${line}\x1b[K`);
      if (e.done >= e.total) this.endLine();
      return;
    }
    if (t - this.lastLine < this.logMs || e.done >= e.total) return;
    this.lastLine = t;
    this.sink.write(`evaluating ${line}\n`);
  }

  /** Ends the bar's line (before other output). */
  endLine(): void {
    if (this.tty && this.drawn) this.sink.write('\n');
    this.drawn = false;
  }
}
