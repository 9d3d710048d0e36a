// NT-ASGD (Merity et al., 2017, "Regularizing and Optimizing LSTM Language Models", section 3):
// non-monotonically triggered averaged SGD. The wrapped optimizer (SGD in AWD-LSTM) takes
// every step; once the validation loss has not improved on the best of all but the last
// `nonmono` evaluations, averaging starts: from then on the wrapper keeps the running mean
// of the iterates,
//
//   avg_n = avg_{n-1} + (theta_n - avg_{n-1}) / n      (avg_1 = theta_1),
//
// i.e. avg = (theta_1 + ... + theta_n) / n over the steps taken since the trigger. The
// iterates themselves are unchanged (SGD goes on from theta_n); the average is what one
// evaluates and ships: `withAveraged(fn)` swaps it into the parameters for the call (and
// back afterwards), `swapAveraged()` does one swap by hand.
//
// Trigger: `observe(validLoss)` after every evaluation, as AWD-LSTM's `main.py`: averaging
// starts when more than `nonmono` losses were seen before and the new one is above the
// minimum of all but the last `nonmono` of them. `startAveraging()` forces it.
//
// Resumable state (`stateDict` / `loadStateDict`): the wrapped optimizer's state under
// `inner.` (tensors and scalars), the averages `avg.<param index>`, and, when saved while
// swapped (a checkpoint written with the averaged weights in the model), the raw iterates
// `iterate.<param index>`: loading such a state puts those iterates back into the
// parameters, so call it after the model's weights are loaded (as `restoreRun` does).
import { axpyInPlace } from '../ops/elementwise.js';
import { Tensor, keep } from '../tensor.js';
import { Optimizer, type OptimizerState } from './optimizer.js';

export interface NTASGDOptions {
  /** Evaluations without improvement on the older best before averaging starts. Default 5. */
  nonmono?: number;
}

export class NTASGD extends Optimizer {
  readonly nonmono: number;
  /** The step count at which averaging started (null: not yet). */
  averageStart: number | null = null;
  /** Iterates in the average. */
  averagedSteps = 0;
  /** Every validation loss passed to `observe`, in order. */
  readonly validLosses: number[] = [];
  private readonly avg = new Map<number, Tensor>();
  private swapped = false;

  constructor(
    readonly inner: Optimizer,
    opts: NTASGDOptions = {},
  ) {
    super(inner.params, inner.lr);
    if (inner instanceof NTASGD) throw new TypeError('NTASGD: the wrapped optimizer is already an NTASGD');
    this.nonmono = opts.nonmono ?? 5;
    if (!Number.isSafeInteger(this.nonmono) || this.nonmono < 1) {
      throw new RangeError(`NTASGD: nonmono must be an integer >= 1, got ${String(opts.nonmono)}`);
    }
    this.stepCount = inner.stepCount;
  }

  /** True once averaging has started. */
  get averaging(): boolean {
    return this.averageStart !== null;
  }

  /** True while the averaged weights are in the parameters (inside `withAveraged`). */
  get isSwapped(): boolean {
    return this.swapped;
  }

  override step(): void {
    if (this.swapped) throw new Error('NTASGD.step: the averaged weights are swapped in; swap them back first');
    this.inner.lr = this.lr;
    this.inner.step();
    this.stepCount = this.inner.stepCount;
    if (this.averageStart === null) return;
    this.averagedSteps++;
    const n = this.averagedSteps;
    for (const [i, p] of this.params.entries()) {
      let a = this.avg.get(i);
      if (!a) {
        a = keep(Tensor.zeros(p.shape));
        this.avg.set(i, a);
      }
      if (n === 1) a.storage.copyFrom(p.storage);
      else {
        a.storage.scale(1 - 1 / n);
        axpyInPlace(a, p, 1 / n);
      }
    }
  }

  protected update(): void {
    throw new Error('NTASGD.update: not used (step() delegates to the wrapped optimizer)');
  }

  /**
   * Records a validation loss; starts averaging (and returns true) when it is above the
   * minimum of all but the last `nonmono` earlier losses (and more than `nonmono` were seen).
   * NaN is ignored.
   */
  observe(validLoss: number): boolean {
    if (typeof validLoss !== 'number') throw new TypeError(`NTASGD.observe: the validation loss must be a number, got ${typeof validLoss}`);
    // A NaN loss (a diverged evaluation) is not recorded and triggers nothing.
    if (Number.isNaN(validLoss)) return false;
    const seen = this.validLosses;
    let trigger = false;
    if (this.averageStart === null && seen.length > this.nonmono) {
      const older = Math.min(...seen.slice(0, seen.length - this.nonmono));
      trigger = validLoss > older;
    }
    seen.push(validLoss);
    if (trigger) this.startAveraging();
    return trigger;
  }

  /** Starts averaging now (a no-op when it has started). */
  startAveraging(): void {
    if (this.averageStart !== null) return;
    this.averageStart = this.stepCount;
    this.averagedSteps = 0;
  }

  /** Exchanges the parameters with the averages (nothing to do before the first averaged step). */
  swapAveraged(): void {
    if (this.averagedSteps === 0) {
      this.swapped = !this.swapped;
      return;
    }
    for (const [i, a] of this.avg) {
      const p = this.params[i]!;
      const t = Tensor.empty(p.shape);
      try {
        t.storage.copyFrom(p.storage);
        p.storage.copyFrom(a.storage);
        a.storage.copyFrom(t.storage);
      } finally {
        t.dispose();
      }
    }
    this.swapped = !this.swapped;
  }

