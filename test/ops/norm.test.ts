import { describe, expect, it } from 'vitest';

import { Tensor, layerNorm, native, noGrad, rmsNorm, setNumThreads, tidy } from '../../lib/index.js';
import { expectClose, gradCheck, randomArray, randomTensor } from '../helpers.js';

interface Ref {
  out: Float64Array;
  dx: Float64Array;
  dw: Float64Array;
  db: Float64Array;
}

// float64 references for forward and backward given dout g.
function refLayerNorm(x: Float32Array, w: Float32Array, b: Float32Array | null, g: Float32Array, C: number, eps: number): Ref {
  const N = x.length / C;
  const r: Ref = { out: new Float64Array(N * C), dx: new Float64Array(N * C), dw: new Float64Array(C), db: new Float64Array(C) };
  for (let n = 0; n < N; n++) {
    let mean = 0;
    for (let i = 0; i < C; i++) mean += x[n * C + i]!;
    mean /= C;
    let v = 0;
    for (let i = 0; i < C; i++) v += (x[n * C + i]! - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / C + eps);
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < C; i++) {
      const xh = (x[n * C + i]! - mean) * rstd;
      r.out[n * C + i] = xh * w[i]! + (b ? b[i]! : 0);
      const gw = g[n * C + i]! * w[i]!;
      s1 += gw;
      s2 += gw * xh;
      r.dw[i] += g[n * C + i]! * xh;
      r.db[i] += g[n * C + i]!;
    }
    for (let i = 0; i < C; i++) {
      const xh = (x[n * C + i]! - mean) * rstd;
      r.dx[n * C + i] = rstd * (g[n * C + i]! * w[i]! - s1 / C - (xh * s2) / C);
    }
  }
  return r;
}

function refRmsNorm(x: Float32Array, w: Float32Array, g: Float32Array, C: number, eps: number): Ref {
  const N = x.length / C;
  const r: Ref = { out: new Float64Array(N * C), dx: new Float64Array(N * C), dw: new Float64Array(C), db: new Float64Array(C) };
  for (let n = 0; n < N; n++) {
    let ms = 0;
    for (let i = 0; i < C; i++) ms += x[n * C + i]! ** 2;
    const rstd = 1 / Math.sqrt(ms / C + eps);
    let s2 = 0;
    for (let i = 0; i < C; i++) {
      const xh = x[n * C + i]! * rstd;
      r.out[n * C + i] = xh * w[i]!;
      s2 += g[n * C + i]! * w[i]! * xh;
      r.dw[i] += g[n * C + i]! * xh;
    }
    for (let i = 0; i < C; i++) {
      r.dx[n * C + i] = rstd * (g[n * C + i]! * w[i]! - (x[n * C + i]! * rstd * s2) / C);
    }
  }
  return r;
}

const shapes: number[][] = [[1], [1, 1], [4, 1], [3, 7], [2, 13], [5, 37], [2, 3, 17], [3, 100], [70, 33]];

describe('layerNorm / rmsNorm forward and backward vs references', () => {
  for (const shape of shapes) {
    it(`matches on ${JSON.stringify(shape)}`, () => {
      tidy(() => {
        const C = shape[shape.length - 1]!;
        const seed = shape.reduce((a, b) => a * 7 + b, 1);
        const x = randomTensor(shape, seed, -2, 3).requireGrad();
        const w = randomTensor([C], seed + 1, 0.5, 1.5).requireGrad();
        const b = randomTensor([C], seed + 2).requireGrad();
        const g = randomArray(x.size, seed + 3);
        const xs = x.toArray() as Float32Array;
        const ws = w.toArray() as Float32Array;
        const bs = b.toArray() as Float32Array;

        for (const withBias of [true, false]) {
          const ref = refLayerNorm(xs, ws, withBias ? bs : null, g, C, 1e-5);
          const y = layerNorm(x, w, withBias ? b : undefined);
          expect(y.shape).toEqual(shape);
          expectClose(y.toArray(), ref.out, { atol: 1e-4, rtol: 1e-4, what: 'layerNorm out' });
          y.backward(Tensor.fromArray(g, shape));
          expectClose(x.grad!.toArray(), ref.dx, { atol: 2e-4, rtol: 1e-3, what: 'layerNorm dx' });
          expectClose(w.grad!.toArray(), ref.dw, { atol: 2e-4, rtol: 1e-3, what: 'layerNorm dweight' });
          if (withBias) expectClose(b.grad!.toArray(), ref.db, { atol: 2e-4, rtol: 1e-3, what: 'layerNorm dbias' });
          else expect(b.grad).toBeNull();
          for (const t of [x, w, b]) {
            t.grad?.dispose();
            t.grad = null;
          }
        }

        const rref = refRmsNorm(xs, ws, g, C, 1e-5);
        const ry = rmsNorm(x, w);
        expectClose(ry.toArray(), rref.out, { atol: 1e-4, rtol: 1e-4, what: 'rmsNorm out' });
        ry.backward(Tensor.fromArray(g, shape));
        expectClose(x.grad!.toArray(), rref.dx, { atol: 2e-4, rtol: 1e-3, what: 'rmsNorm dx' });
        expectClose(w.grad!.toArray(), rref.dw, { atol: 2e-4, rtol: 1e-3, what: 'rmsNorm dweight' });
        for (const t of [x, w]) {
          t.grad?.dispose();
          t.grad = null;
        }
      });
    });
  }

  it('uses the eps argument', () => {
    tidy(() => {
      const x = Tensor.fromArray([1, 1.001, 0.999, 1], [1, 4]);
      const w = Tensor.ones([4]);
      const xs = x.toArray() as Float32Array;
      const g = new Float32Array(4);
      expectClose(layerNorm(x, w, null, 0.1).toArray(), refLayerNorm(xs, w.toArray() as Float32Array, null, g, 4, 0.1).out, { atol: 1e-5 });
      expectClose(rmsNorm(x, w, 0.5).toArray(), refRmsNorm(xs, w.toArray() as Float32Array, g, 4, 0.5).out, { atol: 1e-5 });
    });
  });
});

