// Optimizers: each keeps per-parameter state tensors and applies a fused native update.
// Weight decay is not applied to biases and normalisation gains (parameters of rank <= 1).
//
// Resumable state: `stateDict()` returns every state tensor by name (`<buffer>.<param index>`,
// e.g. `m.3`, `v.3`; live tensors, do not dispose) and the numbers (`stepCount`, `lr`, plus
// each optimizer's own, e.g. Sophia's `hessianUpdates`); `loadStateDict()` copies such a
// state into a fresh optimizer over the same parameters (shapes checked, unknown names refused).
import { adamwStep, sgdStep } from '../ops/optim.js';
import { Tensor, keep } from '../tensor.js';

/** An optimizer's resumable state. */
export interface OptimizerState {
  tensors: Record<string, Tensor>;
  scalars: Record<string, number>;
}

export abstract class Optimizer {
  /** Number of steps taken. */
  stepCount = 0;
  /** The learning rate used by the next step (schedules set it). */
  lr: number;

  constructor(
    readonly params: Tensor[],
    lr: number,
  ) {
    if (!Number.isFinite(lr) || lr < 0) throw new RangeError(`learning rate must be a finite number >= 0, got ${lr}`);
    this.lr = lr;
    for (const p of params) {
      if (p.dtype !== 'float32') throw new TypeError(`optimizer: ${p.describe()} is not float32`);
    }
  }

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    this.stepCount++;
    for (const [i, p] of this.params.entries()) {
      if (p.grad) this.update(i, p, p.grad);
    }
  }

  /** Frees the gradients of every parameter. */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  protected abstract update(index: number, param: Tensor, grad: Tensor): void;

  /** Every state tensor by name (live tensors: do not dispose) and the scalars, for a checkpoint. */
  stateDict(): OptimizerState {
    const tensors: Record<string, Tensor> = {};
    for (const [name, map] of Object.entries(this.stateMaps())) {
      for (const [i, t] of map) tensors[`${name}.${i}`] = t;
    }
    return { tensors, scalars: { stepCount: this.stepCount, lr: this.lr, ...this.stateScalars() } };
  }

  /**
   * Restores a state saved by `stateDict()` (of an optimizer of the same kind over parameters
   * of the same shapes): the tensors are copied. Throws naming the first mismatch.
   */
  loadStateDict(state: { tensors: Map<string, Tensor> | Record<string, Tensor>; scalars: Record<string, number> }): void {
    const where = `${this.constructor.name}.loadStateDict`;
    const maps = this.stateMaps();
    const entries = state.tensors instanceof Map ? [...state.tensors.entries()] : Object.entries(state.tensors);
    const staged: [Map<number, Tensor>, number, Tensor][] = [];
    for (const [key, t] of entries) {
      const m = /^(.+)\.(\d+)$/.exec(key);
      const map = m ? maps[m[1]!] : undefined;
      const i = m ? Number(m[2]) : -1;
      if (!map || i >= this.params.length) throw new Error(`${where}: unexpected state tensor '${key}'`);
      const shape = this.stateShape(m![1]!, this.params[i]!);
      if (t.dtype !== 'float32' || t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
        throw new Error(`${where}: '${key}' is ${t.describe()}, expected float32 [${shape.join(',')}]`);
      }
      staged.push([map, i, t]);
    }
    const { stepCount, lr } = state.scalars;
    if (!Number.isSafeInteger(stepCount) || stepCount! < 0) throw new Error(`${where}: bad stepCount ${String(stepCount)}`);
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) throw new Error(`${where}: bad lr ${String(lr)}`);
    for (const map of Object.values(maps)) {
      for (const t of map.values()) t.dispose();
      map.clear();
    }
    for (const [map, i, t] of staged) {
      const c = keep(Tensor.zeros(t.shape));
      c.storage.copyFrom(t.storage);
      map.set(i, c);
    }
    this.stepCount = stepCount!;
    this.lr = lr;
    this.loadStateScalars(state.scalars);
  }

  /** The named per-parameter state buffers (index -> tensor). */
  protected stateMaps(): Record<string, Map<number, Tensor>> {
    return {};
  }

  /** The shape of buffer `name` for parameter `p` (default: the parameter's shape). */
  protected stateShape(_name: string, p: Tensor): readonly number[] {
    return p.shape;
  }

  /** Optimizer-specific numbers saved with the state. */
  protected stateScalars(): Record<string, number> {
    return {};
  }

  protected loadStateScalars(_s: Record<string, number>): void {}

  protected decayFor(p: Tensor, weightDecay: number): number {
    return p.rank <= 1 ? 0 : weightDecay;
  }

  protected stateTensor(map: Map<number, Tensor>, index: number, like: Tensor): Tensor {
    let t = map.get(index);
    if (!t) {
      t = keep(Tensor.zeros(like.shape));
      map.set(index, t);
    }
    return t;
  }

  dispose(): void {}
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** SGD with momentum and L2 weight decay (PyTorch semantics). */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  private readonly velocity = new Map<number, Tensor>();

  constructor(params: Tensor[], opts: SGDOptions) {
    super(params, opts.lr);
    this.momentum = opts.momentum ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
    this.nesterov = opts.nesterov ?? false;
  }

  protected update(i: number, p: Tensor, g: Tensor): void {
    sgdStep(p, g, this.stateTensor(this.velocity, i, p), {
      lr: this.lr,
      momentum: this.momentum,
      weightDecay: this.decayFor(p, this.weightDecay),
      nesterov: this.nesterov,
    });
  }

  protected override stateMaps(): Record<string, Map<number, Tensor>> {
    return { velocity: this.velocity };
  }

  override dispose(): void {
    for (const t of this.velocity.values()) t.dispose();
    this.velocity.clear();
  }
}

export interface AdamWOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/** AdamW (decoupled weight decay; defaults as ANCHORS.md: 1e-3, (0.9, 0.999), 1e-8, 1e-2). */
export class AdamW extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  protected decoupled = true;
  private readonly m = new Map<number, Tensor>();
  private readonly v = new Map<number, Tensor>();

  constructor(params: Tensor[], opts: AdamWOptions = {}) {
    super(params, opts.lr ?? 1e-3);
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 1e-2;
  }

  protected update(i: number, p: Tensor, g: Tensor): void {
    adamwStep(p, g, this.stateTensor(this.m, i, p), this.stateTensor(this.v, i, p), {
      lr: this.lr,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weightDecay: this.decayFor(p, this.weightDecay),
      step: this.stepCount,
      decoupled: this.decoupled,
    });
  }

  protected override stateMaps(): Record<string, Map<number, Tensor>> {
    return { m: this.m, v: this.v };
  }

  override dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** Adam: L2 weight decay added to the gradient (default 0). */
export class Adam extends AdamW {
  constructor(params: Tensor[], opts: AdamWOptions = {}) {
    super(params, { weightDecay: 0, ...opts });
    this.decoupled = false;
  }
}
