// Typed surface of the native `dropout` family (native/napi/ops_dropout.cpp).
// inp/out/dout/dinp are float32 with n elements; mask is int32 with ceil(n / 32) words
// (bit k of word w: element 32w + k was kept). p must be in [0, 1).
import type { NativeStorage } from './storage.js';

export interface DropoutNative {
  /**
   * out = keep ? inp / (1 - p) : 0, keep decided by a counter-based hash of (seed, index):
   * the same seed gives the same mask for any thread count. seed: any safe integer.
   */
  dropout_forward(out: NativeStorage, mask: NativeStorage, inp: NativeStorage, n: number, p: number, seed: number): void;
  /** dinp = kept ? dout / (1 - p) : 0 (overwrites dinp). */
  dropout_backward(dinp: NativeStorage, dout: NativeStorage, mask: NativeStorage, n: number, p: number): void;
}