  /** Runs fn with the averaged weights in the parameters (the iterates before averaging starts). */
  withAveraged<T>(fn: () => T): T {
    if (this.swapped) return fn();
    this.swapAveraged();
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.swapAveraged();
      throw e;
    }
    if (result instanceof Promise) {
      return result.finally(() => this.swapAveraged()) as T;
    }
    this.swapAveraged();
    return result;
  }

  override zeroGrad(): void {
    this.inner.zeroGrad();
  }

  override stateDict(): OptimizerState {
    const inner = this.inner.stateDict();
    const tensors: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(inner.tensors)) tensors[`inner.${k}`] = t;
    const live = this.swapped && this.averagedSteps > 0;
    for (const [i, a] of this.avg) {
      // Swapped: the parameters hold the averages and the buffers the iterates.
      tensors[`avg.${i}`] = live ? this.params[i]! : a;
      if (live) tensors[`iterate.${i}`] = a;
    }
    const scalars: Record<string, number> = {
      stepCount: this.stepCount,
      lr: this.lr,
      nonmono: this.nonmono,
      averageStart: this.averageStart ?? -1,
      averagedSteps: this.averagedSteps,
      validCount: this.validLosses.length,
    };
    this.validLosses.forEach((v, k) => (scalars[`valid.${k}`] = v));
    for (const [k, v] of Object.entries(inner.scalars)) scalars[`inner.${k}`] = v;
    return { tensors, scalars };
  }

  override loadStateDict(state: { tensors: Map<string, Tensor> | Record<string, Tensor>; scalars: Record<string, number> }): void {
    const where = 'NTASGD.loadStateDict';
    if (this.swapped) throw new Error(`${where}: the averaged weights are swapped in`);
    const entries = state.tensors instanceof Map ? [...state.tensors.entries()] : Object.entries(state.tensors);
    const innerTensors: Record<string, Tensor> = {};
    const avg = new Map<number, Tensor>();
    const iterate = new Map<number, Tensor>();
    for (const [key, t] of entries) {
      if (key.startsWith('inner.')) {
        innerTensors[key.slice(6)] = t;
        continue;
      }
      const m = /^(avg|iterate)\.(\d+)$/.exec(key);
      const i = m ? Number(m[2]) : -1;
      const p = this.params[i];
      if (!m || !p) throw new Error(`${where}: unexpected state tensor '${key}'`);
      if (t.dtype !== 'float32' || t.size !== p.size) throw new Error(`${where}: '${key}' is ${t.describe()}, expected float32 [${p.shape.join(',')}]`);
      (m[1] === 'avg' ? avg : iterate).set(i, t);
    }
    const s = state.scalars;
    const int = (k: string, min: number): number => {
      const v = s[k];
      if (!Number.isSafeInteger(v) || v! < min) throw new Error(`${where}: bad ${k} ${String(v)}`);
      return v!;
    };
    const lr = s.lr;
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) throw new Error(`${where}: bad lr ${String(lr)}`);
    const nonmono = int('nonmono', 1);
    if (nonmono !== this.nonmono) throw new Error(`${where}: the state has nonmono ${nonmono}, this optimizer ${this.nonmono}`);
    const averageStart = int('averageStart', -1);
    const averagedSteps = int('averagedSteps', 0);
    const validCount = int('validCount', 0);
    const valid: number[] = [];
    for (let k = 0; k < validCount; k++) {
      const v = s[`valid.${k}`];
      if (typeof v !== 'number' || Number.isNaN(v)) throw new Error(`${where}: bad valid.${k} ${String(v)}`);
      valid.push(v);
    }
    if (averagedSteps > 0 && avg.size === 0) throw new Error(`${where}: ${averagedSteps} averaged steps but no averages`);
    for (const i of iterate.keys()) if (!avg.has(i)) throw new Error(`${where}: 'iterate.${i}' without 'avg.${i}'`);
    const innerScalars: Record<string, number> = {};
    for (const [k, v] of Object.entries(s)) if (k.startsWith('inner.')) innerScalars[k.slice(6)] = v;
    this.inner.loadStateDict({ tensors: innerTensors, scalars: innerScalars });
    for (const t of this.avg.values()) t.dispose();
    this.avg.clear();
    for (const [i, t] of avg) {
      const c = keep(Tensor.zeros(this.params[i]!.shape));
      c.storage.copyFrom(t.storage);
      this.avg.set(i, c);
    }
    // Saved while swapped: the model's weights (loaded before) are the averages; put the iterates back.
    for (const [i, t] of iterate) this.params[i]!.storage.copyFrom(t.storage);
    this.stepCount = this.inner.stepCount;
    // The wrapper's own rate (the inner one holds the last step's, which a batch lrScale may have scaled).
    this.lr = lr;
    this.inner.lr = lr;
    this.averageStart = averageStart < 0 ? null : averageStart;
    this.averagedSteps = averagedSteps;
    this.validLosses.length = 0;
    this.validLosses.push(...valid);
  }

  override dispose(): void {
    for (const t of this.avg.values()) t.dispose();
    this.avg.clear();
    this.inner.dispose();
  }
}
