// Tensor: a shape and a dtype over native memory, with autograd bookkeeping.
//
// Memory: a tensor's storage is freed by `dispose()`, by the `tidy()` scope that created it,
// or, as a safety net, when the garbage collector finds it unreachable. Views made by
// `reshape()` / `detach()` share the storage; it is freed when the last of them goes.
//
// Devices: 'cpu' always; 'cuda' when the CUDA addon is loaded (LMKIT_BACKEND=cuda, see
// docs/cuda.md). A tensor lives on one device (`tensor.device`); `to(device)` copies;
// `toArray()`/`item()` copy back to the host. New tensors go to the device given to the
// constructor, else to the default device (`setDefaultDevice`, initially 'cpu'); ops put their
// outputs on their inputs' device, and refuse inputs on different devices.
import { backward as runBackward, record, withGradReadyHook as withHookOn, type AnyBackwardFn, type AnyGradNode } from './autograd.js';
import { native, type DType, type NativeStorage } from './native/index.js';

export type { DType } from './native/index.js';
export type Device = 'cpu' | 'cuda';
export type Shape = readonly number[];

/** Nested number arrays, as accepted by `Tensor.fromArray`. */
export type NestedArray = number | readonly NestedArray[];
/** A recorded op on the autograd tape (lib/autograd.ts), over tensors. */
export type GradNode = AnyGradNode<Tensor>;
/** An op's backward: its outputs' gradients to its inputs' gradients (null: none needed). */
export type BackwardFn = AnyBackwardFn<Tensor>;

/**
 * Runs `fn`; during each backward pass it runs, `hook(leaf)` is called once per leaf tensor
 * (`requiresGrad`) of the graph as soon as its gradient is final (lib/autograd.ts).
 */
export function withGradReadyHook<R>(hook: (leaf: Tensor) => void, fn: () => R): R {
  return withHookOn(hook, fn);
}

interface SharedStorage {
  storage: NativeStorage;
  refs: number;
}

let liveTensors = 0;

const finalizer = new FinalizationRegistry<SharedStorage>((shared) => {
  liveTensors--;
  releaseShared(shared);
});

function releaseShared(shared: SharedStorage): void {
  shared.refs--;
  if (shared.refs === 0) shared.storage.dispose();
}

// ---- scopes (tidy) ----------------------------------------------------------------

interface Scope {
  tensors: Tensor[];
}
const scopes: Scope[] = [];
const kept = new WeakSet<Tensor>();

function track(t: Tensor): void {
  const scope = scopes[scopes.length - 1];
  if (scope) scope.tensors.push(t);
}

function collectTensors(value: unknown, out: Set<Tensor>, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (value instanceof Tensor) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, out, depth + 1);
    return;
  }
  if (value instanceof Map) {
    for (const v of value.values()) collectTensors(v, out, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value as Record<string, unknown>)) collectTensors(v, out, depth + 1);
  }
}

/**
 * Runs `fn` and disposes every tensor created inside it, except those it returns (in a
 * tensor, an array, a Map or a plain object) and those passed to `keep()`. Returned
 * tensors move to the enclosing scope. `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = { tensors: [] };
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const t of scope.tensors) if (!kept.has(t)) t.dispose();
    throw err;
  }
  scopes.pop();
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    for (const t of scope.tensors) if (!kept.has(t)) t.dispose();
    throw new TypeError('tidy: the function must be synchronous (it returned a Promise)');
  }
  const returned = new Set<Tensor>();
  collectTensors(result, returned);
  for (const t of scope.tensors) {
    if (returned.has(t)) track(t);
    else if (!kept.has(t)) t.dispose();
  }
  return result;
}

/** Exempts `t` from disposal by any enclosing `tidy()` scope. */
export function keep<T extends Tensor>(t: T): T {
  kept.add(t);
  return t;
}

/**
 * Live tensors (JS objects not yet disposed or collected), live native storages and their
 * bytes, and the bytes of freed blocks kept for reuse (`cachedBytes`; LMKIT_CACHE_MB bounds
 * them, `emptyCache()` frees them).
 */
export function memory(): {
  tensors: number;
  storages: number;
  bytes: number;
  cachedBytes: number;
  /** CUDA addon only: live device storages and their bytes (not included in storages/bytes). */
  deviceStorages?: number;
  deviceBytes?: number;
} {
  const m = native.memory();
  const out = { tensors: liveTensors, storages: m.storages, bytes: m.bytes, cachedBytes: m.cachedBytes };
  if (m.deviceBytes === undefined) return out;
  return { ...out, deviceStorages: m.deviceStorages ?? 0, deviceBytes: m.deviceBytes };
}

