// Typed surface of the native `activations` family (native/napi/ops_activations.cpp).
// Forward: out = act(inp). Backward (overwrites dinp): tanh and sigmoid take the forward's
// `out`, relu, gelu and silu its `inp`.
import type { NativeStorage } from './storage.js';

export interface ActivationsNative {
  tanh_forward(out: NativeStorage, inp: NativeStorage, n: number): void;
  tanh_backward(dinp: NativeStorage, dout: NativeStorage, out: NativeStorage, n: number): void;
  sigmoid_forward(out: NativeStorage, inp: NativeStorage, n: number): void;
  sigmoid_backward(dinp: NativeStorage, dout: NativeStorage, out: NativeStorage, n: number): void;
  relu_forward(out: NativeStorage, inp: NativeStorage, n: number): void;
  relu_backward(dinp: NativeStorage, dout: NativeStorage, inp: NativeStorage, n: number): void;
  /** GELU, tanh approximation (GPT-2). */
  gelu_forward(out: NativeStorage, inp: NativeStorage, n: number): void;
  gelu_backward(dinp: NativeStorage, dout: NativeStorage, inp: NativeStorage, n: number): void;
  silu_forward(out: NativeStorage, inp: NativeStorage, n: number): void;
  silu_backward(dinp: NativeStorage, dout: NativeStorage, inp: NativeStorage, n: number): void;
}
