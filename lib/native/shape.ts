// Typed surface of the native `shape` family (native/napi/ops_shape.cpp).
// Both ops move float32 or int32 elements; dst and src must have the same dtype and be
// different storages.
import type { NativeStorage } from './storage.js';

export interface ShapeNative {
  /** out = inp (dense, `shape`, rank <= 6) with its dims reordered: out dim d is inp dim perm[d]. */
  permute(out: NativeStorage, inp: NativeStorage, shape: readonly number[], perm: readonly number[]): void;
  /** dst[dstOffset + r*dstLd + c] = src[srcOffset + r*srcLd + c] for r < rows, c < cols. */
  copy_2d(
    dst: NativeStorage,
    dstOffset: number,
    dstLd: number,
    src: NativeStorage,
    srcOffset: number,
    srcLd: number,
    rows: number,
    cols: number,
  ): void;
}
