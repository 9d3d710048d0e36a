import { describe, expect, it } from 'vitest';

import { Tensor, dropout, native, noGrad, setNumThreads, tidy } from '../../lib/index.js';
import { gradCheck, randomArray, randomTensor } from '../helpers.js';

// The kernel's RNG, written out with BigInt: keep(i) = u(seed, i) >= floor(p * 2^32), where
// u is one 32-bit half of splitmix64's finaliser applied to key + (i >> 1) * gamma.
const M64 = (1n << 64n) - 1n;
const GAMMA = 0x9e3779b97f4a7c15n;
const SALT = 0x6a09e667f3bcc909n;
function mix64(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}
function refKeep(seed: number, i: number, p: number): boolean {
  const key = mix64(BigInt.asUintN(64, BigInt(seed)) ^ SALT);
  const h = mix64((key + BigInt(i >> 1) * GAMMA) & M64);
  const u = i & 1 ? h >> 32n : h & 0xffffffffn;
  return u >= BigInt(Math.floor(p * 4294967296));
}

describe('dropout forward', () => {
  for (const [n, p, seed] of [
    [1, 0.5, 1],
    [7, 0.3, 42],
    [37, 0.5, -7],
    [64, 0.1, 2 ** 40 + 3],
    [1001, 0.25, 123456789],
  ] as const) {
    it(`matches the reference hash exactly (n=${n}, p=${p}, seed=${seed})`, () => {
      tidy(() => {
        const x = randomTensor([n], n + 5, 0.5, 2);
        const xs = x.toArray();
        const y = dropout(x, p, { seed }).toArray();
        const scale = Math.fround(1 / (1 - p));
        for (let i = 0; i < n; i++) {
          const expected = refKeep(seed, i, p) ? Math.fround(xs[i]! * scale) : 0;
          if (y[i] !== expected) expect.fail(`element ${i}: got ${y[i]}, expected ${expected}`);
        }
      });
    });
  }

  it('keeps about 1 - p of the elements and preserves the mean', () => {
    tidy(() => {
      const n = 200_003;
      const x = Tensor.ones([n]);
      for (const p of [0.1, 0.5, 0.9]) {
        const y = dropout(x, p, { seed: 99 }).toArray();
        let kept = 0;
        let sum = 0;
        for (const v of y) {
          if (v !== 0) kept++;
          sum += v;
        }
        const sd = Math.sqrt((p * (1 - p)) / n);
        expect(Math.abs(kept / n - (1 - p))).toBeLessThan(5 * sd);
        expect(Math.abs(sum / n - 1)).toBeLessThan((5 * sd) / (1 - p));
      }
    });
  });

  it('is reproducible from the seed, different across seeds, and independent of the thread count', () => {
    const x = randomTensor([3, 100_001], 8);
    const run = (threads: number, seed: number): Float32Array => {
      setNumThreads(threads);
      return tidy(() => dropout(x, 0.4, { seed }).toArray() as Float32Array);
    };
    const a = run(2, 5);
    const b = run(1, 5);
    const c = run(2, 6);
    setNumThreads(0);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    let same = 0;
    for (let i = 0; i < a.length; i++) if ((a[i] === 0) === (c[i] === 0)) same++;
    expect(same / a.length).toBeGreaterThan(0.45); // 0.6^2 + 0.4^2 = 0.52 expected
    expect(same / a.length).toBeLessThan(0.6);
    x.dispose();
  });

  it('is the identity for p = 0 and when not training', () => {
    tidy(() => {
      const x = randomTensor([4, 13], 3).requireGrad();
      const xs = x.toArray();
      expect(Array.from(dropout(x, 0, { seed: 1 }).toArray())).toEqual(Array.from(xs));
      const y = dropout(x, 0.7, { training: false });
      expect(y).not.toBe(x);
      expect(y.shape).toEqual([4, 13]);
      expect(Array.from(y.toArray())).toEqual(Array.from(xs));
      y.backward(Tensor.full([4, 13], 2));
      expect(Array.from(x.grad!.toArray())).toEqual(new Array(52).fill(2));
      x.grad!.dispose();
      // The native kernel with p = 0 keeps everything.
      const out = Tensor.empty([52]);
      const mask = Tensor.empty([2], 'int32');
      native.dropout_forward(out.storage, mask.storage, x.storage, 52, 0, 3);
      expect(Array.from(out.toArray())).toEqual(Array.from(xs));
      expect(Array.from(mask.toArray())).toEqual([-1, (1 << 20) - 1]);
    });
  });
});

