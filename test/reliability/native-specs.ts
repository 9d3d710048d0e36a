// Argument specifications of every exported native op (see lib/native/*.ts), used by the
// reliability tests to build valid baseline calls and to mutate them (bad-inputs.test.ts,
// fuzz.test.ts). Sizes are named; storages derive their element counts from the sizes.
import { makeRng, native } from '../../lib/index.js';
import type { NativeStorage } from '../../lib/native/index.js';

export type Sizes = Record<string, number>;

export type ArgSpec =
  /** A float32 storage of n(sizes) elements. opt: null is accepted; nullBase: the baseline passes null. */
  | { k: 'f32'; name: string; n: (s: Sizes) => number; opt?: boolean; nullBase?: boolean; loose?: boolean }
  /** An int32 storage; ids: values must lie in [0, ids(s)) (baseline filled with k % limit, or `fill`). */
  | { k: 'i32'; name: string; n: (s: Sizes) => number; ids?: (s: Sizes) => number; fill?: number; opt?: boolean; loose?: boolean }
  /** A float32 or int32 storage (same dtype as the other `any` storages of the call). */
  | { k: 'any'; name: string; n: (s: Sizes) => number; loose?: boolean }
  /** A non-negative integer size: sizes[name], or `value` when the size is not in `sizes`. */
  | { k: 'dim'; name: string; value?: number }
  | { k: 'bool'; name: string; value: boolean }
  /** A finite number (anyNumber: NaN/Infinity accepted). */
  | { k: 'num'; name: string; value: number; anyNumber?: boolean }
  /** An integer (may be negative). */
  | { k: 'int'; name: string; value: number }
  | { k: 'str'; name: string; value: string }
  | { k: 'arr'; name: string; value: (s: Sizes) => number[] };

export interface FnSpec {
  sizes: Sizes;
  args: ArgSpec[];
}

// -- shorthands --
const f32 = (name: string, n: (s: Sizes) => number, extra: { opt?: boolean; nullBase?: boolean; loose?: boolean } = {}): ArgSpec => ({
  k: 'f32',
  name,
  n,
  ...extra,
});
const dim = (name: string, value?: number): ArgSpec => ({ k: 'dim', name, value });
const bool = (name: string, value = false): ArgSpec => ({ k: 'bool', name, value });
const num = (name: string, value: number, anyNumber = false): ArgSpec => ({ k: 'num', name, value, anyNumber });
const dims = (...names: string[]): ArgSpec[] => names.map((n) => dim(n));

const unary = (): FnSpec => ({ sizes: { n: 7 }, args: [f32('out', (s) => s.n!), f32('inp', (s) => s.n!), dim('n')] });
const unaryBack = (saved: string): FnSpec => ({
  sizes: { n: 7 },
  args: [f32('dinp', (s) => s.n!), f32('dout', (s) => s.n!), f32(saved, (s) => s.n!), dim('n')],
});
const rows = (): FnSpec => ({ sizes: { N: 2, C: 3 }, args: [f32('out', (s) => s.N! * s.C!), f32('inp', (s) => s.N! * s.C!), ...dims('N', 'C')] });
const rowsBack = (): FnSpec => ({
  sizes: { N: 2, C: 3 },
  args: [f32('dinp', (s) => s.N! * s.C!), f32('dout', (s) => s.N! * s.C!), f32('out', (s) => s.N! * s.C!), ...dims('N', 'C')],
});

const bMN = (s: Sizes) => s.batch! * s.M! * s.N!;
const bMK = (s: Sizes) => s.batch! * s.M! * s.K!;
const bKN = (s: Sizes) => s.batch! * s.K! * s.N!;
const BH = (s: Sizes) => s.B! * s.H!;
const B4H = (s: Sizes) => 4 * s.B! * s.H!;
const nq = (s: Sizes) => s.B! * s.Tq! * s.C!;
const nk = (s: Sizes) => s.B! * s.Tk! * s.C!;
const nprobs = (s: Sizes) => s.B! * s.NH! * s.Tq! * s.Tk!;
const NV = (s: Sizes) => s.N! * s.V!;
const NC = (s: Sizes) => s.N! * s.C!;
const oi = (s: Sizes) => s.outer! * s.inner!;
const oRi = (s: Sizes) => s.outer! * s.R! * s.inner!;
const BTD = (s: Sizes) => s.B! * s.T! * s.D!;
const BTN = (s: Sizes) => s.B! * s.T! * s.N!;
const DN = (s: Sizes) => s.D! * s.N!;
const BTDN = (s: Sizes) => s.B! * s.T! * s.D! * s.N!;
const BTC = (s: Sizes) => s.B! * s.T! * s.C!;
const CK = (s: Sizes) => s.C! * s.K!;
const n = (s: Sizes) => s.n!;
const words = (s: Sizes) => Math.ceil(s.n! / 32);

