// Sophia-G (Liu et al. 2023): clipped, Hessian-preconditioned sign-momentum. Defaults as
// ANCHORS.md: betas (0.965, 0.99), rho 0.04, weight decay 0.1 (decoupled), Hessian diagonal
// re-estimated every k = 10 steps with the Gauss-Newton-Bartlett estimator.
//
//   m = beta1 m + (1 - beta1) g;  theta *= 1 - lr * wd
//   theta -= lr * sign(m) * min(|m| / (rho * bs * h + 1e-15), 1)      (bs = tokens per batch)
//   every k steps: h = beta2 h + (1 - beta2) * hessianScale * g_hat^2
// where g_hat is the gradient of the loss on labels sampled from the model's own softmax
// (`SophiaG.sampleLabels`). As in the authors' code, bs enters the update and hessianScale
// defaults to 1 (the paper's B * g_hat^2 with rho*h in the update is the same rule; using B in
// both places would count the batch twice).
//
// Training loop:
//   loss.backward(); opt.step(); opt.zeroGrad();
//   if (opt.hessianDue()) {
//     const y = SophiaG.sampleLabels(logits, seed);   // logits (N, V), detached
//     lossOn(y).backward(); opt.updateHessian(); opt.zeroGrad();
//   }
// (Trainer does this when its loss function returns `logits` and `lossOnLabels`.)
// Resumable state (stateDict): tensors `m.<i>`, `h.<i>`; scalars stepCount, lr, hessianUpdates, batchTokens.
import { sampleLabels, sophiaHessianUpdate, sophiaStep } from '../ops/optim.js';
import type { Tensor } from '../tensor.js';
import { Optimizer } from './optimizer.js';

export interface SophiaOptions {
  /** Default 1e-4. */
  lr?: number;
  /** Default 0.965. */
  beta1?: number;
  /** Default 0.99. */
  beta2?: number;
  /** Default 0.04. */
  rho?: number;
  /** Decoupled, not on rank <= 1 parameters. Default 0.1. */
  weightDecay?: number;
  /** Tokens per batch (bs of the update rule), > 0. Required. */
  batchTokens: number;
  /** Steps between Hessian updates (k). Default 10. */
  hessianInterval?: number;
  /** Multiplies g_hat^2 in the Hessian update. Default 1. */
  hessianScale?: number;
  /** Default 1e-15. */
  eps?: number;
}

function check(name: string, v: unknown, lo: number, hi = Infinity, hiOpen = false, loOpen = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || (loOpen && v === lo) || v > hi || (hiOpen && v === hi)) {
    const range = hi === Infinity ? `${loOpen ? '>' : '>='} ${lo}` : `in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}`;
    throw new RangeError(`SophiaG: ${name} must be a finite number ${range}, got ${String(v)}`);
  }
  return v;
}

/** Sophia-G optimizer. */
export class SophiaG extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly rho: number;
  readonly weightDecay: number;
  readonly hessianInterval: number;
  readonly hessianScale: number;
  readonly eps: number;
  /** Tokens per batch; may be changed between steps. */
  batchTokens: number;
  /** Number of Hessian updates done. */
  hessianUpdates = 0;
  private readonly m = new Map<number, Tensor>();
  private readonly h = new Map<number, Tensor>();

  constructor(params: Tensor[], opts: SophiaOptions) {
    super(params, opts?.lr ?? 1e-4);
    if (opts === undefined || opts === null) throw new RangeError('SophiaG: options with batchTokens (tokens per batch) are required');
    this.beta1 = check('beta1', opts.beta1 ?? 0.965, 0, 1, true);
    this.beta2 = check('beta2', opts.beta2 ?? 0.99, 0, 1, true);
    this.rho = check('rho', opts.rho ?? 0.04, 0, Infinity, false, true);
    this.weightDecay = check('weightDecay', opts.weightDecay ?? 0.1, 0);
    this.batchTokens = check('batchTokens (tokens per batch)', opts.batchTokens, 0, Infinity, false, true);
    const k = opts.hessianInterval ?? 10;
    if (!Number.isSafeInteger(k) || k < 1) throw new RangeError(`SophiaG: hessianInterval must be an integer >= 1, got ${String(k)}`);
    this.hessianInterval = k;
    this.hessianScale = check('hessianScale', opts.hessianScale ?? 1, 0);
    this.eps = check('eps', opts.eps ?? 1e-15, 0, Infinity, false, true);
  }

  /** Samples one label per row from softmax(logits) (N, V): int32 (N). Seeded. */
  static sampleLabels(logits: Tensor, seed: number): Tensor {
    return sampleLabels(logits, seed);
  }

  /** True after every `hessianInterval`-th step: time to call updateHessian. */
  hessianDue(): boolean {
    return this.stepCount > 0 && this.stepCount % this.hessianInterval === 0;
  }

  /**
   * h = beta2 h + (1 - beta2) * hessianScale * g_hat^2 for every parameter, with g_hat the
   * gradient of the loss on sampled labels: `grads[i]` (aligned with params; null skips) or,
   * when omitted, each parameter's current `.grad`.
   */
  updateHessian(grads?: readonly (Tensor | null | undefined)[]): void {
    if (grads !== undefined && grads.length !== this.params.length) {
      throw new RangeError(`SophiaG.updateHessian: got ${grads.length} gradients for ${this.params.length} parameters`);
    }
    for (const [i, p] of this.params.entries()) {
      const g = grads ? grads[i] : p.grad;
      if (!g) continue;
      sophiaHessianUpdate(this.stateTensor(this.h, i, p), g, { beta2: this.beta2, scale: this.hessianScale });
    }
    this.hessianUpdates++;
  }

  /** The Hessian diagonal estimate of parameter i (undefined before its first use). */
  hessian(i: number): Tensor | undefined {
    return this.h.get(i);
  }

  protected update(i: number, p: Tensor, g: Tensor): void {
    sophiaStep(p, g, this.stateTensor(this.m, i, p), this.stateTensor(this.h, i, p), {
      lr: this.lr,
      beta1: this.beta1,
      rho: this.rho,
      weightDecay: this.decayFor(p, this.weightDecay),
      bs: this.batchTokens,
      eps: this.eps,
    });
  }

  protected override stateMaps(): Record<string, Map<number, Tensor>> {
    return { m: this.m, h: this.h };
  }

  protected override stateScalars(): Record<string, number> {
    return { hessianUpdates: this.hessianUpdates, batchTokens: this.batchTokens };
  }

  protected override loadStateScalars(s: Record<string, number>): void {
    if (Number.isSafeInteger(s.hessianUpdates)) this.hessianUpdates = s.hessianUpdates!;
    if (typeof s.batchTokens === 'number' && s.batchTokens > 0) this.batchTokens = s.batchTokens;
  }

  override dispose(): void {
    for (const t of [...this.m.values(), ...this.h.values()]) t.dispose();
    this.m.clear();
    this.h.clear();
  }
}
