// Typed surface of the native `conv` family (native/napi/ops_conv.cpp).
import type { NativeStorage } from './storage.js';

export interface ConvNative {
  /**
   * Causal depthwise conv1d, channels last: y[b,t,c] = bias[c] + sum_k weight[c,k] x[b,t-K+1+k,c]
   * (zero at negative time). x, y (B,T,C); weight (C,K); bias (C).
   */
  conv_forward(
    y: NativeStorage,
    x: NativeStorage,
    weight: NativeStorage,
    bias: NativeStorage,
    B: number,
    T: number,
    C: number,
    K: number,
  ): void;
  /** Backward: overwrites dx (B,T,C); accumulates (+=) dweight (C,K) and dbias (C) (each may be null). */
  conv_backward(
    dx: NativeStorage,
    dweight: NativeStorage | null,
    dbias: NativeStorage | null,
    dy: NativeStorage,
    x: NativeStorage,
    weight: NativeStorage,
    B: number,
    T: number,
    C: number,
    K: number,
  ): void;
}