describe('layerNorm / rmsNorm gradients vs finite differences', () => {
  for (const shape of [[3, 7], [2, 2, 13]]) {
    it(`layerNorm with bias on ${JSON.stringify(shape)}`, () => {
      const C = shape[shape.length - 1]!;
      const inputs = [randomTensor(shape, 1, -1, 1), randomTensor([C], 2, 0.5, 1.5), randomTensor([C], 3)];
      gradCheck((x, w, b) => layerNorm(x!, w!, b), inputs);
      for (const t of inputs) t.dispose();
    });
    it(`layerNorm without bias on ${JSON.stringify(shape)}`, () => {
      const C = shape[shape.length - 1]!;
      const inputs = [randomTensor(shape, 4, -1, 1), randomTensor([C], 5, 0.5, 1.5)];
      gradCheck((x, w) => layerNorm(x!, w!), inputs);
      for (const t of inputs) t.dispose();
    });
    it(`rmsNorm on ${JSON.stringify(shape)}`, () => {
      const C = shape[shape.length - 1]!;
      const inputs = [randomTensor(shape, 6, -1, 1), randomTensor([C], 7, 0.5, 1.5)];
      gradCheck((x, w) => rmsNorm(x!, w!), inputs);
      for (const t of inputs) t.dispose();
    });
  }
});

describe('layerNorm / rmsNorm kernel semantics', () => {
  it('parameter gradients accumulate into what the caller passes; dinp is overwritten', () => {
    tidy(() => {
      const N = 5;
      const C = 11;
      const x = randomTensor([N, C], 11, -1, 1);
      const w = randomTensor([C], 12, 0.5, 1.5);
      const b = randomTensor([C], 13);
      const g = randomArray(N * C, 14);
      const mean = Tensor.empty([N]);
      const rstd = Tensor.empty([N]);
      const out = Tensor.empty([N, C]);
      native.layernorm_forward(out.storage, mean.storage, rstd.storage, x.storage, w.storage, b.storage, N, C, 1e-5);
      const dx = Tensor.full([N, C], 123);
      const dw = Tensor.full([C], 1);
      const db = Tensor.full([C], -2);
      native.layernorm_backward(dx.storage, dw.storage, db.storage, Tensor.fromArray(g, [N, C]).storage, x.storage, w.storage, mean.storage, rstd.storage, N, C);
      const ref = refLayerNorm(x.toArray() as Float32Array, w.toArray() as Float32Array, b.toArray() as Float32Array, g, C, 1e-5);
      expectClose(dx.toArray(), ref.dx, { atol: 1e-4, what: 'dinp' });
      expectClose(dw.toArray(), ref.dw.map((v) => v + 1), { atol: 1e-4, what: 'dweight' });
      expectClose(db.toArray(), ref.db.map((v) => v - 2), { atol: 1e-4, what: 'dbias' });

      const r2 = Tensor.empty([N]);
      native.rmsnorm_forward(out.storage, r2.storage, x.storage, w.storage, N, C, 1e-5);
      const dw2 = Tensor.full([C], 0.5);
      native.rmsnorm_backward(dx.storage, dw2.storage, Tensor.fromArray(g, [N, C]).storage, x.storage, w.storage, r2.storage, N, C);
      const rref = refRmsNorm(x.toArray() as Float32Array, w.toArray() as Float32Array, g, C, 1e-5);
      expectClose(dx.toArray(), rref.dx, { atol: 1e-4, what: 'rms dinp' });
      expectClose(dw2.toArray(), rref.dw.map((v) => v + 0.5), { atol: 1e-4, what: 'rms dweight' });
    });
  });

  it('gives bitwise identical gradients for 1 and 2 threads', () => {
    const N = 2003;
    const C = 67;
    const run = (threads: number): Float32Array[] =>
      tidy(() => {
        setNumThreads(threads);
        const x = randomTensor([N, C], 21, -2, 2).requireGrad();
        const w = randomTensor([C], 22, 0.5, 1.5).requireGrad();
        const b = randomTensor([C], 23).requireGrad();
        const g = randomTensor([N, C], 24);
        layerNorm(x, w, b).backward(g);
        rmsNorm(x, w).backward(g);
        const res = [x, w, b].map((t) => t.grad!.toArray() as Float32Array);
        for (const t of [x, w, b]) t.grad!.dispose();
        return res;
      });
    const one = run(1);
    const two = run(2);
    setNumThreads(0);
    for (let k = 0; k < one.length; k++) expect(Buffer.from(two[k]!.buffer).equals(Buffer.from(one[k]!.buffer))).toBe(true);
  });

  it('does not save mean/rstd when nothing needs a gradient', () => {
    tidy(() => {
      const x = randomTensor([4, 9], 31);
      const w = randomTensor([9], 32);
      const y = noGrad(() => layerNorm(x, w, null));
      expect(y._node).toBeNull();
      expect(rmsNorm(x, w)._node).toBeNull();
    });
  });
});

