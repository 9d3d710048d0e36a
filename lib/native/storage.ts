// The native Storage class: one block of memory owned by the addon (host memory; with the
// CUDA addon, host or device memory: see docs/cuda.md).

export type DType = 'float32' | 'int32';

export type TypedArrayFor<D extends DType> = D extends 'float32' ? Float32Array : Int32Array;

export interface NativeStorage {
  readonly dtype: DType;
  readonly numel: number;
  /** Bytes held now (0 once disposed). */
  readonly bytes: number;
  readonly disposed: boolean;
  /** CUDA addon only: where the data lives (the CPU addon's storages have no `device`). */
  readonly device?: 'cpu' | 'cuda';
  /** Frees the memory now; idempotent. Any later use throws. */
  dispose(): void;
  /** Copies `data` in at element `offset` (Float32Array for float32, Int32Array for int32). */
  write(data: Float32Array | Int32Array, offset?: number): void;
  /** Copies `count` elements out, starting at `offset`. */
  read(offset?: number, count?: number): Float32Array | Int32Array;
  /** Copies the whole storage into `dst` (of this storage's dtype) at element `dstOffset`, without allocating. */
  readInto(dst: Float32Array | Int32Array, dstOffset?: number): void;
  fill(value: number): void;
  copyFrom(source: NativeStorage): void;
  /** this += alpha * source (float32). */
  addFrom(source: NativeStorage, alpha?: number): void;
  /** this *= alpha (float32). */
  scale(alpha: number): void;
  /** CUDA addon only: the device address of a 'cuda' storage (throws for host memory), for lmkit_gloo.node's NCCL calls. */
  devicePointer?(): bigint;
}

export interface StorageConstructor {
  /**
   * zero = false leaves the contents unspecified (the caller writes every element).
   * `device` ('cpu' | 'cuda') is read by the CUDA addon only.
   */
  new (dtype: DType, numel: number, zero?: boolean, device?: 'cpu' | 'cuda'): NativeStorage;
}

/** What the CUDA addon reports about its device (`cudaInfo()`). */
export interface CudaInfo {
  deviceCount: number;
  /** e.g. 12040 for 12.4; 0 without a driver. */
  driverVersion: number;
  /** The CUDA runtime linked into the addon, e.g. 13000. */
  runtimeVersion: number;
  /** Why no device can be used (set when deviceCount is 0 or initialisation failed). */
  error?: string;
  device?: number;
  name?: string;
  computeCapability?: string;
  totalMemory?: number;
  multiprocessors?: number;
  /** Whether cuBLAS was loaded (dlopen); its handle is created by the first matmul. */
  cublas: boolean;
  cublasPath?: string;
  /** cublasGetVersion, 0 until the first matmul created the handle. */
  cublasVersion?: number;
  cublasError?: string;
  /** Which SGEMM engine matmul uses on the device. */
  sgemm?: string;
}

export interface CoreNative {
  readonly Storage: StorageConstructor;
  /** Live native storages and their bytes, process-wide. */
  memory(): { storages: number; bytes: number; cachedBytes: number; deviceStorages?: number; deviceBytes?: number };
  /** Frees the blocks kept for reuse (see `memory().cachedBytes`). */
  emptyCache(): void;
  numThreads(): number;
  /** 0 restores the default (LMKIT_NUM_THREADS or the number of cores). */
  setNumThreads(n: number): void;
  readonly backend: 'cpu' | 'cuda';
  /** CUDA addon only: visible CUDA devices (0 without a driver or a GPU; never throws). */
  deviceCount?(): number;
  /** CUDA addon only: the device, driver and cuBLAS as seen by the addon. */
  cudaInfo?(): CudaInfo;
  /**
   * Emulated CUDA addon only (build-cuda-emu, `npm run build:cuda-emu`): `'HIP-CPU'`, the
   * runtime that runs its CUDA kernels on the CPU. Absent in real CUDA and CPU addons.
   */
  readonly emulation?: 'HIP-CPU';
  /** Emulated CUDA addon only: kernel launches so far, keyed `"<file>:<kernel>"`. */
  emuLaunchCounts?(): Record<string, number>;
  /** Emulated CUDA addon only: zeroes the launch counters. */
  emuResetLaunchCounts?(): void;
  /** CUDA addon only: lmkit's stream (cudaStream_t) and its device, for NCCL collectives ordered with lmkit's kernels. */
  cudaStream?(): { stream: bigint; device: number };
  /** CUDA addon only: waits for lmkit's stream; throws on an earlier asynchronous error. */
  cudaSynchronize?(): void;
  /** CUDA addon only (tests): C = op(A) op(B) on the device with the own kernel or cuBLAS. */
  cuda_gemm_test?(
    c: NativeStorage,
    a: NativeStorage,
    b: NativeStorage,
    batch: number,
    M: number,
    N: number,
    K: number,
    transA: boolean,
    transB: boolean,
    useCublas: boolean,
  ): void;
  readonly avx2: boolean;
  /** The SIMD family of the CPU kernels in use: AVX2/FMA (x86-64), NEON (aarch64) or the portable
   * loops ('generic': no SIMD path for this CPU, or LMKIT_CPU_GENERIC=1). */
  readonly simd: 'avx2-fma' | 'neon' | 'generic';
  /** The architecture the addon was compiled for ('x64', 'arm64'). */
  readonly arch: string;
  /** The op families compiled into this addon. */
  readonly families: readonly string[];
}
