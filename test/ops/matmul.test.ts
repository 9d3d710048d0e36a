import { describe, expect, it } from 'vitest';

import { Tensor, matmul, native, sgemmBackend, setNumThreads } from '../../lib/index.js';
import { expectClose, gradCheck, randomArray, randomTensor } from '../helpers.js';

/** Plain reference: out[b] = op(a[b]) @ op(b[b]). */
function refMatmul(
  a: Float32Array,
  b: Float32Array,
  batch: number,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
): Float64Array {
  const out = new Float64Array(batch * M * N);
  for (let p = 0; p < batch; p++) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a[p * K * M + k * M + i]! : a[p * M * K + i * K + k]!;
          const bv = transB ? b[p * N * K + j * K + k]! : b[p * K * N + k * N + j]!;
          s += av * bv;
        }
        out[p * M * N + i * N + j] = s;
      }
    }
  }
  return out;
}

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 3],
  [5, 1, 9],
  [7, 13, 37],
  [17, 33, 65],
  [67, 129, 31],
  [100, 3, 250],
];

describe('matmul forward', () => {
  for (const [M, N, K] of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        it(`${M}x${K} @ ${K}x${N} transA=${transA} transB=${transB}`, () => {
          const a = randomArray(M * K, M + N + K);
          const b = randomArray(K * N, M * N * K + 1);
          const ta = Tensor.fromArray(a, transA ? [K, M] : [M, K]);
          const tb = Tensor.fromArray(b, transB ? [N, K] : [K, N]);
          const out = matmul(ta, tb, { transA, transB });
          expect(out.shape).toEqual([M, N]);
          expectClose(out.toArray(), refMatmul(a, b, 1, M, N, K, transA, transB), { atol: 1e-4, rtol: 1e-4 });
        });
      }
    }
  }

  it('batched (B, M, K) @ (B, K, N) and a shared 2-D weight (B, T, K) @ (K, N)', () => {
    const [B, M, N, K] = [3, 5, 6, 7];
    const a = randomArray(B * M * K, 1);
    const b = randomArray(B * K * N, 2);
    const out = matmul(Tensor.fromArray(a, [B, M, K]), Tensor.fromArray(b, [B, K, N]));
    expect(out.shape).toEqual([B, M, N]);
    expectClose(out.toArray(), refMatmul(a, b, B, M, N, K, false, false), { atol: 1e-4 });
    const w = randomArray(K * N, 3);
    const shared = matmul(Tensor.fromArray(a, [B, M, K]), Tensor.fromArray(w, [K, N]));
    expect(shared.shape).toEqual([B, M, N]);
    expectClose(shared.toArray(), refMatmul(a, w, 1, B * M, N, K, false, false), { atol: 1e-4 });
  });

  it('large enough to use the packed multi-threaded path, at 1 and 2 threads, gives the same values', () => {
    const [M, N, K] = [131, 517, 259];
    const a = randomArray(M * K, 11);
    const b = randomArray(K * N, 12);
    const ref = refMatmul(a, b, 1, M, N, K, false, true);
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      const out = matmul(Tensor.fromArray(a, [M, K]), Tensor.fromArray(b, [N, K]), { transB: true });
      expectClose(out.toArray(), ref, { atol: 2e-4, rtol: 1e-4, what: `threads=${threads}` });
    }
    setNumThreads(0);
  });

  it('names its SGEMM implementation', () => {
    expect(sgemmBackend()).toMatch(/lmkit|cblas/);
  });
});

describe('matmul backward', () => {
  for (const [transA, transB] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`gradients match finite differences (transA=${transA}, transB=${transB})`, () => {
      const [M, N, K] = [5, 7, 3];
      const a = randomTensor(transA ? [K, M] : [M, K], 21);
      const b = randomTensor(transB ? [N, K] : [K, N], 22);
      gradCheck((x, y) => matmul(x, y, { transA, transB }), [a, b]);
    });
  }

  it('batched and shared-weight gradients match finite differences', () => {
    gradCheck((x, y) => matmul(x, y), [randomTensor([2, 3, 4], 31), randomTensor([2, 4, 5], 32)]);
    gradCheck((x, y) => matmul(x, y, { transB: true }), [randomTensor([2, 3, 4], 33), randomTensor([6, 4], 34)]);
  });

  it('accumulate mode adds into existing gradients', () => {
    const [M, N, K] = [4, 3, 5];
    const a = randomTensor([M, K], 41);
    const b = randomTensor([K, N], 42);
    const g = randomTensor([M, N], 43);
    const da = Tensor.empty([M, K]);
    const db = Tensor.empty([K, N]);
    native.matmul_backward(da.storage, db.storage, g.storage, a.storage, b.storage, 1, M, N, K, false, false, false);
    const da1 = Array.from(da.toArray());
    native.matmul_backward(da.storage, null, g.storage, a.storage, b.storage, 1, M, N, K, false, false, true);
    expectClose(da.toArray(), da1.map((v) => 2 * v));
  });
});

