// The history of a training run, kept in its resumable checkpoints (meta.training.history) so
// that the report of a resumed run covers the whole run: the training loss per step, the
// validation perplexity per evaluation, the steps where the run was resumed, and the steps and
// seconds of each process that trained it (so a resumed run can state its whole training time).
//
// The loss series is bounded: past MAX_LOSS_POINTS points, neighbouring points are merged
// pairwise (their mean step and loss), so a long run keeps an evenly thinned curve and a
// checkpoint's metadata stays small (~100 KB at most).

/** A point of a curve: the step and the value there. */
export interface HistoryPoint {
  step: number;
  value: number;
}

/**
 * One process's part of a run: it trained from step `from` to step `to`, in `seconds` (its
 * training steps and the evaluations among them; up to its last save for an earlier process).
 */
export interface RunSegment {
  from: number;
  to: number;
  seconds: number;
}

/** The JSON form (in checkpoint.json): [step, value] pairs; segments as [from, to, seconds]. */
export interface RunHistoryJSON {
  loss: [number, number][];
  valid: [number, number][];
  resumedAt: number[];
  /** Absent in checkpoints written before lmkit recorded it. */
  segments?: [number, number, number][];
}

export const MAX_LOSS_POINTS = 4000;

export class RunHistory {
  readonly loss: HistoryPoint[] = [];
  readonly valid: HistoryPoint[] = [];
  readonly resumedAt: number[] = [];
  /** The earlier processes' segments (from the checkpoint this run resumed). */
  readonly segments: RunSegment[] = [];
  /** False when the checkpoint had steps but no segments (written before they were recorded). */
  private segmentsKnown = true;
  /** This process's segment, from `begin`. */
  private current: { from: number; to: number; t0: number } | null = null;
  /** Points merged into each stored loss point (doubles at each thinning). */
  private stride = 1;
  private pending: HistoryPoint[] = [];

  /** Records the loss of `step` (non-finite values are left out). */
  step(step: number, loss: number): void {
    if (this.current !== null) this.current.to = Math.max(this.current.to, step);
    if (!Number.isFinite(loss)) return;
    this.pending.push({ step, value: loss });
    if (this.pending.length < this.stride) return;
    this.loss.push(mean(this.pending));
    this.pending = [];
    if (this.loss.length > MAX_LOSS_POINTS) {
      const merged: HistoryPoint[] = [];
      for (let i = 0; i + 1 < this.loss.length; i += 2) merged.push(mean([this.loss[i]!, this.loss[i + 1]!]));
      if (this.loss.length % 2 === 1) merged.push(this.loss.at(-1)!);
      this.loss.splice(0, this.loss.length, ...merged);
      this.stride *= 2;
    }
  }

  /** Records a validation evaluation. */
  eval(step: number, ppl: number): void {
    if (Number.isFinite(ppl)) this.valid.push({ step, value: ppl });
  }

  /** Marks that the run was resumed at `step`. */
  resume(step: number): void {
    this.resumedAt.push(step);
  }

  /** Starts this process's segment at `step`; its clock starts at `now` (ms, performance.now()). */
  begin(step: number, now = performance.now()): void {
    this.current = { from: step, to: step, t0: now };
  }

  /** The segments, this process's so far included (its seconds up to `now`). */
  allSegments(now = performance.now()): RunSegment[] {
    const c = this.current;
    return c === null ? [...this.segments] : [...this.segments, { from: c.from, to: c.to, seconds: (now - c.t0) / 1000 }];
  }

  /**
   * The seconds the earlier processes of this run trained (0 for a run that was not resumed),
   * or null when the checkpoint it resumed did not record them.
   */
  earlierSeconds(): number | null {
    if (!this.segmentsKnown) return null;
    return this.segments.reduce((s, g) => s + g.seconds, 0);
  }

  /** The loss points, including those not yet merged. */
  lossPoints(): HistoryPoint[] {
    return [...this.loss, ...this.pending];
  }

  toJSON(): RunHistoryJSON {
    return {
      loss: this.lossPoints().map((p) => [p.step, p.value]),
      valid: this.valid.map((p) => [p.step, p.value]),
      resumedAt: [...this.resumedAt],
      ...(this.segmentsKnown ? { segments: this.allSegments().map((g): [number, number, number] => [g.from, g.to, g.seconds]) } : {}),
    };
  }

  /** The history saved in a checkpoint (a missing or malformed one gives an empty history). */
  static fromJSON(j: unknown): RunHistory {
    const h = new RunHistory();
    if (typeof j !== 'object' || j === null) return h;
    const o = j as Partial<RunHistoryJSON>;
    const pairs = (a: unknown): HistoryPoint[] =>
      Array.isArray(a)
        ? a
            .filter((p): p is [number, number] => Array.isArray(p) && p.length === 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]))
            .map(([step, value]) => ({ step, value }))
        : [];
    for (const p of pairs(o.loss)) h.step(p.step, p.value);
    h.valid.push(...pairs(o.valid));
    if (Array.isArray(o.resumedAt)) h.resumedAt.push(...o.resumedAt.filter((s) => Number.isFinite(s)));
    const segments = Array.isArray(o.segments)
      ? o.segments.filter(
          (g): g is [number, number, number] => Array.isArray(g) && g.length === 3 && g.every((x) => Number.isFinite(x)) && g[2] >= 0,
        )
      : null;
    if (segments !== null) h.segments.push(...segments.map(([from, to, seconds]) => ({ from, to, seconds })));
    // A history with steps but no segments comes from a checkpoint that did not record them.
    else h.segmentsKnown = h.loss.length === 0 && h.pending.length === 0 && h.valid.length === 0;
    return h;
  }
}

function mean(ps: readonly HistoryPoint[]): HistoryPoint {
  let s = 0;
  let v = 0;
  for (const p of ps) {
    s += p.step;
    v += p.value;
  }
  return { step: s / ps.length, value: v / ps.length };
}
