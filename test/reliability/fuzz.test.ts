// Seeded random calls of every native op: argument lists built from the op's spec with
// random sizes (0, small, occasionally huge with another size 0 so the storages stay empty),
// random storage contents (NaN, Inf, huge, out-of-range ids) and random argument
// replacements (wrong kinds, disposed / aliased / fake storages, NaN / negative / 2^50
// numbers, strings, arrays), plus dropped or extra arguments. Each call either returns or
// throws an Error naming the op; a crash (segfault, abort) would kill the vitest worker.
import { afterAll, describe, expect, it } from 'vitest';

import { makeRng, native } from '../../lib/index.js';
import type { NativeStorage } from '../../lib/native/index.js';
import { type ArgSpec, SPECS, StoragePool, type Sizes, callNative, dimValue } from './native-specs.js';

// LMKIT_FUZZ_SEED / LMKIT_FUZZ_CALLS explore further by hand; the suite runs the fixed seed.
const SEED = Number(process.env.LMKIT_FUZZ_SEED ?? 20260101);
const CALLS = Number(process.env.LMKIT_FUZZ_CALLS ?? 20_000);
const TIME_BUDGET_MS = process.env.LMKIT_FUZZ_CALLS ? 600_000 : 10_000;

const pool = new StoragePool();
afterAll(() => pool.free());

const NUMBERS = [0, 1, -1, 2, 3, 0.5, -0.5, 1.5, 1e-30, 1e30, 2 ** 31, -(2 ** 31) - 1, 2 ** 40, 2 ** 50, 2 ** 53, -(2 ** 53), Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, Number.MAX_VALUE, Number.MIN_VALUE];
const FLOATS = [0, 1, -1, 1e-38, 1e38, -1e38, 3.4e38, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 88.8, -88.8, 1e-45];
const INTS = [0, 1, -1, 2, 3, 31, 32, 2147483647, -2147483648, -100, 7];

class Fuzzer {
  private readonly r: () => number;
  constructor(seed: number) {
    this.r = makeRng(seed);
  }
  rand(): number {
    return this.r();
  }
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  chance(p: number): boolean {
    return this.r() < p;
  }

  /** Sizes: mostly 0..4, sometimes one huge size with another forced to 0. */
  sizes(base: Sizes): Sizes {
    const s: Sizes = {};
    const keys = Object.keys(base);
    for (const k of keys) s[k] = this.chance(0.15) ? this.pick([0, 1, 7, 33, 65]) : this.int(5);
    if (keys.length > 0 && this.chance(0.1)) {
      s[this.pick(keys)] = this.pick([2 ** 20, 2 ** 31, 2 ** 40, 2 ** 40 + 1, 2 ** 50]);
      s[this.pick(keys)] = 0;
    }
    return s;
  }

  storage(dtype: 'float32' | 'int32', numel: number, idLimit?: number): NativeStorage {
    const n = Number.isSafeInteger(numel) && numel >= 0 && numel <= 1 << 16 ? numel : this.int(4);
    const mode = this.int(6);
    return pool.make(dtype, n, (i) => {
      if (dtype === 'int32') {
        if (idLimit !== undefined && mode < 4) return i % Math.max(1, idLimit);
        return mode === 4 ? this.pick(INTS) : this.int(7) - 2;
      }
      if (mode === 5) return this.pick(FLOATS);
      return mode === 4 && this.chance(0.2) ? this.pick(FLOATS) : 4 * this.rand() - 2;
    });
  }

  /** A random value of any kind (what replaces an argument). */
  junk(others: unknown[]): unknown {
    switch (this.int(14)) {
      case 0:
        return this.pick(NUMBERS);
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick(['', 'add', 'float32', 'x'.repeat(10)]);
      case 3:
        return Array.from({ length: this.int(8) }, () => this.pick(NUMBERS));
      case 4:
        return this.pick([undefined, null]);
      case 5:
        return this.pick([{}, { numel: 3, dtype: 'float32' }, new Float32Array(3), Object.create(native.Storage.prototype), () => 0, Symbol('s'), 1n]);
      case 6:
        return pool.disposed(this.pick(['float32', 'int32'] as const), this.int(5));
      case 7:
      case 8: {
        // another argument of this call (aliasing), if it is a storage
        const st = others.filter((o) => o instanceof native.Storage);
        if (st.length > 0) return this.pick(st);
        return this.storage('float32', this.int(10));
      }
      default:
        return this.storage(this.pick(['float32', 'int32'] as const), this.pick([0, 1, 2, 3, 5, 8, 12, 24, 40]));
    }
  }

