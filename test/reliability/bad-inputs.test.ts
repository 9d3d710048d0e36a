// Every exported native op, called with one argument at a time made wrong: each call must
// throw a JS Error (TypeError / RangeError / Error) whose message names the op, and the
// process must survive. The table (native-specs.ts) must cover every export, so a new
// binding without a row fails here.
import { afterAll, describe, expect, it } from 'vitest';

import { native } from '../../lib/index.js';
import { type ArgSpec, NON_OPS, SPECS, StoragePool, baselineArgs, callNative, exportedOps } from './native-specs.js';

const pool = new StoragePool();
afterAll(() => pool.free());

interface Mutation {
  what: string;
  args: unknown[];
}

/** The one-argument mutations of a valid call of `name`. */
function mutations(name: string): Mutation[] {
  const spec = SPECS[name]!;
  const base = baselineArgs(name, pool, 11);
  const out: Mutation[] = [
    { what: 'no arguments', args: [] },
    { what: 'one argument too few', args: base.slice(0, -1) },
    { what: 'one argument too many', args: [...base, 0] },
  ];
  const withArg = (i: number, v: unknown): unknown[] => base.map((b, j) => (j === i ? v : b));
  spec.args.forEach((a: ArgSpec, i) => {
    const add = (what: string, v: unknown) => out.push({ what: `${a.name}: ${what}`, args: withArg(i, v) });
    switch (a.k) {
      case 'f32':
      case 'i32':
      case 'any': {
        const numel = a.n(spec.sizes);
        add('a string', 'storage');
        add('a number', 3);
        add('a plain object', { dtype: a.k === 'i32' ? 'int32' : 'float32', numel });
        add('a fake storage (Storage.prototype without native data)', Object.create(native.Storage.prototype));
        add('a Float32Array', new Float32Array(numel));
        if (!(a.k !== 'any' && a.opt)) {
          add('undefined', undefined);
          add('null', null);
        }
        add('a disposed storage', pool.disposed(a.k === 'i32' ? 'int32' : 'float32', numel));
        if (a.k !== 'any') add('the wrong dtype', pool.make(a.k === 'i32' ? 'float32' : 'int32', numel));
        else {
          // dst and src must share a dtype
          add('a dtype different from the other storage', pool.make('int32', numel));
        }
        // With device storages (test/gpu/bad-inputs.test.ts): one of the inputs on the host
        // (ops of one storage run on either device).
        const storages = spec.args.filter((x) => x.k === 'f32' || x.k === 'i32' || x.k === 'any').length;
        if (pool.device === 'cuda' && storages > 1) add('a storage on the other device (cpu)', pool.make(a.k === 'i32' ? 'int32' : 'float32', numel, undefined, 'cpu'));
        if (a.loose) add('too few elements', pool.make(a.k === 'i32' ? 'int32' : 'float32', 1));
        else {
          add('one element too many', pool.make(a.k === 'i32' ? 'int32' : 'float32', numel + 1));
          if (numel > 0) add('one element too few', pool.make(a.k === 'i32' ? 'int32' : 'float32', numel - 1));
        }
        if (a.k === 'i32' && a.ids) {
          const lim = a.ids(spec.sizes);
          add(`an id equal to the limit (${lim})`, pool.make('int32', numel, (k) => (k === numel - 1 ? lim : 0)));
          add('a negative id', pool.make('int32', numel, (k) => (k === 0 ? -1 : 0)));
          add('an id of 2^31-1', pool.make('int32', numel, (k) => (k === 0 ? 2147483647 : 0)));
        }
        break;
      }
      case 'dim': {
        const v = base[i] as number;
        for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 50, 2 ** 64, 1.5, '2', undefined, null, true]) {
          add(`${String(bad)}`, bad);
        }
        // A valid-looking size that does not match the storages.
        if (!['dstOffset', 'srcOffset', 'dstLd', 'srcLd'].includes(a.name)) add(`${v + 1000} (inconsistent with the storages)`, v + 1000);
        break;
      }
      case 'bool':
        for (const bad of [1, 0, 'true', undefined, null, {}]) add(JSON.stringify(bad) ?? 'undefined', bad);
        break;
      case 'num':
        for (const bad of ['1', undefined, null, {}, 1n]) add(`${typeof bad} ${String(bad)}`, bad);
        if (!a.anyNumber) for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) add(String(bad), bad);
        break;
      case 'int':
        for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 1.5, 2 ** 60, -(2 ** 60), '1', undefined]) add(String(bad), bad);
        break;
      case 'str':
        for (const bad of ['pow', '', 5, undefined, null]) add(JSON.stringify(bad) ?? 'undefined', bad);
        break;
      case 'arr': {
        const v = a.value(spec.sizes);
        add('a string', 'x');
        add('undefined', undefined);
        add('an object', { length: v.length });
        add('a non-integer entry', [1.5, ...v.slice(1)]);
        add('a negative entry', [-1, ...v.slice(1)]);
        add('a NaN entry', [Number.NaN, ...v.slice(1)]);
        add('a string entry', ['2', ...v.slice(1)]);
        add('an entry of 2^50', [2 ** 50, ...v.slice(1)]);
        add('one entry too many', [...v, 1]);
        add('seven entries', [1, 1, 1, 1, 1, 1, 1]);
        break;
      }
    }
  });
  return out;
}

