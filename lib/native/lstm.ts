// Typed surface of the native `lstm` family (native/napi/ops_lstm.cpp).
import type { NativeStorage } from './storage.js';

export interface LstmNative {
  /**
   * Fused LSTM cell pointwise forward. gatesPre (B,4H) holds the i, f, g, o pre-activations
   * (each a contiguous H-block per row). Writes h (B,H), c (B,H) and the activated gates (B,4H).
   */
  lstm_cell_forward(
    h: NativeStorage,
    c: NativeStorage,
    gates: NativeStorage,
    gatesPre: NativeStorage,
    cPrev: NativeStorage,
    B: number,
    H: number,
  ): void;
  /**
   * Backward of lstm_cell_forward: writes (overwrites) dgatesPre (B,4H) and dcPrev (B,H, may be null).
   * dcNext (B,H) may be null (zeros).
   */
  lstm_cell_backward(
    dgatesPre: NativeStorage,
    dcPrev: NativeStorage | null,
    dh: NativeStorage,
    dcNext: NativeStorage | null,
    gates: NativeStorage,
    c: NativeStorage,
    cPrev: NativeStorage,
    B: number,
    H: number,
  ): void;
}