/** Every op the addon exports, with its arguments in order. */
export const SPECS: Record<string, FnSpec> = {
  matmul_forward: {
    sizes: { batch: 2, M: 3, N: 4, K: 5 },
    args: [f32('out', bMN), f32('a', bMK), f32('b', bKN), ...dims('batch', 'M', 'N', 'K'), bool('transA'), bool('transB')],
  },
  matmul_backward: {
    sizes: { batch: 2, M: 3, N: 4, K: 5 },
    args: [
      f32('da', bMK, { opt: true }),
      f32('db', bKN, { opt: true }),
      f32('dout', bMN),
      f32('a', bMK),
      f32('b', bKN),
      ...dims('batch', 'M', 'N', 'K'),
      bool('transA'),
      bool('transB'),
      bool('accumulate'),
    ],
  },
  embedding_forward: {
    sizes: { N: 4, V: 5, C: 3 },
    args: [f32('out', NC), { k: 'i32', name: 'ids', n: (s) => s.N!, ids: (s) => s.V! }, f32('table', (s) => s.V! * s.C!), ...dims('N', 'V', 'C')],
  },
  embedding_backward: {
    sizes: { N: 4, V: 5, C: 3 },
    args: [f32('dtable', (s) => s.V! * s.C!), f32('dout', NC), { k: 'i32', name: 'ids', n: (s) => s.N!, ids: (s) => s.V! }, ...dims('N', 'V', 'C')],
  },
  lstm_cell_forward: {
    sizes: { B: 2, H: 3 },
    args: [f32('h', BH), f32('c', BH), f32('gates', B4H), f32('gatesPre', B4H), f32('cPrev', BH), ...dims('B', 'H')],
  },
  lstm_cell_backward: {
    sizes: { B: 2, H: 3 },
    args: [
      f32('dgatesPre', B4H),
      f32('dcPrev', BH, { opt: true }),
      f32('dh', BH),
      f32('dcNext', BH, { opt: true }),
      f32('gates', B4H),
      f32('c', BH),
      f32('cPrev', BH),
      ...dims('B', 'H'),
    ],
  },
  attention_forward: {
    sizes: { B: 2, Tq: 3, Tk: 3, C: 4, NH: 2 },
    args: [
      f32('out', nq),
      f32('probs', nprobs),
      f32('q', nq),
      f32('k', nk),
      f32('v', nk),
      { k: 'i32', name: 'mask', n: (s) => s.B! * s.Tk!, ids: () => 2, fill: 1, opt: true },
      ...dims('B', 'Tq', 'Tk', 'C', 'NH'),
      bool('causal', true),
      num('scale', 0.5),
    ],
  },
  attention_backward: {
    sizes: { B: 2, Tq: 3, Tk: 3, C: 4, NH: 2 },
    args: [
      f32('dq', nq),
      f32('dk', nk),
      f32('dv', nk),
      f32('dout', nq),
      f32('q', nq),
      f32('k', nk),
      f32('v', nk),
      f32('probs', nprobs),
      ...dims('B', 'Tq', 'Tk', 'C', 'NH'),
      num('scale', 0.5),
    ],
  },
  crossentropy_forward: {
    sizes: { N: 4, V: 5 },
    args: [
      f32('losses', (s) => s.N!),
      f32('logits', NV),
      { k: 'i32', name: 'targets', n: (s) => s.N!, ids: (s) => s.V! },
      ...dims('N', 'V'),
      { k: 'int', name: 'ignoreIndex', value: -100 },
      bool('mean', true),
    ],
  },
  crossentropy_forward_backward: {
    sizes: { N: 4, V: 5 },
    args: [
      f32('losses', (s) => s.N!),
      f32('dlogits', NV),
      f32('logits', NV),
      { k: 'i32', name: 'targets', n: (s) => s.N!, ids: (s) => s.V! },
      ...dims('N', 'V'),
      { k: 'int', name: 'ignoreIndex', value: -100 },
      bool('mean', true),
      num('gradScale', 1),
    ],
  },
  crossentropy_backward: { sizes: { n: 6 }, args: [f32('dlogits', n), dim('n'), num('upstream', 1, true)] },
  softmax_forward: rows(),
  softmax_backward: rowsBack(),
  log_softmax_forward: rows(),
  log_softmax_backward: rowsBack(),
  binary_forward: {
    sizes: {},
    args: [
      { k: 'str', name: 'op', value: 'add' },
      f32('out', () => 6),
      f32('a', () => 6, { loose: true }),
      f32('b', () => 3, { loose: true }),
      { k: 'arr', name: 'shape', value: () => [2, 3] },
      { k: 'arr', name: 'aStrides', value: () => [3, 1] },
      { k: 'arr', name: 'bStrides', value: () => [0, 1] },
    ],
  },
  affine_forward: { sizes: { n: 5 }, args: [f32('out', n), f32('inp', n), dim('n'), num('alpha', 2, true), num('beta', 1, true)] },
  axpy: { sizes: { n: 5 }, args: [f32('y', n), f32('x', n), dim('n'), num('alpha', 0.5)] },
  exp_forward: unary(),
  exp_backward: unaryBack('out'),
  log_forward: unary(),
  log_backward: unaryBack('inp'),
  sqrt_forward: unary(),
  sqrt_backward: unaryBack('out'),
  pow_scalar_forward: { sizes: { n: 5 }, args: [f32('out', n), f32('inp', n), dim('n'), num('p', 2)] },
  pow_scalar_backward: { sizes: { n: 5 }, args: [f32('dinp', n), f32('dout', n), f32('inp', n), dim('n'), num('p', 2)] },
  tanh_forward: unary(),
  tanh_backward: unaryBack('out'),
  sigmoid_forward: unary(),
  sigmoid_backward: unaryBack('out'),
  relu_forward: unary(),
  relu_backward: unaryBack('inp'),
  gelu_forward: unary(),
  gelu_backward: unaryBack('inp'),
  silu_forward: unary(),
  silu_backward: unaryBack('inp'),
  sum_axis_forward: { sizes: { outer: 2, R: 3, inner: 4 }, args: [f32('out', oi), f32('inp', oRi), ...dims('outer', 'R', 'inner'), num('scale', 1)] },
  sum_axis_backward: { sizes: { outer: 2, R: 3, inner: 4 }, args: [f32('dinp', oRi), f32('dout', oi), ...dims('outer', 'R', 'inner'), num('scale', 1)] },
  max_axis_forward: {
    sizes: { outer: 2, R: 3, inner: 4 },
    args: [f32('out', oi), { k: 'i32', name: 'idx', n: oi }, f32('inp', oRi), ...dims('outer', 'R', 'inner')],
  },
  max_axis_backward: {
    sizes: { outer: 2, R: 3, inner: 4 },
    args: [f32('dinp', oRi), f32('dout', oi), { k: 'i32', name: 'idx', n: oi, ids: (s) => s.R! }, ...dims('outer', 'R', 'inner')],
  },
  sum_to_shape: {
    sizes: {},
    args: [f32('out', () => 3), f32('inp', () => 6), { k: 'arr', name: 'inShape', value: () => [2, 3] }, { k: 'arr', name: 'outShape', value: () => [1, 3] }],
  },
  permute: {
    sizes: {},
    args: [{ k: 'any', name: 'out', n: () => 6 }, { k: 'any', name: 'inp', n: () => 6 }, { k: 'arr', name: 'shape', value: () => [2, 3] }, { k: 'arr', name: 'perm', value: () => [1, 0] }],
  },
  copy_2d: {
    sizes: {},
    args: [
      { k: 'any', name: 'dst', n: () => 12, loose: true },
      dim('dstOffset', 1),
      dim('dstLd', 4),
      { k: 'any', name: 'src', n: () => 12, loose: true },
      dim('srcOffset', 0),
      dim('srcLd', 4),
      dim('rows', 2),
      dim('cols', 3),
    ],
  },
  layernorm_forward: {
    sizes: { N: 3, C: 4 },
    args: [
      f32('out', NC),
      f32('mean', (s) => s.N!, { opt: true }),
      f32('rstd', (s) => s.N!, { opt: true }),
      f32('inp', NC),
      f32('weight', (s) => s.C!),
      f32('bias', (s) => s.C!, { opt: true }),
      ...dims('N', 'C'),
      num('eps', 1e-5),
    ],
  },
  layernorm_backward: {
    sizes: { N: 3, C: 4 },
    args: [
      f32('dinp', NC),
      f32('dweight', (s) => s.C!),
      f32('dbias', (s) => s.C!, { opt: true }),
      f32('dout', NC),
      f32('inp', NC),
      f32('weight', (s) => s.C!),
      f32('mean', (s) => s.N!),
      f32('rstd', (s) => s.N!),
      ...dims('N', 'C'),
    ],
  },
  rmsnorm_forward: {
    sizes: { N: 3, C: 4 },
    args: [f32('out', NC), f32('rstd', (s) => s.N!, { opt: true }), f32('inp', NC), f32('weight', (s) => s.C!), ...dims('N', 'C'), num('eps', 1e-5)],
  },
  rmsnorm_backward: {
    sizes: { N: 3, C: 4 },
    args: [f32('dinp', NC), f32('dweight', (s) => s.C!), f32('dout', NC), f32('inp', NC), f32('weight', (s) => s.C!), f32('rstd', (s) => s.N!), ...dims('N', 'C')],
  },
  dropout_forward: {
    sizes: { n: 40 },
    args: [f32('out', n), { k: 'i32', name: 'mask', n: words }, f32('inp', n), dim('n'), num('p', 0.5), { k: 'int', name: 'seed', value: 7 }],
  },
  dropout_backward: {
    sizes: { n: 40 },
    args: [f32('dinp', n), f32('dout', n), { k: 'i32', name: 'mask', n: words }, dim('n'), num('p', 0.5)],
  },
  sgd_step: {
    sizes: { n: 5 },
    args: [f32('param', n), f32('velocity', n, { opt: true }), f32('grad', n), dim('n'), num('lr', 0.1), num('momentum', 0.9), num('weightDecay', 0), bool('nesterov')],
  },
  adamw_step: {
    sizes: { n: 5 },
    args: [
      f32('param', n),
      f32('m', n),
      f32('v', n),
      f32('grad', n),
      dim('n'),
      num('lr', 1e-3),
      num('beta1', 0.9),
      num('beta2', 0.999),
      num('eps', 1e-8),
      num('weightDecay', 0.01),
      { k: 'int', name: 'step', value: 1 },
      bool('decoupled', true),
    ],
  },
  adafactor_step: {
    sizes: { rows: 2, cols: 3 },
    args: [
      f32('param', (s) => s.rows! * s.cols!),
      f32('row', (s) => s.rows!, { opt: true }),
      f32('col', (s) => s.cols!, { opt: true }),
      f32('v', (s) => s.rows! * s.cols!, { opt: true, nullBase: true }),
      f32('grad', (s) => s.rows! * s.cols!),
      ...dims('rows', 'cols'),
      num('rho', 1e-2),
      num('beta2', 0.9),
      num('eps1', 1e-30),
      num('eps2', 1e-3),
      num('clip', 1),
      num('weightDecay', 0),
      bool('scaleParameter', true),
    ],
  },
  sophia_step: {
    sizes: { n: 5 },
    args: [
      f32('param', n),
      f32('m', n),
      f32('h', n),
      f32('grad', n),
      dim('n'),
      num('lr', 1e-3),
      num('beta1', 0.9),
      num('rho', 0.04),
      num('weightDecay', 0.1),
      num('bs', 5),
      num('eps', 1e-12),
    ],
  },
  sophia_hessian: { sizes: { n: 5 }, args: [f32('h', n), f32('ghat', n), dim('n'), num('beta2', 0.99), num('scale', 1)] },
  sample_labels: {
    sizes: { N: 3, V: 4 },
    args: [{ k: 'i32', name: 'out', n: (s) => s.N! }, f32('logits', NV), ...dims('N', 'V'), { k: 'int', name: 'seed', value: 3 }],
  },
  scan_forward: {
    sizes: { B: 2, T: 3, D: 2, N: 2 },
    args: [
      f32('y', BTD),
      f32('hs', BTDN, { opt: true }),
      f32('x', BTD),
      f32('delta', BTD),
      f32('A', DN),
      f32('Bm', BTN),
      f32('Cm', BTN),
      f32('Dskip', (s) => s.D!),
      ...dims('B', 'T', 'D', 'N'),
    ],
  },
  scan_backward: {
    sizes: { B: 2, T: 3, D: 2, N: 2 },
    args: [
      f32('dx', BTD),
      f32('ddelta', BTD),
      f32('dA', DN),
      f32('dBm', BTN),
      f32('dCm', BTN),
      f32('dDskip', (s) => s.D!),
      f32('dy', BTD),
      f32('x', BTD),
      f32('delta', BTD),
      f32('A', DN),
      f32('Bm', BTN),
      f32('Cm', BTN),
      f32('Dskip', (s) => s.D!),
      f32('hs', BTDN),
      ...dims('B', 'T', 'D', 'N'),
    ],
  },
  conv_forward: {
    sizes: { B: 2, T: 3, C: 2, K: 2 },
    args: [f32('y', BTC), f32('x', BTC), f32('weight', CK), f32('bias', (s) => s.C!), ...dims('B', 'T', 'C', 'K')],
  },
  conv_backward: {
    sizes: { B: 2, T: 3, C: 2, K: 2 },
    args: [
      f32('dx', BTC),
      f32('dweight', CK, { opt: true }),
      f32('dbias', (s) => s.C!, { opt: true }),
      f32('dy', BTC),
      f32('x', BTC),
      f32('weight', CK),
      ...dims('B', 'T', 'C', 'K'),
    ],
  },
};

