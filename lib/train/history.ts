// The history of a training run, kept in its resumable checkpoints (meta.training.history) so
// that the report of a resumed run covers the whole run: the training loss per step, the
// validation perplexity per evaluation, and the steps where the run was resumed.
//
// The loss series is bounded: past MAX_LOSS_POINTS points, neighbouring points are merged
// pairwise (their mean step and loss), so a long run keeps an evenly thinned curve and a
// checkpoint's metadata stays small (~100 KB at most).

/** A point of a curve: the step and the value there. */
export interface HistoryPoint {
  step: number;
  value: number;
}

/** The JSON form (in checkpoint.json): [step, value] pairs. */
export interface RunHistoryJSON {
  loss: [number, number][];
  valid: [number, number][];
  resumedAt: number[];
}

export const MAX_LOSS_POINTS = 4000;

export class RunHistory {
  readonly loss: HistoryPoint[] = [];
  readonly valid: HistoryPoint[] = [];
  readonly resumedAt: number[] = [];
  /** Points merged into each stored loss point (doubles at each thinning). */
  private stride = 1;
  private pending: HistoryPoint[] = [];

  /** Records the loss of `step` (non-finite values are left out). */
  step(step: number, loss: number): void {
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

  /** The loss points, including those not yet merged. */
  lossPoints(): HistoryPoint[] {
    return [...this.loss, ...this.pending];
  }

  toJSON(): RunHistoryJSON {
    return {
      loss: this.lossPoints().map((p) => [p.step, p.value]),
      valid: this.valid.map((p) => [p.step, p.value]),
      resumedAt: [...this.resumedAt],
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