describe('matmul bad inputs', () => {
  it('rejects mismatched shapes, ranks and dtypes with clear errors', () => {
    expect(() => matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 5]))).toThrow(/inner dimensions differ \(3 vs 4\): \[2,3\] @ \[4,5\]/);
    expect(() => matmul(Tensor.zeros([3]), Tensor.zeros([3, 2]))).toThrow(/at least 2 dimensions/);
    expect(() => matmul(Tensor.zeros([2, 2, 3]), Tensor.zeros([3, 3, 4]))).toThrow(/batch dimensions differ/);
    expect(() => matmul(Tensor.zeros([2, 3], 'int32'), Tensor.zeros([3, 2]))).toThrow(/float32/);
  });

  it('the binding rejects wrong sizes, aliasing and disposed storages', () => {
    const a = Tensor.zeros([2, 3]);
    const b = Tensor.zeros([3, 4]);
    const out = Tensor.zeros([2, 4]);
    expect(() => native.matmul_forward(out.storage, a.storage, b.storage, 1, 2, 4, 4, false, false)).toThrow(
      /matmul_forward: a must have 8 elements, got 6/,
    );
    expect(() => native.matmul_forward(a.storage, a.storage, b.storage, 1, 2, 3, 3, false, false)).toThrow(RangeError);
    expect(() => native.matmul_forward(out.storage, a.storage, b.storage, 1, 2, 4, -3, false, false)).toThrow(/K must be >= 0/);
    expect(() => (native.matmul_forward as unknown as (...x: unknown[]) => void)(out.storage, a.storage)).toThrow(/expected 9 arguments/);
    b.dispose();
    expect(() => matmul(a, b)).toThrow(/disposed/);
  });
});

describe('linear (one recorded op: x W^T + b)', () => {
  // The same arithmetic as add(matmul(x, W, { transB: true }), b): values and gradients equal bit for bit.
  const cases: { x: number[]; bias: boolean }[] = [
    { x: [5, 7], bias: true },
    { x: [2, 3, 7], bias: true },
    { x: [3, 7], bias: false },
    { x: [7], bias: true },
  ];
  for (const { x: xs, bias } of cases) {
    it(`x ${JSON.stringify(xs)}, ${bias ? 'with' : 'without'} bias: equals matmul + add, forward and backward`, async () => {
      const { linear, add, sum, mul } = await import('../../lib/index.js');
      const N = 6;
      const x = randomTensor(xs, 1).requireGrad();
      const w = randomTensor([N, 7], 2).requireGrad();
      const b = bias ? randomTensor([N], 3).requireGrad() : null;
      const up = randomTensor([...xs.slice(0, -1), N], 4);
      const run = (f: () => Tensor) => {
        const y = f();
        sum(mul(y, up)).backward();
        const got = [y, x.grad!, w.grad!, ...(b ? [b.grad!] : [])].map((t) => Array.from(t.toArray()));
        for (const p of [x, w, b]) if (p) p.grad = null;
        return got;
      };
      const fused = run(() => linear(x, w, b));
      const separate = run(() => {
        const x2 = xs.length === 1 ? x.reshape([1, 7]) : x;
        let y = matmul(x2, w, { transB: true });
        if (xs.length === 1) y = y.reshape([N]);
        return b ? add(y, b) : y;
      });
      expect(fused).toEqual(separate);
      // and against a float64 reference
      const xv = x.toArray();
      const wv = w.toArray();
      const rows = xv.length / 7;
      const ref = new Float64Array(rows * N);
      for (let r = 0; r < rows; r++)
        for (let j = 0; j < N; j++) {
          let s = b ? b.toArray()[j]! : 0;
          for (let k = 0; k < 7; k++) s += xv[r * 7 + k]! * wv[j * 7 + k]!;
          ref[r * N + j] = s;
        }
      expectClose(Float32Array.from(fused[0]!), ref, { atol: 1e-5 });
    });
  }

  it('bad shapes and dtypes: one clear error each', async () => {
    const { linear } = await import('../../lib/index.js');
    const w = Tensor.zeros([4, 3]);
    expect(() => linear(Tensor.zeros([2, 5]), w)).toThrow(/must end in the weight's input size 3/);
    expect(() => linear(Tensor.zeros([2, 3]), Tensor.zeros([4, 3, 1]))).toThrow(/weight must be 2-D/);
    expect(() => linear(Tensor.zeros([2, 3]), w, Tensor.zeros([3]))).toThrow(/bias must be \[4\]/);
    expect(() => linear(Tensor.zeros([2, 3], 'int32'), w)).toThrow(/must be float32/);
  });
});
