// Typed surface of the native `optim` family (native/napi/ops_optim.cpp).
// Fused in-place updates; param, grad and state are float32 storages of n elements, all different.
import type { NativeStorage } from './storage.js';

export interface OptimNative {
  /**
   * SGD (PyTorch): g = grad + weightDecay * p; v = momentum * v + g;
   * p -= lr * (nesterov ? g + momentum * v : v). velocity may be null only when momentum is 0.
   */
  sgd_step(
    param: NativeStorage,
    velocity: NativeStorage | null,
    grad: NativeStorage,
    n: number,
    lr: number,
    momentum: number,
    weightDecay: number,
    nesterov: boolean,
  ): void;
  /**
   * Adam/AdamW (PyTorch): decoupled ? p *= 1 - lr * wd : g += wd * p; m, v moments;
   * p -= lr * mhat / (sqrt(vhat) + eps) with bias corrections for `step` (>= 1).
   */
  adamw_step(
    param: NativeStorage,
    m: NativeStorage,
    v: NativeStorage,
    grad: NativeStorage,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
    decoupled: boolean,
  ): void;
  /**
   * Adafactor (no momentum) on param seen as (rows, cols). Factored: row (rows) and col (cols)
   * running averages of g^2 + eps1, V = row col / mean(row), v null. Unfactored: v (rows * cols),
   * row/col null. U = g / sqrt(V) clipped by max(1, RMS(U) / clip);
   * alpha = scaleParameter ? max(eps2, RMS(p)) * rho : rho;  p -= alpha * (U + weightDecay * p).
   */
  adafactor_step(
    param: NativeStorage,
    row: NativeStorage | null,
    col: NativeStorage | null,
    v: NativeStorage | null,
    grad: NativeStorage,
    rows: number,
    cols: number,
    rho: number,
    beta2: number,
    eps1: number,
    eps2: number,
    clip: number,
    weightDecay: number,
    scaleParameter: boolean,
  ): void;
  /**
   * Sophia-G: p *= 1 - lr * wd; m = beta1 m + (1 - beta1) g;
   * p -= lr * sign(m) * min(|m| / (rho * bs * h + eps), 1).
   */
  sophia_step(
    param: NativeStorage,
    m: NativeStorage,
    h: NativeStorage,
    grad: NativeStorage,
    n: number,
    lr: number,
    beta1: number,
    rho: number,
    weightDecay: number,
    bs: number,
    eps: number,
  ): void;
  /** h = beta2 h + (1 - beta2) * scale * ghat^2 (Gauss-Newton-Bartlett estimate). */
  sophia_hessian(h: NativeStorage, ghat: NativeStorage, n: number, beta2: number, scale: number): void;
  /** out[r] (int32) sampled from softmax(logits[r, :]) with a stream keyed by (seed, r). */
  sample_labels(out: NativeStorage, logits: NativeStorage, N: number, V: number, seed: number): void;
}
