// Typed surface of the native `softmax` family (native/napi/ops_softmax.cpp).
// All tensors are float32 (N, C) row-major; rows are normalised over their C entries.
import type { NativeStorage } from './storage.js';

export interface SoftmaxNative {
  /** out = softmax(inp) per row (max-subtracted). out may be inp. */
  softmax_forward(out: NativeStorage, inp: NativeStorage, N: number, C: number): void;
  /** dinp = y * (dout - sum(dout * y)), y = the forward's output (overwrites dinp). */
  softmax_backward(dinp: NativeStorage, dout: NativeStorage, out: NativeStorage, N: number, C: number): void;
  /** out = inp - max - log(sum(exp(inp - max))) per row. out may be inp. */
  log_softmax_forward(out: NativeStorage, inp: NativeStorage, N: number, C: number): void;
  /** dinp = dout - exp(y) * sum(dout), y = the forward's output (overwrites dinp). */
  log_softmax_backward(dinp: NativeStorage, dout: NativeStorage, out: NativeStorage, N: number, C: number): void;
}
