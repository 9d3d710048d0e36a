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
}
