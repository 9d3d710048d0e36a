// Typed surface of the native `attention` family (native/napi/ops_attention.cpp).
import type { NativeStorage } from './storage.js';

export interface AttentionNative {
  /**
   * Multi-head scaled dot-product attention: q (B,Tq,C), k and v (B,Tk,C), NH heads of C/NH
   * columns. Writes out (B,Tq,C) and probs (B,NH,Tq,Tk). mask (B,Tk) int32: 1 = attend, 0 = padded.
   */
  attention_forward(
    out: NativeStorage,
    probs: NativeStorage,
    q: NativeStorage,
    k: NativeStorage,
    v: NativeStorage,
    mask: NativeStorage | null,
    B: number,
    Tq: number,
    Tk: number,
    C: number,
    NH: number,
    causal: boolean,
    scale: number,
  ): void;
  /** Backward of attention_forward: writes (overwrites) dq (B,Tq,C), dk and dv (B,Tk,C). */
  attention_backward(
    dq: NativeStorage,
    dk: NativeStorage,
    dv: NativeStorage,
    dout: NativeStorage,
    q: NativeStorage,
    k: NativeStorage,
    v: NativeStorage,
    probs: NativeStorage,
    B: number,
    Tq: number,
    Tk: number,
    C: number,
    NH: number,
    scale: number,
  ): void;
}
