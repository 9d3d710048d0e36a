// Typed surface of the native `scan` family (native/napi/ops_scan.cpp).
import type { NativeStorage } from './storage.js';

export interface ScanNative {
  /**
   * Selective state-space scan, per (b, d) with state h (N) from zero:
   *   h_t = exp(delta_t A[d]) * h_{t-1} + delta_t Bm_t x_t;  y_t = Cm_t . h_t + Dskip[d] x_t.
   * x, delta, y (B,T,D); A (D,N); Bm, Cm (B,T,N); Dskip (D). Writes y and, when hs is given,
   * every state into hs (B,T,D,N) (needed by the backward).
   */
  scan_forward(
    y: NativeStorage,
    hs: NativeStorage | null,
    x: NativeStorage,
    delta: NativeStorage,
    A: NativeStorage,
    Bm: NativeStorage,
    Cm: NativeStorage,
    Dskip: NativeStorage,
    B: number,
    T: number,
    D: number,
    N: number,
  ): void;
  /**
   * Backward of scan_forward: overwrites dx, ddelta (B,T,D), dBm, dCm (B,T,N); accumulates (+=)
   * dA (D,N) and dDskip (D). hs are the states saved by the forward.
   */
  scan_backward(
    dx: NativeStorage,
    ddelta: NativeStorage,
    dA: NativeStorage,
    dBm: NativeStorage,
    dCm: NativeStorage,
    dDskip: NativeStorage,
    dy: NativeStorage,
    x: NativeStorage,
    delta: NativeStorage,
    A: NativeStorage,
    Bm: NativeStorage,
    Cm: NativeStorage,
    Dskip: NativeStorage,
    hs: NativeStorage,
    B: number,
    T: number,
    D: number,
    N: number,
  ): void;
}
