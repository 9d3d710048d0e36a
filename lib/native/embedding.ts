// Typed surface of the native `embedding` family (native/napi/ops_embedding.cpp).
import type { NativeStorage } from './storage.js';

export interface EmbeddingNative {
  /** out (N,C) = table (V,C) [ids (N, int32 in [0,V))]. */
  embedding_forward(out: NativeStorage, ids: NativeStorage, table: NativeStorage, N: number, V: number, C: number): void;
  /** dtable (V,C) += scatter_add(dout (N,C), ids (N)) — accumulates (parameter gradient). */
  embedding_backward(
    dtable: NativeStorage,
    dout: NativeStorage,
    ids: NativeStorage,
    N: number,
    V: number,
    C: number,
  ): void;
}