/** Frees the native blocks kept for reuse. */
export function emptyCache(): void {
  native.emptyCache();
}

// ---- devices ---------------------------------------------------------------------

let defaultDevice: Device = 'cpu';
/** Only the CUDA addon's storages have a `device` (the CPU addon's are all host memory). */
const hasDevices = native.backend === 'cuda';

function checkDevice(device: unknown, what: string): Device {
  if (device !== 'cpu' && device !== 'cuda') {
    throw new TypeError(`${what}: device must be 'cpu' or 'cuda', got ${JSON.stringify(device)}`);
  }
  if (device === 'cuda' && native.backend !== 'cuda') {
    throw new Error(
      `${what}: the 'cuda' device needs the CUDA addon, but the ${native.backend} addon is loaded ` +
        `(build it with \`bash scripts/build-cuda.sh\` and set LMKIT_BACKEND=cuda; see \`lmkit info\` and docs/cuda.md)`,
    );
  }
  return device;
}

/** Where new tensors go when no device is given (initially 'cpu'). */
export function getDefaultDevice(): Device {
  return defaultDevice;
}

/** Sets the device of new tensors created without one; returns the previous default. */
export function setDefaultDevice(device: Device): Device {
  const prev = defaultDevice;
  defaultDevice = checkDevice(device, 'setDefaultDevice');
  return prev;
}

/**
 * The device shared by the given tensors (nulls skipped), or an Error naming the op and
 * the devices when they differ. With no tensor, the default device.
 */
export function deviceOf(op: string, ...tensors: (Tensor | null | undefined)[]): Device {
  let dev: Device | undefined;
  let first: Tensor | undefined;
  for (const t of tensors) {
    if (!t) continue;
    if (dev === undefined) {
      dev = t.device;
      first = t;
    } else if (t.device !== dev) {
      throw new Error(
        `${op}: inputs are on different devices (${first!.describe()} on ${dev}, ${t.describe()} on ${t.device}); ` +
          `move them to one device with .to('${dev}') or .to('${t.device}')`,
      );
    }
  }
  return dev ?? defaultDevice;
}

// ---- random numbers (seeded, reproducible) -----------------------------------------

/** A small, fast, seedable PRNG (mulberry32) returning floats in [0, 1). */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let defaultSeed = 0x5eed;
function nextSeed(): number {
  defaultSeed = (defaultSeed * 1103515245 + 12345) >>> 0;
  return defaultSeed;
}

// ---- shape helpers ---------------------------------------------------------------

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

function checkShape(shape: Shape, what: string): void {
  if (!Array.isArray(shape)) throw new TypeError(`${what}: shape must be an array of sizes`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`${what}: shape ${formatShape(shape)} must hold non-negative integers`);
    }
  }
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0] as NestedArray;
  }
  return shape;
}

function flatten(data: NestedArray, shape: number[], out: number[], depth = 0): void {
  if (depth === shape.length) {
    if (typeof data !== 'number') throw new TypeError('fromArray: ragged or non-numeric nested array');
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new TypeError('fromArray: ragged nested array (rows of different lengths)');
  }
  for (const v of data) flatten(v as NestedArray, shape, out, depth + 1);
}

// ---- Tensor ----------------------------------------------------------------------

export class Tensor {
  readonly shape: Shape;
  readonly dtype: DType;
  /** Where the data lives: 'cpu', or 'cuda' (CUDA addon only). */
  readonly device: Device;
  /** Number of elements. */
  readonly size: number;
  /** When true, backward() accumulates this leaf's gradient into `.grad`. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf tensor (same shape, float32), or null. */
  grad: Tensor | null = null;
  /** Optional name, used in error messages and checkpoints. */
  name?: string;
  /** @internal The op that produced this tensor (autograd), and which of its outputs it is. */
  _node: GradNode | null = null;
  /** @internal */
  _outIndex = 0;
  private shared: SharedStorage | null;
  private consumedBy: string | null = null;

  /** @internal Use the static constructors. */
  constructor(shared: SharedStorage, shape: Shape, dtype: DType) {
    this.shared = shared;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.device = hasDevices ? ((shared.storage as { device?: Device }).device ?? 'cpu') : 'cpu';
    this.size = shapeSize(shape);
    shared.refs++;
    liveTensors++;
    finalizer.register(this, shared, this);
    track(this);
  }

  // -- construction --

  /**
   * A tensor whose contents are unspecified: for outputs that a kernel overwrites in full.
   * (Under LMKIT_POISON_EMPTY=1, as in the test suite, they are NaN.)
   */
  static empty(shape: Shape, dtype: DType = 'float32', device?: Device): Tensor {
    return Tensor.allocate(shape, dtype, false, 'Tensor.empty', device);
  }