/** Keys of `native` that are not ops taking arguments (covered elsewhere or argument-free). */
// The CUDA addon (docs/cuda.md) adds process-level exports and a test hook (cuda_gemm_test,
// exercised by test/gpu): not ops with CPU storages.
export const NON_OPS = new Set([
  'Storage',
  // The emulated CUDA addon's own (build-cuda-emu; docs/cuda.md).
  'emulation',
  'emuLaunchCounts',
  'emuResetLaunchCounts',
  'memory',
  'emptyCache',
  'numThreads',
  'setNumThreads',
  'backend',
  'avx2',
  'simd',
  'arch',
  'families',
  'sgemm_backend',
  'deviceCount',
  'cudaInfo',
  'cudaSynchronize',
  'cudaStream',
  'cuda_gemm_test',
]);

/** The op names the addon exports. */
export function exportedOps(): string[] {
  return Object.keys(native)
    .filter((k) => !NON_OPS.has(k))
    .sort();
}

/** Calls native[name](...args). */
export function callNative(name: string, args: unknown[]): unknown {
  const fn = (native as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
  if (typeof fn !== 'function') throw new Error(`native.${name} is not a function`);
  return fn(...args);
}

/** Tracks the storages a test allocates so they can all be freed. */
export class StoragePool {
  readonly all: NativeStorage[] = [];
  /**
   * Where the storages live: LMKIT_BAD_INPUT_DEVICE=cuda (test/gpu/bad-inputs.test.ts, with a
   * CUDA addon, real or emulated) puts them on the device; the default is the host.
   */
  readonly device: 'cpu' | 'cuda' = process.env.LMKIT_BAD_INPUT_DEVICE === 'cuda' ? 'cuda' : 'cpu';
  make(dtype: 'float32' | 'int32', numel: number, init?: (i: number) => number, device: 'cpu' | 'cuda' = this.device): NativeStorage {
    const s = device === 'cuda' ? new native.Storage(dtype, numel, true, 'cuda') : new native.Storage(dtype, numel, true);
    this.all.push(s);
    if (init && numel > 0) {
      const a = dtype === 'float32' ? new Float32Array(numel) : new Int32Array(numel);
      for (let i = 0; i < numel; i++) a[i] = init(i);
      s.write(a);
    }
    return s;
  }
  disposed(dtype: 'float32' | 'int32', numel: number): NativeStorage {
    const s = this.make(dtype, numel);
    s.dispose();
    return s;
  }
  free(): void {
    for (const s of this.all) s.dispose();
    this.all.length = 0;
  }
}

/** The value of a dim argument under `sizes`. */
export function dimValue(a: ArgSpec & { k: 'dim' }, sizes: Sizes): number {
  return a.name in sizes ? sizes[a.name]! : a.value!;
}

/** A valid call of `name` (storages from `pool`), with values drawn from `seed`. */
export function baselineArgs(name: string, pool: StoragePool, seed = 1, sizes?: Sizes): unknown[] {
  const spec = SPECS[name];
  if (!spec) throw new Error(`no spec for ${name}`);
  const s = sizes ?? spec.sizes;
  const r = makeRng(seed);
  return spec.args.map((a) => {
    switch (a.k) {
      case 'f32':
        return a.nullBase ? null : pool.make('float32', a.n(s), () => 2 * r() - 1);
      case 'i32': {
        const lim = a.ids?.(s);
        return pool.make('int32', a.n(s), (i) => (a.fill !== undefined ? a.fill : lim !== undefined ? i % lim : 0));
      }
      case 'any':
        return pool.make('float32', a.n(s), () => 2 * r() - 1);
      case 'dim':
        return dimValue(a, s);
      case 'arr':
        return a.value(s);
      default:
        return a.value;
    }
  });
}