  /** An argument list for `name`: valid for the random sizes, then mutated. */
  args(name: string): unknown[] {
    const spec = SPECS[name]!;
    const s = this.sizes(spec.sizes);
    const anyDtype = this.chance(0.5) ? 'float32' : 'int32';
    const args: unknown[] = spec.args.map((a: ArgSpec): unknown => {
      switch (a.k) {
        case 'f32':
          if (a.opt && this.chance(0.3)) return null;
          return a.nullBase && this.chance(0.7) ? null : this.storage('float32', safe(() => a.n(s)));
        case 'i32':
          if (a.opt && this.chance(0.3)) return null;
          return this.storage('int32', safe(() => a.n(s)), a.ids ? safe(() => a.ids!(s)) : undefined);
        case 'any':
          return this.storage(anyDtype, safe(() => a.n(s)));
        case 'dim':
          return this.chance(0.9) ? dimValue(a, s) : this.pick([0, 1, 5, 12, 2 ** 40]);
        case 'bool':
          return this.chance(0.5);
        case 'num':
          return this.chance(0.7) ? a.value : this.pick(NUMBERS);
        case 'int':
          return this.chance(0.7) ? a.value : this.pick([...INTS, ...NUMBERS]);
        case 'str':
          return this.chance(0.9) ? this.pick(['add', 'sub', 'mul', 'div']) : this.pick(['pow', '']);
        case 'arr': {
          const v = a.value(spec.sizes);
          if (this.chance(0.6)) return v;
          return Array.from({ length: this.chance(0.8) ? v.length : this.int(8) }, () => (this.chance(0.7) ? this.int(4) : this.pick(NUMBERS)));
        }
      }
    });
    for (let i = 0; i < args.length; i++) if (this.chance(0.06)) args[i] = this.junk(args);
    if (this.chance(0.03)) args.pop();
    if (this.chance(0.03)) args.push(this.junk(args));
    return args;
  }
}

function safe(f: () => number): number {
  const v = f();
  return Number.isFinite(v) ? v : -1;
}

describe('fuzzing the native ops', () => {
  it(`${CALLS} seeded random calls: each returns or throws an Error naming the op`, () => {
    const f = new Fuzzer(SEED);
    const names = Object.keys(SPECS).sort();
    const stats = { ok: 0, threw: 0 };
    const perOp = new Map<string, number>();
    const bad: string[] = [];
    const t0 = performance.now();
    let calls = 0;
    for (; calls < CALLS && performance.now() - t0 < TIME_BUDGET_MS; calls++) {
      const name = names[calls % names.length]!;
      const args = f.args(name);
      try {
        callNative(name, args);
        stats.ok++;
        perOp.set(name, (perOp.get(name) ?? 0) + 1);
      } catch (err) {
        stats.threw++;
        if (!(err instanceof Error) || !err.message.includes(name)) {
          if (bad.length < 10) bad.push(`${name}: ${String(err)}`);
        }
      }
      if (calls % 64 === 63) pool.free();
    }
    pool.free();
    if (process.env.LMKIT_FUZZ_VERBOSE) console.log({ calls, ...stats, opsReached: perOp.size, of: names.length, ms: Math.round(performance.now() - t0) });
    expect(bad).toEqual([]);
    expect(calls).toBeGreaterThan(2000);
    // The generator makes valid calls often enough to reach the kernels of most ops.
    expect(stats.ok).toBeGreaterThan(calls / 20);
    expect(perOp.size).toBeGreaterThan(names.length * 0.8);
  });

  it('random Storage method calls never crash', () => {
    const f = new Fuzzer(7);
    const methods = ['write', 'read', 'fill', 'copyFrom', 'addFrom', 'scale', 'dispose'] as const;
    for (let i = 0; i < 3000; i++) {
      const s = f.storage(f.chance(0.5) ? 'float32' : 'int32', f.int(10));
      if (f.chance(0.1)) s.dispose();
      const m = f.pick(methods);
      const args: unknown[] = [];
      const nargs = f.int(3);
      for (let k = 0; k < nargs; k++) {
        args.push(
          f.chance(0.3)
            ? f.pick([new Float32Array(f.int(12)), new Int32Array(f.int(12)), new Float64Array(2), new Uint8Array(5)])
            : f.junk([s]),
        );
      }
      try {
        (s as unknown as Record<string, (...a: unknown[]) => unknown>)[m]!(...args);
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
      }
      if (i % 64 === 63) pool.free();
    }
    pool.free();
    const probe = new native.Storage('float32', 2);
    probe.write(Float32Array.of(3, 4));
    expect(Array.from(probe.read())).toEqual([3, 4]);
    probe.dispose();
  });
});