  static zeros(shape: Shape, dtype: DType = 'float32', device?: Device): Tensor {
    return Tensor.allocate(shape, dtype, true, 'Tensor.zeros', device);
  }

  private static allocate(shape: Shape, dtype: DType, zero: boolean, what: string, device?: Device): Tensor {
    checkShape(shape, what);
    if (dtype !== 'float32' && dtype !== 'int32') throw new TypeError(`${what}: unsupported dtype '${String(dtype)}'`);
    const dev = device ?? defaultDevice;
    // The CPU path calls the constructor exactly as before (no device argument).
    const storage =
      dev === 'cpu'
        ? new native.Storage(dtype, shapeSize(shape), zero)
        : new native.Storage(dtype, shapeSize(shape), zero, checkDevice(dev, what));
    return new Tensor({ storage, refs: 0 }, shape, dtype);
  }

  static full(shape: Shape, value: number, dtype: DType = 'float32', device?: Device): Tensor {
    if (value === 0) return Tensor.zeros(shape, dtype, device);
    const t = Tensor.empty(shape, dtype, device);
    t.storage.fill(value);
    return t;
  }

  static ones(shape: Shape, dtype: DType = 'float32', device?: Device): Tensor {
    return Tensor.full(shape, 1, dtype, device);
  }

  static scalar(value: number, dtype: DType = 'float32'): Tensor {
    return Tensor.full([], value, dtype);
  }

