// Typed surface of the native `norm` family (native/napi/ops_norm.cpp).
// inp/out/dout/dinp are float32 (N, C); weight/bias/dweight/dbias (C); mean/rstd (N).
// dinp is overwritten; dweight/dbias ACCUMULATE (+=), deterministically for any thread count.
import type { NativeStorage } from './storage.js';

export interface NormNative {
  /** LayerNorm over the last dim; saves mean/rstd when given (null: not saved). bias may be null. */
  layernorm_forward(
    out: NativeStorage,
    mean: NativeStorage | null,
    rstd: NativeStorage | null,
    inp: NativeStorage,
    weight: NativeStorage,
    bias: NativeStorage | null,
    N: number,
    C: number,
    eps: number,
  ): void;
  layernorm_backward(
    dinp: NativeStorage,
    dweight: NativeStorage,
    dbias: NativeStorage | null,
    dout: NativeStorage,
    inp: NativeStorage,
    weight: NativeStorage,
    mean: NativeStorage,
    rstd: NativeStorage,
    N: number,
    C: number,
  ): void;
  /** RMSNorm over the last dim: out = inp * rstd * weight; saves rstd when given. */
  rmsnorm_forward(
    out: NativeStorage,
    rstd: NativeStorage | null,
    inp: NativeStorage,
    weight: NativeStorage,
    N: number,
    C: number,
    eps: number,
  ): void;
  rmsnorm_backward(
    dinp: NativeStorage,
    dweight: NativeStorage,
    dout: NativeStorage,
    inp: NativeStorage,
    weight: NativeStorage,
    rstd: NativeStorage,
    N: number,
    C: number,
  ): void;
}
