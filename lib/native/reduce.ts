// Typed surface of the native `reduce` family (native/napi/ops_reduce.cpp).
// Axis reductions see the input as (outer, R, inner), R the reduced axis.
import type { NativeStorage } from './storage.js';

export interface ReduceNative {
  /** out (outer, inner) = scale * sum over R of inp (outer, R, inner). */
  sum_axis_forward(
    out: NativeStorage,
    inp: NativeStorage,
    outer: number,
    R: number,
    inner: number,
    scale: number,
  ): void;
  /** dinp (outer, R, inner) = scale * dout (outer, inner), broadcast over R (overwrites). */
  sum_axis_backward(
    dinp: NativeStorage,
    dout: NativeStorage,
    outer: number,
    R: number,
    inner: number,
    scale: number,
  ): void;
  /** out (outer, inner) = max over R; idx (int32) = the first position of the max. R >= 1. */
  max_axis_forward(
    out: NativeStorage,
    idx: NativeStorage,
    inp: NativeStorage,
    outer: number,
    R: number,
    inner: number,
  ): void;
  /** dinp = zeros except dinp[o, idx[o,i], i] = dout[o, i]. */
  max_axis_backward(
    dinp: NativeStorage,
    dout: NativeStorage,
    idx: NativeStorage,
    outer: number,
    R: number,
    inner: number,
  ): void;
  /**
   * out (outShape) = inp (inShape) summed over the dims where outShape[d] == 1 != inShape[d]
   * (the gradient reduction of broadcasting). Same rank (<= 6); outShape[d] is 1 or inShape[d].
   */
  sum_to_shape(out: NativeStorage, inp: NativeStorage, inShape: readonly number[], outShape: readonly number[]): void;
}