describe('layerNorm / rmsNorm bad inputs', () => {
  it('rejects wrong shapes, dtypes, eps and disposed tensors with clear errors', () => {
    tidy(() => {
      const x = Tensor.ones([3, 7]);
      const w = Tensor.ones([7]);
      expect(() => layerNorm(x, Tensor.ones([6]))).toThrow(/layerNorm: weight must have shape \[7\].*got \[6\]/);
      expect(() => layerNorm(x, w, Tensor.ones([7, 1]))).toThrow(/layerNorm: bias must have shape \[7\]/);
      expect(() => rmsNorm(x, Tensor.ones([1, 7]))).toThrow(/rmsNorm: weight must have shape \[7\]/);
      expect(() => rmsNorm(Tensor.zeros([3, 7], 'int32'), w)).toThrow(/rmsNorm: x must be float32/);
      expect(() => layerNorm(Tensor.scalar(1), Tensor.ones([1]))).toThrow(/layerNorm: x must have at least 1 dimension/);
      expect(() => layerNorm(Tensor.ones([3, 0]), Tensor.ones([0]))).toThrow(/last dimension of x must be >= 1/);
      expect(() => layerNorm(x, w, null, -1)).toThrow(/layerNorm: eps must be a finite number >= 0/);
      expect(() => rmsNorm(x, w, NaN)).toThrow(/rmsNorm: eps must be a finite number >= 0/);
      const gone = Tensor.ones([7]);
      gone.dispose();
      expect(() => layerNorm(x, gone)).toThrow(/layerNorm: weight .*has been disposed/);
    });
  });

  it('the bindings reject bad sizes, aliasing and argument counts', () => {
    tidy(() => {
      const x = Tensor.ones([3, 7]);
      const w = Tensor.ones([7]);
      const out = Tensor.empty([3, 7]);
      const stats = Tensor.empty([3]);
      expect(() => native.layernorm_forward(out.storage, stats.storage, null, x.storage, w.storage, null, 3, 6, 1e-5)).toThrow(
        /layernorm_forward: out must have 18 elements/,
      );
      expect(() => native.layernorm_forward(out.storage, stats.storage, stats.storage, x.storage, w.storage, null, 3, 7, 1e-5)).toThrow(
        /mean and rstd must be different storages/,
      );
      expect(() => native.rmsnorm_forward(out.storage, null, x.storage, w.storage, 3, 7, -1)).toThrow(/rmsnorm_forward: eps must be in/);
      expect(() => native.rmsnorm_backward(out.storage, w.storage, x.storage, x.storage, w.storage, stats.storage, 3, 0)).toThrow(
        /C must be > 0/,
      );
      expect(() => native.rmsnorm_backward(out.storage, w.storage, x.storage, x.storage, w.storage, stats.storage, 3, 7)).toThrow(
        /dweight and weight must be different storages/,
      );
      expect(() => (native.layernorm_backward as unknown as (...a: unknown[]) => void)(out.storage)).toThrow(/expected 10 arguments/);
    });
  });
});
