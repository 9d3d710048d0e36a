import { describe, expect, it } from 'vitest';

import { Tensor, keep, memory, native, numThreads, setNumThreads, tidy } from '../../lib/index.js';

describe('Tensor', () => {
  it('round-trips data, shape and dtype', () => {
    const t = Tensor.fromArray([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.device).toBe('cpu');
    expect(t.size).toBe(6);
    expect(Array.from(t.toArray())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.toNested()).toEqual([[1, 2, 3], [4, 5, 6]]);
    const ids = Tensor.fromArray(Int32Array.of(3, -1, 7), [3]);
    expect(ids.dtype).toBe('int32');
    expect(Array.from(ids.toArray())).toEqual([3, -1, 7]);
    t.dispose();
    ids.dispose();
  });

  it('creates zeros, ones, full, scalars and seeded random tensors', () => {
    expect(Array.from(Tensor.zeros([2, 2]).toArray())).toEqual([0, 0, 0, 0]);
    expect(Array.from(Tensor.ones([3]).toArray())).toEqual([1, 1, 1]);
    expect(Array.from(Tensor.full([2], -2.5).toArray())).toEqual([-2.5, -2.5]);
    expect(Tensor.scalar(4).item()).toBe(4);
    expect(Tensor.scalar(4).shape).toEqual([]);
    const a = Array.from(Tensor.randn([1000], { seed: 7 }).toArray());
    const b = Tensor.randn([1000], { seed: 7 }).toArray();
    expect(a).toEqual(Array.from(b));
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const sd = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(Math.abs(sd - 1)).toBeLessThan(0.1);
    const u = Tensor.rand([1000], { low: 2, high: 3, seed: 1 }).toArray();
    expect(Math.min(...u)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...u)).toBeLessThan(3);
  });

  it('reshapes as a view sharing storage, with -1 inference', () => {
    const t = Tensor.fromArray([1, 2, 3, 4, 5, 6], [6]);
    const v = t.reshape([2, -1]);
    expect(v.shape).toEqual([2, 3]);
    v.storage.write(Float32Array.of(9), 0);
    expect(t.toArray()[0]).toBe(9);
    t.dispose();
    // The view keeps the storage alive.
    expect(v.toArray()[0]).toBe(9);
    v.dispose();
    expect(() => Tensor.zeros([6]).reshape([4, -1])).toThrow(/cannot reshape/);
    expect(() => Tensor.zeros([6]).reshape([-1, -1])).toThrow(/only one dimension/);
  });

  it('rejects bad construction arguments with clear errors', () => {
    expect(() => Tensor.fromArray([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2,2\]/);
    expect(() => Tensor.fromArray([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => Tensor.zeros([2, -1])).toThrow(RangeError);
    expect(() => Tensor.zeros([1.5])).toThrow(RangeError);
    expect(() => Tensor.fromArray([1.5], [1], 'int32')).toThrow(/not an int32/);
    expect(() => Tensor.zeros([2], 'float64' as never)).toThrow(/unsupported dtype/);
    expect(() => Tensor.zeros([3]).item()).toThrow(/3 elements/);
  });

  it('throws on use after dispose, and dispose is idempotent', () => {
    const t = Tensor.zeros([4]);
    t.name = 'w';
    t.dispose();
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(() => t.toArray()).toThrow(/Tensor 'w' float32\[4\] has been disposed/);
    expect(() => t.reshape([2, 2])).toThrow(/disposed/);
  });
});

describe('native storage', () => {
  it('validates writes, reads and copies', () => {
    const s = new native.Storage('float32', 4);
    expect(() => s.write(Int32Array.of(1))).toThrow(/Float32Array/);
    expect(() => s.write(new Float32Array(5))).toThrow(/overflows/);
    expect(() => s.write(new Float32Array(2), 3)).toThrow(/overflows/);
    expect(() => s.read(5)).toThrow(/past the end/);
    expect(() => s.copyFrom(new native.Storage('int32', 4))).toThrow(/int32/);
    expect(() => s.addFrom(new native.Storage('float32', 3))).toThrow(/3 elements/);
    const o = new native.Storage('float32', 4);
    o.write(Float32Array.of(1, 2, 3, 4));
    s.addFrom(o, 2);
    s.addFrom(o);
    expect(Array.from(s.read())).toEqual([3, 6, 9, 12]);
    s.scale(0.5);
    expect(Array.from(s.read(1, 2))).toEqual([3, 4.5]);
    expect(() => new (native.Storage as unknown as new (...a: unknown[]) => unknown)('float32')).toThrow(/expected at least 2 arguments/);
    expect(() => new native.Storage('float32', 2 ** 50)).toThrow(/too large/);
    o.dispose();
    expect(() => s.copyFrom(o)).toThrow(/disposed/);
    s.dispose();
  });
});

describe('memory and scopes', () => {
  it('tidy frees intermediates and keeps returned and kept tensors', () => {
    const before = memory();
    let kept: Tensor | undefined;
    const out = tidy(() => {
      Tensor.zeros([1000]);
      Tensor.zeros([1000]);
      kept = keep(Tensor.ones([10]));
      return { result: Tensor.ones([5]), list: [Tensor.ones([2])] };
    });
    const after = memory();
    expect(after.tensors - before.tensors).toBe(3);
    expect(after.bytes - before.bytes).toBe((10 + 5 + 2) * 4);
    expect(out.result.disposed).toBe(false);
    expect(kept!.disposed).toBe(false);
    out.result.dispose();
    out.list[0]!.dispose();
    kept!.dispose();
    expect(memory().bytes).toBe(before.bytes);
    expect(memory().tensors).toBe(before.tensors);
  });

  it('nested tidy moves returned tensors to the outer scope', () => {
    const before = memory().tensors;
    tidy(() => {
      const inner = tidy(() => Tensor.zeros([3]));
      expect(inner.disposed).toBe(false);
      return undefined;
    });
    expect(memory().tensors).toBe(before);
  });

  it('tidy disposes on throw and rejects async functions', () => {
    const before = memory().tensors;
    expect(() =>
      tidy(() => {
        Tensor.zeros([3]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(memory().tensors).toBe(before);
    expect(() => tidy(() => Promise.resolve(1) as unknown as number)).toThrow(/synchronous/);
  });

  it('reports native bytes and live storages', () => {
    const before = native.memory();
    const t = Tensor.zeros([256]);
    expect(native.memory().bytes - before.bytes).toBe(1024);
    expect(native.memory().storages - before.storages).toBe(1);
    t.dispose();
    expect(native.memory().bytes).toBe(before.bytes);
  });

  it('garbage collection frees unreachable tensors (safety net)', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) return; // needs --expose-gc; covered by the memory test script
    const before = native.memory().bytes;
    (() => {
      for (let i = 0; i < 10; i++) Tensor.zeros([1 << 16]);
    })();
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(native.memory().bytes).toBeLessThanOrEqual(before);
  });
});

describe('threads', () => {
  it('reads and sets the native thread count', () => {
    const n = numThreads();
    expect(n).toBeGreaterThanOrEqual(1);
    setNumThreads(1);
    expect(numThreads()).toBe(1);
    setNumThreads(0);
    expect(numThreads()).toBe(n);
    expect(() => setNumThreads(-1)).toThrow(RangeError);
  });
});

describe('block cache', () => {
  it('reuses freed large blocks and empties on request', () => {
    native.emptyCache();
    expect(native.memory().cachedBytes).toBe(0);
    const big = Tensor.zeros([1 << 16]); // 256 KiB: cached when freed
    big.dispose();
    expect(native.memory().cachedBytes).toBe(1 << 18);
    const again = Tensor.zeros([1 << 16]);
    expect(native.memory().cachedBytes).toBe(0); // taken back from the cache
    expect(Array.from(again.toArray().subarray(0, 4))).toEqual([0, 0, 0, 0]); // zeros even when reused
    again.dispose();
    native.emptyCache();
    expect(native.memory().cachedBytes).toBe(0);
  });
});
