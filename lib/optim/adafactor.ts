// Adafactor (Shazeer & Stern 2018): factored second moments, relative step size, update
// clipping, no momentum. Defaults as ANCHORS.md: eps1 1e-30, eps2 1e-3, clip d = 1,
// rho_t = min(1e-2, 1/sqrt(t)), beta2_t = 1 - t^-0.8, alpha_t = max(eps2, RMS(theta)) * rho_t.
import { adafactorFactorShape, adafactorStep, type AdafactorState } from '../ops/optim.js';
import { Tensor, keep } from '../tensor.js';
import { Optimizer } from './optimizer.js';

export interface AdafactorOptions {
  /**
   * With relativeStep (default): the cap of the relative step, rho_t = min(lr, 1/sqrt(t)),
   * default 1e-2 (so a schedule that sets `lr` still acts). Without: rho_t = lr.
   */
  lr?: number;
  /** rho_t = min(lr, 1/sqrt(t)) when true (default); rho_t = lr when false. */
  relativeStep?: boolean;
  /** Step size alpha_t = max(eps2, RMS(theta)) * rho_t when true (default); rho_t otherwise. */
  scaleParameter?: boolean;
  /** Default 1e-30. */
  eps1?: number;
  /** Default 1e-3. */
  eps2?: number;
  /** Update clipping threshold d. Default 1. */
  clipThreshold?: number;
  /** beta2_t = 1 - t^decayRate; default -0.8 (must be < 0). */
  decayRate?: number;
  /** Decoupled weight decay, p -= alpha_t * weightDecay * p (not on rank <= 1). Default 0. */
  weightDecay?: number;
  /** Factor the second moment of parameters of rank >= 2 (default true). */
  factored?: boolean;
}

function positive(name: string, v: number, allowZero = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new RangeError(`Adafactor: ${name} must be a finite number ${allowZero ? '>= 0' : '> 0'}, got ${String(v)}`);
  }
  return v;
}

/** Adafactor optimizer (no first moment). */
export class Adafactor extends Optimizer {
  readonly relativeStep: boolean;
  readonly scaleParameter: boolean;
  readonly eps1: number;
  readonly eps2: number;
  readonly clipThreshold: number;
  readonly decayRate: number;
  readonly weightDecay: number;
  readonly factored: boolean;
  private readonly state = new Map<number, AdafactorState>();

  constructor(params: Tensor[], opts: AdafactorOptions = {}) {
    super(params, opts.lr ?? 1e-2);
    this.relativeStep = opts.relativeStep ?? true;
    this.scaleParameter = opts.scaleParameter ?? true;
    this.eps1 = positive('eps1', opts.eps1 ?? 1e-30);
    this.eps2 = positive('eps2', opts.eps2 ?? 1e-3, true);
    this.clipThreshold = positive('clipThreshold', opts.clipThreshold ?? 1);
    this.decayRate = opts.decayRate ?? -0.8;
    if (typeof this.decayRate !== 'number' || !Number.isFinite(this.decayRate) || this.decayRate >= 0) {
      throw new RangeError(`Adafactor: decayRate must be a finite number < 0, got ${String(opts.decayRate)}`);
    }
    this.weightDecay = positive('weightDecay', opts.weightDecay ?? 0, true);
    this.factored = opts.factored ?? true;
  }

  /** rho_t for step t (1-based). */
  relativeStepSize(t: number): number {
    return this.relativeStep ? Math.min(this.lr, 1 / Math.sqrt(t)) : this.lr;
  }

  /** beta2_t = 1 - t^decayRate for step t (1-based); 0 at t = 1. */
  beta2At(t: number): number {
    return 1 - t ** this.decayRate;
  }

  protected update(i: number, p: Tensor, g: Tensor): void {
    const t = this.stepCount;
    adafactorStep(p, g, this.stateFor(i, p), {
      rho: this.relativeStepSize(t),
      beta2: this.beta2At(t),
      eps1: this.eps1,
      eps2: this.eps2,
      clip: this.clipThreshold,
      weightDecay: this.decayFor(p, this.weightDecay),
      scaleParameter: this.scaleParameter,
    });
  }

  private stateFor(i: number, p: Tensor): AdafactorState {
    let s = this.state.get(i);
    if (!s) {
      const f = this.factored ? adafactorFactorShape(p.shape) : null;
      s = f ? { row: keep(Tensor.zeros([f[0]])), col: keep(Tensor.zeros([f[1]])) } : { v: keep(Tensor.zeros(p.shape)) };
      this.state.set(i, s);
    }
    return s;
  }

  // Resumable state: `v.<i>` (unfactored) or `row.<i>` and `col.<i>` (factored), as
  // views of this.state built on each call.
  protected override stateMaps(): Record<string, Map<number, Tensor>> {
    const v = new Map<number, Tensor>();
    const row = new Map<number, Tensor>();
    const col = new Map<number, Tensor>();
    for (const [i, s] of this.state) {
      if ('v' in s) v.set(i, s.v);
      else {
        row.set(i, s.row);
        col.set(i, s.col);
      }
    }
    return { v, row, col };
  }

  protected override stateShape(name: string, p: Tensor): readonly number[] {
    if (name === 'v') return p.shape;
    const f = adafactorFactorShape(p.shape);
    if (!f) return [-1];
    return name === 'row' ? [f[0]] : [f[1]];
  }

  override loadStateDict(state: { tensors: Map<string, Tensor> | Record<string, Tensor>; scalars: Record<string, number> }): void {
    // The base class fills the three maps (after disposing the current state through them).
    const maps = { v: new Map<number, Tensor>(), row: new Map<number, Tensor>(), col: new Map<number, Tensor>() };
    const saved = this.stateMaps.bind(this);
    this.stateMaps = () => {
      const cur = saved();
      for (const k of ['v', 'row', 'col'] as const) for (const [i, t] of cur[k]!) maps[k].set(i, t);
      return maps;
    };
    try {
      super.loadStateDict(state);
    } finally {
      this.stateMaps = saved;
    }
    this.state.clear();
    for (const [i, v] of maps.v) this.state.set(i, { v });
    for (const [i, row] of maps.row) {
      const col = maps.col.get(i);
      if (!col) throw new Error(`Adafactor.loadStateDict: 'row.${i}' without 'col.${i}'`);
      this.state.set(i, { row, col });
    }
  }

  override dispose(): void {
    for (const s of this.state.values()) {
      if ('v' in s) s.v.dispose();
      else {
        s.row.dispose();
        s.col.dispose();
      }
    }
    this.state.clear();
  }
}
