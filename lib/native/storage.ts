// The native Storage class: one block of host memory owned by the addon.

export type DType = 'float32' | 'int32';

export type TypedArrayFor<D extends DType> = D extends 'float32' ? Float32Array : Int32Array;

export interface NativeStorage {
  readonly dtype: DType;
  readonly numel: number;
  /** Bytes held now (0 once disposed). */
  readonly bytes: number;
  readonly disposed: boolean;
  /** Frees the memory now; idempotent. Any later use throws. */
  dispose(): void;
  /** Copies `data` in at element `offset` (Float32Array for float32, Int32Array for int32). */
  write(data: Float32Array | Int32Array, offset?: number): void;
  /** Copies `count` elements out, starting at `offset`. */
  read(offset?: number, count?: number): Float32Array | Int32Array;
  fill(value: number): void;
  copyFrom(source: NativeStorage): void;
  /** this += alpha * source (float32). */
  addFrom(source: NativeStorage, alpha?: number): void;
  /** this *= alpha (float32). */
  scale(alpha: number): void;
}

export interface StorageConstructor {
  /** zero = false leaves the contents unspecified (the caller writes every element). */
  new (dtype: DType, numel: number, zero?: boolean): NativeStorage;
}

export interface CoreNative {
  readonly Storage: StorageConstructor;
  /** Live native storages and their bytes, process-wide. */
  memory(): { storages: number; bytes: number; cachedBytes: number };
  /** Frees the blocks kept for reuse (see `memory().cachedBytes`). */
  emptyCache(): void;
  numThreads(): number;
  /** 0 restores the default (LMKIT_NUM_THREADS or the number of cores). */
  setNumThreads(n: number): void;
  readonly backend: 'cpu';
  readonly avx2: boolean;
  /** The op families compiled into this addon. */
  readonly families: readonly string[];
}
