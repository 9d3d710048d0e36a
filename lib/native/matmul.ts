// Typed surface of the native `matmul` family (native/napi/ops_matmul.cpp).
import type { NativeStorage } from './storage.js';

export interface MatmulNative {
  /** out (batch,M,N) = op(a) @ op(b); a is (batch,K,M) when transA, b is (batch,N,K) when transB. */
  matmul_forward(
    out: NativeStorage,
    a: NativeStorage,
    b: NativeStorage,
    batch: number,
    M: number,
    N: number,
    K: number,
    transA: boolean,
    transB: boolean,
  ): void;
  /** Gradients of matmul_forward; `accumulate` adds into da/db instead of overwriting. */
  matmul_backward(
    da: NativeStorage | null,
    db: NativeStorage | null,
    dout: NativeStorage,
    a: NativeStorage,
    b: NativeStorage,
    batch: number,
    M: number,
    N: number,
    K: number,
    transA: boolean,
    transB: boolean,
    accumulate: boolean,
  ): void;
  /** Which SGEMM implementation runs: e.g. 'lmkit-avx2-fma', 'lmkit-generic', 'cblas'. */
  sgemm_backend(): string;
}