  /**
   * From a flat typed/plain array with an explicit shape, or from nested arrays (shape
   * inferred). dtype defaults to int32 for an Int32Array, else float32.
   */
  static fromArray(data: ArrayLike<number> | NestedArray, shape?: Shape, dtype?: DType, device?: Device): Tensor {
    let flat: ArrayLike<number>;
    let shp: number[];
    if (typeof data === 'number') {
      flat = [data];
      shp = [];
    } else if (Array.isArray(data) && data.some((v) => Array.isArray(v))) {
      shp = inferShape(data as NestedArray);
      const out: number[] = [];
      flatten(data as NestedArray, shp, out);
      flat = out;
    } else {
      flat = data as ArrayLike<number>;
      shp = [flat.length];
    }
    const dt: DType = dtype ?? (data instanceof Int32Array ? 'int32' : 'float32');
    const finalShape = shape ? [...shape] : shp;
    checkShape(finalShape, 'Tensor.fromArray');
    if (shapeSize(finalShape) !== flat.length) {
      throw new RangeError(
        `Tensor.fromArray: ${flat.length} values do not fill shape ${formatShape(finalShape)} (${shapeSize(finalShape)} elements)`,
      );
    }
    const t = Tensor.empty(finalShape, dt, device);
    if (dt === 'int32') {
      for (let i = 0; i < flat.length; i++) {
        const v = flat[i]!;
        if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
          t.dispose();
          throw new RangeError(`Tensor.fromArray: value ${v} at index ${i} is not an int32`);
        }
      }
      t.storage.write(flat instanceof Int32Array ? flat : Int32Array.from(flat));
    } else {
      t.storage.write(flat instanceof Float32Array ? flat : Float32Array.from(flat));
    }
    return t;
  }

  /** Normal(mean, std) samples from a seeded generator. */
  static randn(shape: Shape, opts: { mean?: number; std?: number; seed?: number } = {}): Tensor {
    checkShape(shape, 'Tensor.randn');
    const { mean = 0, std = 1 } = opts;
    const rng = makeRng(opts.seed ?? nextSeed());
    const n = shapeSize(shape);
    const a = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u1 = Math.max(rng(), 1e-12);
      const u2 = rng();
      const r = Math.sqrt(-2 * Math.log(u1));
      a[i] = mean + std * r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < n) a[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
    }
    return Tensor.fromArray(a, shape);
  }

  /** Uniform [low, high) samples from a seeded generator. */
  static rand(shape: Shape, opts: { low?: number; high?: number; seed?: number } = {}): Tensor {
    checkShape(shape, 'Tensor.rand');
    const { low = 0, high = 1 } = opts;
    const rng = makeRng(opts.seed ?? nextSeed());
    const a = new Float32Array(shapeSize(shape));
    for (let i = 0; i < a.length; i++) a[i] = low + (high - low) * rng();
    return Tensor.fromArray(a, shape);
  }

  // -- access --

  get disposed(): boolean {
    return this.shared === null;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The native storage (throws if the tensor was disposed). */
  get storage(): NativeStorage {
    if (this.shared === null) {
      throw new Error(`${this.describe()} has been disposed`);
    }
    if (this.consumedBy !== null) throw new Error(`${this.describe()}: ${this.consumedBy}`);
    return this.shared.storage;
  }

  /** A short description for messages: `Tensor 'w' float32[3,4]`. */
  describe(): string {
    return `Tensor${this.name ? ` '${this.name}'` : ''} ${this.dtype}${formatShape(this.shape)}`;
  }

  toString(): string {
    return this.disposed ? `${this.describe()} (disposed)` : this.describe();
  }

  /** A copy of the data. */
  toArray(): Float32Array | Int32Array {
    return this.storage.read();
  }

  /** The data as nested JS arrays. */
  toNested(): NestedArray {
    const flat = Array.from(this.toArray());
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return flat[offset]!;
      const inner = shapeSize(this.shape.slice(dim + 1));
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[dim]!; i++) out.push(build(dim + 1, offset + i * inner));
      return out;
    };
    return build(0, 0);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new RangeError(`item(): ${this.describe()} has ${this.size} elements, not 1`);
    return this.storage.read(0, 1)[0]!;
  }

  // -- views --

  /** Same data, new shape (one dimension may be -1). Shares storage; differentiable. */
  reshape(shape: Shape): Tensor {
    const spec = [...shape];
    const neg = spec.filter((d) => d === -1).length;
    if (neg > 1) throw new RangeError(`reshape: only one dimension may be -1, got ${formatShape(spec)}`);
    if (neg === 1) {
      const known = spec.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      if (known === 0 || this.size % known !== 0) {
        throw new RangeError(`reshape: cannot reshape ${this.describe()} to ${formatShape(spec)}`);
      }
      spec[spec.indexOf(-1)] = this.size / known;
    }
    checkShape(spec, 'reshape');
    if (shapeSize(spec) !== this.size) {
      throw new RangeError(`reshape: cannot reshape ${this.describe()} (${this.size} elements) to ${formatShape(spec)}`);
    }
    this.storage; // throws if disposed
    const out = new Tensor(this.shared!, spec, this.dtype);
    recordReshape(this, out);
    return out;
  }

  /** A view with no autograd history. */
  detach(): Tensor {
    this.storage;
    return new Tensor(this.shared!, this.shape, this.dtype);
  }

  /** A new tensor with a copy of the data, on the same device (no autograd history). */
  clone(): Tensor {
    const t = Tensor.empty(this.shape, this.dtype, this.device);
    t.storage.copyFrom(this.storage);
    return t;
  }

  /**
   * This tensor on `device`: a copy there (differentiable: the gradient is copied back), or,
   * when it already lives there, a view sharing the storage (like `reshape` to the same shape).
   */
  to(device: Device): Tensor {
    checkDevice(device, 'to');
    if (device === this.device) return this.reshape(this.shape);
    const t = Tensor.empty(this.shape, this.dtype, device);
    t.storage.copyFrom(this.storage);
    recordTo(this, t);
    return t;
  }

  /** A float32 tensor of zeros of this shape, on this tensor's device. */
  zerosLike(): Tensor {
    return Tensor.zeros(this.shape, 'float32', this.device);
  }

  /** A float32 tensor of ones of this shape, on this tensor's device. */
  onesLike(): Tensor {
    return Tensor.ones(this.shape, 'float32', this.device);
  }

  /** @internal Exempts this tensor from the enclosing tidy() scope (as `keep(t)`). */
  _keep(): this {
    return keep(this);
  }

  /** Marks this tensor as a leaf whose gradient is accumulated into `.grad`. */
  requireGrad(flag = true): this {
    if (flag && this.dtype !== 'float32') throw new TypeError(`requireGrad: ${this.describe()} is not float32`);
    this.requiresGrad = flag;
    return this;
  }

  /** Back-propagates from this tensor (a scalar unless `grad` is given). */
  backward(grad?: Tensor): void {
    runBackward(this, grad);
  }

  /**
   * @internal Marks this tensor's values as gone (an in-place op reused its storage):
   * every later read throws `reason`. dispose() still works.
   */
  _consume(reason: string): void {
    this.consumedBy = reason;
  }

  /** Frees the native memory now (the storage goes when its last view goes). Idempotent. */
  dispose(): void {
    const shared = this.shared;
    if (shared === null) return;
    this.shared = null;
    this._node = null;
    finalizer.unregister(this);
    liveTensors--;
    releaseShared(shared);
  }
}

// reshape's gradient: the upstream gradient reshaped back. Registered here to avoid a
// dependency of the tensor module on the ops.
function recordReshape(input: Tensor, out: Tensor): void {
  record('reshape', [input], [out], ([g]) => [g!.reshape(input.shape)]);
}
function recordTo(input: Tensor, out: Tensor): void {
  if (input.dtype !== 'float32') return;
  record('to', [input], [out], ([g]) => [g!.to(input.device)]);
}
