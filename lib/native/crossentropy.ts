// Typed surface of the native `crossentropy` family (native/napi/ops_crossentropy.cpp).
import type { NativeStorage } from './storage.js';

export interface CrossentropyNative {
  /**
   * Per-row losses (N) of softmax cross-entropy over logits (N,V) (logits untouched); rows whose
   * target is ignoreIndex get 0. Returns the mean over non-ignored rows (mean) or the sum.
   */
  crossentropy_forward(
    losses: NativeStorage,
    logits: NativeStorage,
    targets: NativeStorage,
    N: number,
    V: number,
    ignoreIndex: number,
    mean: boolean,
  ): number;
  /**
   * Fused forward + backward: losses (N) and dlogits (N,V) = (softmax - onehot) * gradScale / (mean ?
   * numValid : 1) in one pass. dlogits may be the logits storage itself (in place). Returns the
   * reduced loss as crossentropy_forward does.
   */
  crossentropy_forward_backward(
    losses: NativeStorage,
    dlogits: NativeStorage,
    logits: NativeStorage,
    targets: NativeStorage,
    N: number,
    V: number,
    ignoreIndex: number,
    mean: boolean,
    gradScale: number,
  ): number;
  /** dlogits (n) *= upstream, in place. */
  crossentropy_backward(dlogits: NativeStorage, n: number, upstream: number): void;
}