describe('dropout backward', () => {
  it('passes dout * mask / (1 - p)', () => {
    tidy(() => {
      const p = 0.35;
      const x = randomTensor([5, 41], 12, 0.5, 1).requireGrad();
      const y = dropout(x, p, { seed: 77 });
      const ys = y.toArray();
      const g = randomArray(x.size, 13);
      y.backward(Tensor.fromArray(g, x.shape));
      const dx = x.grad!.toArray();
      const scale = Math.fround(1 / (1 - p));
      for (let i = 0; i < x.size; i++) {
        const expected = ys[i] !== 0 ? Math.fround(g[i]! * scale) : 0;
        if (dx[i] !== expected) expect.fail(`element ${i}: got ${dx[i]}, expected ${expected}`);
      }
      x.grad!.dispose();
    });
  });

  it('matches finite differences (fixed seed)', () => {
    const x = randomTensor([3, 19], 14);
    gradCheck((a) => dropout(a, 0.3, { seed: 2024 }), [x]);
    x.dispose();
  });

  it('does not record when nothing needs a gradient', () => {
    tidy(() => {
      const x = randomTensor([10], 15).requireGrad();
      expect(noGrad(() => dropout(x, 0.5, { seed: 1 }))._node).toBeNull();
      expect(dropout(x, 0.5, { seed: 1 })._node).not.toBeNull();
    });
  });
});

describe('dropout bad inputs', () => {
  it('rejects bad p, missing or non-integer seeds, int32 and disposed tensors', () => {
    tidy(() => {
      const x = Tensor.ones([8]);
      expect(() => dropout(x, 1, { seed: 1 })).toThrow(/dropout: p must be in \[0, 1\), got 1/);
      expect(() => dropout(x, -0.1, { seed: 1 })).toThrow(/p must be in \[0, 1\)/);
      expect(() => dropout(x, NaN, { seed: 1 })).toThrow(/p must be in \[0, 1\)/);
      expect(() => dropout(x, 0.5)).toThrow(/dropout: a seed is required in training mode/);
      expect(() => dropout(x, 0.5, { seed: 1.5 })).toThrow(/seed must be a safe integer/);
      expect(() => dropout(x, 0.5, { seed: 2 ** 60 })).toThrow(/seed must be a safe integer/);
      expect(() => dropout(Tensor.zeros([8], 'int32'), 0.5, { seed: 1 })).toThrow(/dropout: x must be float32/);
      const gone = Tensor.ones([3]);
      gone.dispose();
      expect(() => dropout(gone, 0.5, { seed: 1 })).toThrow(/dropout: .*has been disposed/);
    });
  });

  it('the bindings check p, the mask size and dtypes', () => {
    tidy(() => {
      const x = Tensor.ones([40]);
      const out = Tensor.empty([40]);
      const mask = Tensor.empty([2], 'int32');
      expect(() => native.dropout_forward(out.storage, mask.storage, x.storage, 40, 1, 0)).toThrow(/dropout_forward: p must be in \[0, 1\)/);
      expect(() => native.dropout_forward(out.storage, Tensor.empty([1], 'int32').storage, x.storage, 40, 0.5, 0)).toThrow(
        /mask must have 2 elements/,
      );
      expect(() => native.dropout_forward(out.storage, Tensor.empty([2]).storage, x.storage, 40, 0.5, 0)).toThrow(/mask must be int32/);
      expect(() => native.dropout_forward(out.storage, mask.storage, x.storage, 40, 0.5, 0.5)).toThrow(/seed must be an integer/);
      expect(() => native.dropout_backward(out.storage, x.storage, mask.storage, 41, 0.5)).toThrow(/dinp must have 41 elements/);
      expect(() => native.dropout_backward(out.storage, x.storage, mask.storage, 40, -1)).toThrow(/dropout_backward: p must be in/);
    });
  });
});
