// Typed surface of the native `elementwise` family (native/napi/ops_elementwise.cpp).
import type { NativeStorage } from './storage.js';

export type BinaryOpName = 'add' | 'sub' | 'mul' | 'div';

export interface ElementwiseNative {
  /**
   * out = a op b with broadcasting: `shape` is out's shape (rank <= 6); a and b are read at
   * sum(idx[d] * strides[d]) (stride 0 broadcasts a dimension). out must not alias a or b.
   */
  binary_forward(
    op: BinaryOpName,
    out: NativeStorage,
    a: NativeStorage,
    b: NativeStorage,
    shape: readonly number[],
    aStrides: readonly number[],
    bStrides: readonly number[],
  ): void;
  /** out = alpha * inp + beta. */
  affine_forward(out: NativeStorage, inp: NativeStorage, n: number, alpha: number, beta: number): void;
  /** y += alpha * x (in place). */
  axpy(y: NativeStorage, x: NativeStorage, n: number, alpha: number): void;
  exp_forward(out: NativeStorage, inp: NativeStorage, n: number): void;
  /** dinp = dout * out. */
  exp_backward(dinp: NativeStorage, dout: NativeStorage, out: NativeStorage, n: number): void;
  log_forward(out: NativeStorage, inp: NativeStorage, n: number): void;
  /** dinp = dout / inp. */
  log_backward(dinp: NativeStorage, dout: NativeStorage, inp: NativeStorage, n: number): void;
  sqrt_forward(out: NativeStorage, inp: NativeStorage, n: number): void;
  /** dinp = dout * 0.5 / out. */
  sqrt_backward(dinp: NativeStorage, dout: NativeStorage, out: NativeStorage, n: number): void;
  /** out = inp ^ p. */
  pow_scalar_forward(out: NativeStorage, inp: NativeStorage, n: number, p: number): void;
  /** dinp = dout * p * inp ^ (p - 1). */
  pow_scalar_backward(dinp: NativeStorage, dout: NativeStorage, inp: NativeStorage, n: number, p: number): void;
}