/** Runs fn; returns the error it threw (or null). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
    return null;
  } catch (err) {
    return err;
  }
}

describe('native ops reject bad arguments with an error naming the op', () => {
  it('the table covers every exported op (a new binding needs a row in native-specs.ts)', () => {
    const ops = exportedOps();
    expect(ops.length).toBeGreaterThan(50);
    const missing = ops.filter((k) => !(k in SPECS));
    const stale = Object.keys(SPECS).filter((k) => !ops.includes(k));
    expect(missing, 'exported ops without a row').toEqual([]);
    expect(stale, 'rows for ops the addon does not export').toEqual([]);
    for (const k of ops) expect(typeof (native as unknown as Record<string, unknown>)[k], k).toBe('function');
    // deviceCount, cudaInfo, cudaSynchronize, cudaStream and cuda_gemm_test exist in the CUDA addon only.
    const cudaOnly = new Set(['deviceCount', 'cudaInfo', 'cudaSynchronize', 'cudaStream', 'cuda_gemm_test']);
    const isCuda = (native as unknown as { backend?: string }).backend === 'cuda';
    // emulation, emuLaunchCounts and emuResetLaunchCounts exist in the emulated CUDA addon only.
    const emuOnly = new Set(['emulation', 'emuLaunchCounts', 'emuResetLaunchCounts']);
    const isEmu = (native as unknown as { emulation?: string }).emulation !== undefined;
    for (const k of NON_OPS) if ((isCuda || !cudaOnly.has(k)) && (isEmu || !emuOnly.has(k))) expect(k in native, k).toBe(true);
  });

  for (const name of Object.keys(SPECS).sort()) {
    it(name, () => {
      // The baseline call is valid (so each mutation is what makes a call fail).
      expect(() => callNative(name, baselineArgs(name, pool, 11))).not.toThrow();
      const failures: string[] = [];
      for (const m of mutations(name)) {
        const err = thrown(() => callNative(name, m.args));
        if (err === null) failures.push(`${m.what}: did not throw`);
        else if (!(err instanceof Error)) failures.push(`${m.what}: threw a non-Error ${String(err)}`);
        else if (!err.message.includes(name)) failures.push(`${m.what}: message does not name the op: ${err.name}: ${err.message}`);
        else if (!(err instanceof TypeError || err instanceof RangeError || err.constructor === Error)) {
          failures.push(`${m.what}: unexpected error class ${err.name}`);
        }
      }
      expect(failures).toEqual([]);
      pool.free();
    });
  }

  it('the Storage class rejects bad arguments', () => {
    const S = native.Storage as unknown as new (...a: unknown[]) => { dispose(): void };
    for (const args of [[], ['float64', 3], [3, 3], ['float32', -1], ['float32', Number.NaN], ['float32', 2 ** 50], ['float32', 1.5], ['float32', '3'], ['float32', 3, 'yes']]) {
      expect(() => new S(...args), JSON.stringify(args)).toThrow(/Storage/);
    }
    expect(() => (native.Storage as unknown as (...a: unknown[]) => unknown)('float32', 3)).toThrow();
    const s = new native.Storage('float32', 4);
    expect(() => s.write(new Int32Array(4))).toThrow(/Storage\.write.*Float32Array/);
    expect(() => s.write(new Float32Array(5))).toThrow(/Storage\.write.*overflows/);
    expect(() => s.write(new Float32Array(1), 4)).toThrow(/Storage\.write/);
    expect(() => s.write(new Float32Array(1), -1)).toThrow(/Storage\.write/);
    expect(() => s.write([1, 2] as unknown as Float32Array)).toThrow(/Storage\.write/);
    expect(() => s.read(5)).toThrow(/Storage\.read/);
    expect(() => s.read(1, 4)).toThrow(/Storage\.read/);
    expect(() => s.read(Number.NaN)).toThrow(/Storage\.read/);
    expect(() => s.fill('1' as unknown as number)).toThrow(/Storage\.fill/);
    expect(() => s.copyFrom(new native.Storage('float32', 3))).toThrow(/Storage\.copyFrom/);
    expect(() => s.copyFrom({} as never)).toThrow(/Storage\.copyFrom/);
    expect(() => s.addFrom(new native.Storage('int32', 4))).toThrow(/Storage\.addFrom/);
    expect(() => s.addFrom(s, Number.NaN)).toThrow(/Storage\.addFrom/);
    expect(() => s.scale(Number.POSITIVE_INFINITY)).toThrow(/Storage\.scale/);
    const i = new native.Storage('int32', 2);
    expect(() => i.fill(1.5)).toThrow(/Storage\.fill/);
    expect(() => i.fill(2 ** 31)).toThrow(/Storage\.fill/);
    s.dispose();
    s.dispose(); // idempotent
    expect(() => s.read()).toThrow(/disposed/);
    expect(() => s.fill(0)).toThrow(/disposed/);
    expect(s.bytes).toBe(0);
    // Methods and accessors called on something that is not a Storage.
    const proto = native.Storage.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const m of ['read', 'fill', 'dispose', 'write', 'copyFrom', 'addFrom', 'scale']) {
      expect(() => proto[m]!.call({}, 0), m).toThrow();
      expect(() => proto[m]!.call(Object.create(native.Storage.prototype), 0), m).toThrow();
    }
    for (const g of ['numel', 'dtype', 'bytes', 'disposed']) {
      const get = Object.getOwnPropertyDescriptor(native.Storage.prototype, g)!.get!;
      expect(() => get.call({}), g).toThrow();
    }
    i.dispose();
  });

  it('setNumThreads rejects bad counts', () => {
    for (const bad of [-1, 1.5, Number.NaN, 1e9, '2', undefined]) {
      expect(() => (native.setNumThreads as (n: unknown) => void)(bad), String(bad)).toThrow(/setNumThreads/);
    }
  });

  it('the process is still healthy afterwards', () => {
    const s = new native.Storage('float32', 3);
    s.write(Float32Array.of(1, 2, 3));
    expect(Array.from(s.read())).toEqual([1, 2, 3]);
    s.dispose();
  });
});
