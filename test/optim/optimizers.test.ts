// Adafactor and Sophia-G: the fused native updates against float64 references of the exact
// formulas, convergence on convex problems, label sampling, and hyper-parameter checks.
import { afterEach, describe, expect, it } from 'vitest';

import { Tensor, adafactorStep, keep, native, sampleLabels, setNumThreads, sophiaHessianUpdate, sophiaStep, tidy } from '../../lib/index.js';
import { Adafactor } from '../../lib/optim/adafactor.js';
import { SophiaG } from '../../lib/optim/sophia.js';
import { expectClose, randomArray, randomTensor, rng } from '../helpers.js';

// ---- float64 references --------------------------------------------------------------

interface AdafactorRefOpts {
  lr: number;
  relativeStep: boolean;
  scaleParameter: boolean;
  eps1: number;
  eps2: number;
  clip: number;
  weightDecay: number;
}
const AF_DEFAULTS: AdafactorRefOpts = {
  lr: 1e-2,
  relativeStep: true,
  scaleParameter: true,
  eps1: 1e-30,
  eps2: 1e-3,
  clip: 1,
  weightDecay: 0,
};

/** State of the reference: row/col (factored, rank >= 2) or v (full). */
interface AfRefState {
  rows: number;
  cols: number;
  row?: Float64Array;
  col?: Float64Array;
  v?: Float64Array;
}
function afRefState(shape: number[]): AfRefState {
  const n = shape.reduce((a, b) => a * b, 1);
  if (shape.length >= 2) {
    const cols = shape[shape.length - 1]!;
    return { rows: n / cols, cols, row: new Float64Array(n / cols), col: new Float64Array(cols) };
  }
  return { rows: 1, cols: n, v: new Float64Array(n) };
}

/** The paper's rule, written with sums as in Shazeer & Stern (R C / 1^T R). */
/** Returns the clipping denominator max(1, RMS(U) / d). */
function refAdafactor(p: Float64Array, s: AfRefState, g: ArrayLike<number>, t: number, o: AdafactorRefOpts): number {
  const { rows, cols } = s;
  const n = rows * cols;
  const rho = o.relativeStep ? Math.min(o.lr, 1 / Math.sqrt(t)) : o.lr;
  const beta2 = 1 - t ** -0.8;
  const rmsP = Math.sqrt(p.reduce((a, x) => a + x * x, 0) / n);
  const alpha = o.scaleParameter ? Math.max(o.eps2, rmsP) * rho : rho;
  const V = new Float64Array(n);
  if (s.v) {
    for (let i = 0; i < n; i++) {
      s.v[i] = beta2 * s.v[i]! + (1 - beta2) * (g[i]! * g[i]! + o.eps1);
      V[i] = s.v[i]!;
    }
  } else {
    // Running averages of the row and column SUMS, then V = R C / sum(R).
    const R = s.row!;
    const C = s.col!;
    for (let i = 0; i < rows; i++) {
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += g[i * cols + j]! ** 2 + o.eps1;
      R[i] = beta2 * R[i]! + (1 - beta2) * (sum / cols); // stored as means (sums / cols)
    }
    for (let j = 0; j < cols; j++) {
      let sum = 0;
      for (let i = 0; i < rows; i++) sum += g[i * cols + j]! ** 2 + o.eps1;
      C[j] = beta2 * C[j]! + (1 - beta2) * (sum / rows);
    }
    const Rs = Array.from(R, (x) => x * cols); // row sums
    const Cs = Array.from(C, (x) => x * rows); // column sums
    const sumR = Rs.reduce((a, b) => a + b, 0);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) V[i * cols + j] = (Rs[i]! * Cs[j]!) / sumR;
  }
  const U = new Float64Array(n);
  let sq = 0;
  for (let i = 0; i < n; i++) {
    U[i] = g[i]! / Math.sqrt(V[i]!);
    sq += U[i]! * U[i]!;
  }
  const den = Math.max(1, Math.sqrt(sq / n) / o.clip);
  for (let i = 0; i < n; i++) p[i] = p[i]! - alpha * (U[i]! / den + o.weightDecay * p[i]!);
  return den;
}

interface SophiaRefOpts {
  lr: number;
  beta1: number;
  beta2: number;
  rho: number;
  weightDecay: number;
  bs: number;
}
function refSophiaStep(p: Float64Array, m: Float64Array, h: Float64Array, g: ArrayLike<number>, o: SophiaRefOpts): number {
  let clipped = 0;
  for (let i = 0; i < p.length; i++) {
    p[i] = p[i]! * (1 - o.lr * o.weightDecay);
    m[i] = o.beta1 * m[i]! + (1 - o.beta1) * g[i]!;
    const ratio = Math.abs(m[i]!) / (o.rho * o.bs * h[i]! + 1e-15);
    if (ratio >= 1) clipped++;
    p[i] = p[i]! - o.lr * Math.sign(m[i]!) * Math.min(ratio, 1);
  }
  return clipped;
}
function refSophiaHessian(h: Float64Array, ghat: ArrayLike<number>, beta2: number, scale: number): void {
  for (let i = 0; i < h.length; i++) h[i] = beta2 * h[i]! + (1 - beta2) * scale * ghat[i]! * ghat[i]!;
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

function setGrad(p: Tensor, g: ArrayLike<number>): void {
  p.grad?.dispose();
  p.grad = keep(Tensor.fromArray(Float32Array.from(g), p.shape));
}

afterEach(() => setNumThreads(0));

// ---- Adafactor -------------------------------------------------------------------------

describe('Adafactor vs the exact formulas', () => {
  const shapes = [[5, 7], [2, 3, 4], [9]];
  const configs: [string, Partial<AdafactorRefOpts>][] = [
    ['defaults', {}],
    ['weight decay, clip 1.1', { weightDecay: 0.1, clip: 1.1 }],
    ['absolute step, no scaling', { relativeStep: false, scaleParameter: false, lr: 0.03 }],
  ];
  for (const [name, cfg] of configs) {
    it(`3 steps on a matrix, a rank-3 tensor and a vector (${name})`, () => {
      const o = { ...AF_DEFAULTS, ...cfg };
      const params = shapes.map((s, k) => keep(randomTensor(s, 10 + k, -1, 1)));
      const opt = new Adafactor(params, {
        lr: o.lr,
        relativeStep: o.relativeStep,
        scaleParameter: o.scaleParameter,
        clipThreshold: o.clip,
        weightDecay: o.weightDecay,
      });
      const ref = params.map((p) => Float64Array.from(p.toArray()));
      const states = shapes.map(afRefState);
      let clippedSteps = 0;
      for (let t = 1; t <= 3; t++) {
        shapes.forEach((s, k) => {
          // Uneven gradient scales per row/column so the factored estimate is not trivial.
          const g = randomArray(size(s), 100 * t + k).map((x, i) => x * (1 + (i % 3)) * (k === 0 && t === 2 ? 5 : 1));
          setGrad(params[k]!, g);
          const wd = s.length >= 2 ? o.weightDecay : 0; // no decay on rank <= 1
          if (refAdafactor(ref[k]!, states[k]!, g, t, { ...o, weightDecay: wd }) > 1) clippedSteps++;
        });
        opt.step();
        opt.zeroGrad();
        params.forEach((p, k) => expectClose(p.toArray(), ref[k]!, { atol: 2e-7, rtol: 1e-6, what: `step ${t} param ${k}` }));
      }
      expect(opt.stepCount).toBe(3);
      if (o.clip !== 1) expect(clippedSteps).toBeGreaterThan(0); // update clipping exercised
      if (o.clip !== 1) expect(clippedSteps).toBeLessThan(9);
      opt.dispose();
      for (const p of params) p.dispose();
    });
  }

  it('the factored state holds the row and column averages of g^2 + eps1', () => {
    tidy(() => {
      const p = randomTensor([4, 6], 1);
      const row = Tensor.zeros([4]);
      const col = Tensor.zeros([6]);
      const g = randomArray(24, 2);
      const s = afRefState([4, 6]);
      const r = Float64Array.from(p.toArray());
      for (let t = 1; t <= 2; t++) {
        adafactorStep(p, Tensor.fromArray(g, [4, 6]), { row, col }, { rho: 1e-2, beta2: 1 - t ** -0.8 });
        refAdafactor(r, s, g, t, AF_DEFAULTS);
      }
      expectClose(row.toArray(), s.row!, { atol: 0, rtol: 1e-5, what: 'row' });
      expectClose(col.toArray(), s.col!, { atol: 0, rtol: 1e-5, what: 'col' });
      expectClose(p.toArray(), r, { atol: 2e-7, rtol: 1e-6, what: 'param' });
    });
  });

  it('a hand-worked first step: U = sign(g), alpha = max(eps2, RMS(p)) * 1e-2', () => {
    tidy(() => {
      // Unfactored, t = 1: beta2 = 0, V = g^2 + eps1, U = +-1, RMS(U) = 1 (no clipping).
      const p = Tensor.fromArray([3, -4], [2]); // RMS = sqrt(12.5)
      const v = Tensor.zeros([2]);
      adafactorStep(p, Tensor.fromArray([0.5, -2], [2]), { v }, { rho: 1e-2, beta2: 0 });
      const a = Math.sqrt(12.5) * 1e-2;
      expectClose(p.toArray(), [3 - a, -4 + a], { atol: 1e-6, rtol: 1e-6 });
      expectClose(v.toArray(), [0.25, 4], { atol: 0, rtol: 1e-6 });
    });
  });

  it('large tensors give the same result for 1 and 2 threads', () => {
    const run = (threads: number): Float32Array[] => {
      setNumThreads(threads);
      return tidy(() => {
        const p = randomTensor([300, 257], 5);
        const q = randomTensor([70001], 6);
        const row = Tensor.zeros([300]);
        const col = Tensor.zeros([257]);
        const v = Tensor.zeros([70001]);
        for (let t = 1; t <= 2; t++) {
          adafactorStep(p, randomTensor([300, 257], 7 + t), { row, col }, { rho: 1e-2, beta2: 1 - t ** -0.8 });
          adafactorStep(q, randomTensor([70001], 9 + t), { v }, { rho: 1e-2, beta2: 1 - t ** -0.8 });
        }
        return [p.toArray() as Float32Array, q.toArray() as Float32Array, row.toArray() as Float32Array, col.toArray() as Float32Array];
      });
    };
    const a = run(1);
    const b = run(2);
    for (let k = 0; k < a.length; k++) expect(Array.from(b[k]!)).toEqual(Array.from(a[k]!));
  });
});

// ---- Sophia-G --------------------------------------------------------------------------

describe('Sophia-G vs the exact formulas', () => {
  it('3 steps with Hessian updates on a matrix and a vector', () => {
    const shapes = [[4, 5], [6]];
    const o: SophiaRefOpts = { lr: 0.02, beta1: 0.965, beta2: 0.99, rho: 0.04, weightDecay: 0.1, bs: 100 };
    const params = shapes.map((s, k) => keep(randomTensor(s, 20 + k, -1, 1)));
    const opt = new SophiaG(params, { lr: o.lr, batchTokens: o.bs, hessianInterval: 1 });
    expect([opt.beta1, opt.beta2, opt.rho, opt.weightDecay]).toEqual([0.965, 0.99, 0.04, 0.1]);
    const ref = params.map((p) => Float64Array.from(p.toArray()));
    const m = shapes.map((s) => new Float64Array(size(s)));
    const h = shapes.map((s) => new Float64Array(size(s)));
    let clipped = 0;
    let total = 0;
    for (let t = 1; t <= 3; t++) {
      shapes.forEach((s, k) => {
        const g = randomArray(size(s), 200 * t + k, -1, 1);
        setGrad(params[k]!, g);
        const wd = s.length >= 2 ? o.weightDecay : 0;
        clipped += refSophiaStep(ref[k]!, m[k]!, h[k]!, g, { ...o, weightDecay: wd });
        total += g.length;
      });
      opt.step();
      opt.zeroGrad();
      params.forEach((p, k) => expectClose(p.toArray(), ref[k]!, { atol: 2e-7, rtol: 1e-6, what: `step ${t} param ${k}` }));
      expect(opt.hessianDue()).toBe(true);
      // Hessian from the gradients of a "sampled" loss, given explicitly.
      const ghat = shapes.map((s, k) => randomArray(size(s), 300 * t + k, -3, 3));
      opt.updateHessian(ghat.map((g, k) => Tensor.fromArray(g, shapes[k]!)));
      shapes.forEach((_, k) => refSophiaHessian(h[k]!, ghat[k]!, o.beta2, 1));
      shapes.forEach((_, k) => expectClose(opt.hessian(k)!.toArray(), h[k]!, { atol: 0, rtol: 1e-5, what: `h ${k}` }));
    }
    // Both branches of min(|m| / (rho bs h), 1) were exercised.
    expect(clipped).toBeGreaterThan(0);
    expect(clipped).toBeLessThan(total);
    opt.dispose();
    for (const p of params) p.dispose();
  });

  it('op level: sophiaStep and sophiaHessianUpdate with a scale', () => {
    tidy(() => {
      const n = 50;
      const p = randomTensor([n], 1);
      const m = randomTensor([n], 2, -0.1, 0.1);
      const h = Tensor.zeros([n]);
      const ghat = randomArray(n, 3);
      sophiaHessianUpdate(h, Tensor.fromArray(ghat, [n]), { beta2: 0.9, scale: 32 });
      const rh = new Float64Array(n);
      refSophiaHessian(rh, ghat, 0.9, 32);
      expectClose(h.toArray(), rh, { atol: 0, rtol: 1e-6, what: 'h' });
      const rp = Float64Array.from(p.toArray());
      const rm = Float64Array.from(m.toArray());
      const g = randomArray(n, 4);
      sophiaStep(p, Tensor.fromArray(g, [n]), m, h, { lr: 0.1, beta1: 0.5, rho: 0.3, weightDecay: 0.2, bs: 2 });
      refSophiaStep(rp, rm, rh, g, { lr: 0.1, beta1: 0.5, beta2: 0.9, rho: 0.3, weightDecay: 0.2, bs: 2 });
      expectClose(p.toArray(), rp, { atol: 2e-7, rtol: 1e-6, what: 'param' });
      expectClose(m.toArray(), rm, { atol: 1e-8, rtol: 1e-6, what: 'm' });
    });
  });

  it('hessianDue every k steps', () => {
    const p = keep(Tensor.zeros([3]));
    const opt = new SophiaG([p], { batchTokens: 8 });
    expect(opt.hessianInterval).toBe(10);
    const due: number[] = [];
    for (let t = 1; t <= 25; t++) {
      setGrad(p, [1, -1, 0]);
      opt.step();
      if (opt.hessianDue()) due.push(opt.stepCount);
    }
    expect(due).toEqual([10, 20]);
    opt.zeroGrad();
    opt.dispose();
    p.dispose();
  });
});

// ---- sampleLabels ----------------------------------------------------------------------

describe('sampleLabels', () => {
  it('frequencies match softmax probabilities (chi-square)', () => {
    tidy(() => {
      const V = 6;
      const row = [1.5, 0.2, -1, 0.7, 2.1, -0.3];
      const N = 20000;
      const logits = new Float32Array(N * V);
      for (let i = 0; i < N; i++) logits.set(row, i * V);
      const ids = sampleLabels(Tensor.fromArray(logits, [N, V]), 42).toArray();
      expect(ids.length).toBe(N);
      const mx = Math.max(...row);
      const e = row.map((x) => Math.exp(x - mx));
      const z = e.reduce((a, b) => a + b, 0);
      const counts = new Array<number>(V).fill(0);
      for (const id of ids) counts[id]!++;
      let chi2 = 0;
      for (let j = 0; j < V; j++) {
        const expected = (N * e[j]!) / z;
        chi2 += (counts[j]! - expected) ** 2 / expected;
      }
      // 5 degrees of freedom: P(chi2 > 25) ~ 1e-4.
      expect(chi2).toBeLessThan(25);
    });
  });

  it('is seeded, independent of the thread count, and never picks zero-probability labels', () => {
    const run = (seed: number, threads: number): number[] => {
      setNumThreads(threads);
      return tidy(() => {
        const N = 4000;
        const V = 50;
        const l = randomArray(N * V, 9, -3, 3);
        for (let i = 0; i < N; i++) l[i * V + (i % V)] = -1e30; // masked out
        return Array.from(sampleLabels(Tensor.fromArray(l, [N, V]), seed).toArray());
      });
    };
    const a = run(7, 1);
    expect(run(7, 2)).toEqual(a);
    expect(run(8, 1)).not.toEqual(a);
    a.forEach((id, i) => {
      expect(id).toBeGreaterThanOrEqual(0);
      expect(id).toBeLessThan(50);
      expect(id).not.toBe(i % 50);
    });
  });

  it('keeps leading dimensions and rejects bad input', () => {
    tidy(() => {
      expect(sampleLabels(Tensor.zeros([2, 3, 4]), 1).shape).toEqual([2, 3]);
      expect(SophiaG.sampleLabels(Tensor.zeros([5, 4]), 1).dtype).toBe('int32');
      expect(() => sampleLabels(Tensor.zeros([4]), 1)).toThrow(/shape \(N, V\)/);
      expect(() => sampleLabels(Tensor.zeros([2, 4]), 1.5)).toThrow(/seed/);
      expect(() => sampleLabels(Tensor.zeros([2, 4], 'int32'), 1)).toThrow(/float32/);
    });
  });
});

// ---- convex problems -----------------------------------------------------------------

/** Least squares: Y = X W* + b*, loss = 0.5/N ||X W + b - Y||^2, gradients by hand. */
function leastSquares(seed: number) {
  const N = 64;
  const D = 6;
  const K = 3;
  const r = rng(seed);
  const X = Array.from({ length: N * D }, () => 2 * r() - 1);
  const Wstar = Array.from({ length: D * K }, () => 2 * r() - 1);
  const bstar = Array.from({ length: K }, () => 2 * r() - 1);
  const Y = new Float64Array(N * K);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < K; k++) {
      let s = bstar[k]!;
      for (let d = 0; d < D; d++) s += X[i * D + d]! * Wstar[d * K + k]!;
      Y[i * K + k] = s;
    }
  }
  const grads = (W: ArrayLike<number>, b: ArrayLike<number>): [Float64Array, Float64Array] => {
    const gW = new Float64Array(D * K);
    const gb = new Float64Array(K);
    for (let i = 0; i < N; i++) {
      for (let k = 0; k < K; k++) {
        let s = b[k]! - Y[i * K + k]!;
        for (let d = 0; d < D; d++) s += X[i * D + d]! * W[d * K + k]!;
        s /= N;
        gb[k]! += s;
        for (let d = 0; d < D; d++) gW[d * K + k]! += X[i * D + d]! * s;
      }
    }
    return [gW, gb];
  };
  return { D, K, Wstar, bstar, grads };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('convex problems reach the optimum', () => {
  it('Adafactor (defaults) on least squares with a matrix and a bias', () => {
    const ls = leastSquares(3);
    const W = keep(randomTensor([ls.D, ls.K], 31, -1, 1));
    const b = keep(Tensor.zeros([ls.K]));
    const opt = new Adafactor([W, b]);
    const start = maxAbsDiff(W.toArray(), ls.Wstar);
    for (let t = 0; t < 1500; t++) {
      const [gW, gb] = ls.grads(W.toArray(), b.toArray());
      setGrad(W, gW);
      setGrad(b, gb);
      opt.step();
    }
    opt.zeroGrad();
    const errW = maxAbsDiff(W.toArray(), ls.Wstar);
    const errB = maxAbsDiff(b.toArray(), ls.bstar);
    expect(start).toBeGreaterThan(0.5);
    expect(errW).toBeLessThan(1e-3); // measured ~3e-7
    expect(errB).toBeLessThan(1e-3);
    opt.dispose();
    W.dispose();
    b.dispose();
  });
});

/**
 * L2-regularised softmax regression (strictly convex): loss = mean CE(X W + b, y) +
 * lam/2 (|W|^2 + |b|^2). Gradients by hand; the optimum by long float64 gradient descent.
 */
function softmaxRegression(seed: number) {
  const N = 200;
  const D = 4;
  const V = 3;
  const lam = 0.01;
  const r = rng(seed);
  const X = Array.from({ length: N * D }, () => 2 * r() - 1);
  const Wt = Array.from({ length: D * V }, () => 4 * r() - 2);
  const logitsOf = (W: ArrayLike<number>, b: ArrayLike<number>): Float64Array => {
    const L = new Float64Array(N * V);
    for (let i = 0; i < N; i++) {
      for (let k = 0; k < V; k++) {
        let s = b[k]!;
        for (let d = 0; d < D; d++) s += X[i * D + d]! * W[d * V + k]!;
        L[i * V + k] = s;
      }
    }
    return L;
  };
  const probs = (L: Float64Array): Float64Array => {
    const P = new Float64Array(L.length);
    for (let i = 0; i < N; i++) {
      const mx = Math.max(L[i * V]!, L[i * V + 1]!, L[i * V + 2]!);
      let z = 0;
      for (let k = 0; k < V; k++) z += (P[i * V + k] = Math.exp(L[i * V + k]! - mx));
      for (let k = 0; k < V; k++) P[i * V + k]! /= z;
    }
    return P;
  };
  // Labels drawn from the true model.
  const Pt = probs(logitsOf(Wt, [0, 0, 0]));
  const y = Array.from({ length: N }, (_, i) => {
    const u = r();
    return u < Pt[i * V]! ? 0 : u < Pt[i * V]! + Pt[i * V + 1]! ? 1 : 2;
  });
  /** Gradient of mean CE on labels `lab` (+ the L2 term when reg). */
  const grads = (W: ArrayLike<number>, b: ArrayLike<number>, lab: ArrayLike<number>, reg: boolean): [Float64Array, Float64Array] => {
    const P = probs(logitsOf(W, b));
    const gW = new Float64Array(D * V);
    const gb = new Float64Array(V);
    for (let i = 0; i < N; i++) {
      for (let k = 0; k < V; k++) {
        const e = (P[i * V + k]! - (lab[i] === k ? 1 : 0)) / N;
        gb[k]! += e;
        for (let d = 0; d < D; d++) gW[d * V + k]! += X[i * D + d]! * e;
      }
    }
    if (reg) {
      for (let j = 0; j < gW.length; j++) gW[j]! += lam * W[j]!;
      for (let k = 0; k < V; k++) gb[k]! += lam * b[k]!;
    }
    return [gW, gb];
  };
  // Optimum by plain gradient descent in float64.
  const Wo = new Float64Array(D * V);
  const bo = new Float64Array(V);
  for (let it = 0; it < 6000; it++) {
    const [gW, gb] = grads(Wo, bo, y, true);
    for (let j = 0; j < Wo.length; j++) Wo[j]! -= 2 * gW[j]!;
    for (let k = 0; k < V; k++) bo[k]! -= 2 * gb[k]!;
  }
  const [gW, gb] = grads(Wo, bo, y, true);
  const gradNorm = Math.max(maxAbsDiff(gW, new Float64Array(gW.length)), maxAbsDiff(gb, new Float64Array(V)));
  return { N, D, V, y, Wo, bo, gradNorm, logitsOf, grads };
}

describe('Sophia-G on a convex problem', () => {
  it('softmax regression with the GNB Hessian from sampled labels reaches the optimum', () => {
    const sr = softmaxRegression(5);
    expect(sr.gradNorm).toBeLessThan(1e-9); // the reference optimum is converged
    const W = keep(Tensor.zeros([sr.D, sr.V]));
    const b = keep(Tensor.zeros([sr.V]));
    const opt = new SophiaG([W, b], { lr: 0.02, weightDecay: 0, batchTokens: sr.N });
    const start = maxAbsDiff(W.toArray(), sr.Wo);
    for (let t = 0; t < 1500; t++) {
      const [gW, gb] = sr.grads(W.toArray(), b.toArray(), sr.y, true);
      setGrad(W, gW);
      setGrad(b, gb);
      opt.step();
      opt.zeroGrad();
      if (opt.hessianDue()) {
        const yhat = tidy(() => SophiaG.sampleLabels(Tensor.fromArray(sr.logitsOf(W.toArray(), b.toArray()), [sr.N, sr.V]), t).toArray());
        const [hW, hb] = sr.grads(W.toArray(), b.toArray(), yhat, false);
        setGrad(W, hW);
        setGrad(b, hb);
        opt.updateHessian();
        opt.zeroGrad();
      }
    }
    const errW = maxAbsDiff(W.toArray(), sr.Wo);
    const errB = maxAbsDiff(b.toArray(), sr.bo);
    expect(opt.hessianUpdates).toBe(150);
    expect(start).toBeGreaterThan(0.5);
    expect(errW).toBeLessThan(1e-3); // measured ~4e-8
    expect(errB).toBeLessThan(1e-3);
    opt.dispose();
    W.dispose();
    b.dispose();
  });
});

// ---- bad hyper-parameters --------------------------------------------------------------

describe('bad hyper-parameters throw clear errors', () => {
  it('Adafactor', () => {
    const p = [keep(Tensor.zeros([2, 2]))];
    expect(() => new Adafactor(p, { lr: -1 })).toThrow(/learning rate/);
    expect(() => new Adafactor(p, { eps1: 0 })).toThrow(/eps1 must be/);
    expect(() => new Adafactor(p, { eps2: -1 })).toThrow(/eps2 must be/);
    expect(() => new Adafactor(p, { clipThreshold: 0 })).toThrow(/clipThreshold must be/);
    expect(() => new Adafactor(p, { decayRate: 0.8 })).toThrow(/decayRate must be .* < 0/);
    expect(() => new Adafactor(p, { weightDecay: NaN })).toThrow(/weightDecay/);
    p[0]!.dispose();
  });

  it('adafactorStep', () => {
    tidy(() => {
      const p = Tensor.zeros([3, 4]);
      const g = Tensor.zeros([3, 4]);
      const row = Tensor.zeros([3]);
      const col = Tensor.zeros([4]);
      expect(() => adafactorStep(p, g, { row, col }, { rho: 0.01, beta2: 1 })).toThrow(/beta2 must be .*\[0, 1\)/);
      expect(() => adafactorStep(p, g, { row, col }, { rho: -0.01, beta2: 0.5 })).toThrow(/rho/);
      expect(() => adafactorStep(p, g, { row, col }, { rho: 0.01, beta2: 0.5, clip: 0 })).toThrow(/clip must be > 0/);
      expect(() => adafactorStep(p, g, { row: col, col: row }, { rho: 0.01, beta2: 0.5 })).toThrow(/row must hold 3 elements/);
      expect(() => adafactorStep(p, g, { v: Tensor.zeros([12]) }, { rho: 0.01, beta2: 0.5 })).toThrow(/v shape/);
      expect(() => adafactorStep(Tensor.zeros([4]), Tensor.zeros([4]), { row, col }, { rho: 0.01, beta2: 0.5 })).toThrow(/rank >= 2/);
      expect(() => adafactorStep(p, Tensor.zeros([4, 3]), { row, col }, { rho: 0.01, beta2: 0.5 })).toThrow(/grad shape/);
    });
  });

  it('SophiaG and sophiaStep', () => {
    const p = [keep(Tensor.zeros([2, 2]))];
    expect(() => new SophiaG(p, {} as never)).toThrow(/batchTokens/);
    expect(() => new SophiaG(p, { batchTokens: 0 })).toThrow(/batchTokens .* > 0/);
    expect(() => new SophiaG(p, { batchTokens: 8, beta1: 1 })).toThrow(/beta1 must be .*\[0, 1\)/);
    expect(() => new SophiaG(p, { batchTokens: 8, beta2: -0.1 })).toThrow(/beta2/);
    expect(() => new SophiaG(p, { batchTokens: 8, rho: 0 })).toThrow(/rho must be .* > 0/);
    expect(() => new SophiaG(p, { batchTokens: 8, hessianInterval: 2.5 })).toThrow(/hessianInterval/);
    expect(() => new SophiaG(p, { batchTokens: 8, weightDecay: -1 })).toThrow(/weightDecay/);
    const opt = new SophiaG(p, { batchTokens: 8 });
    expect(() => opt.updateHessian([])).toThrow(/1 parameters/);
    opt.dispose();
    tidy(() => {
      const q = Tensor.zeros([5]);
      expect(() => sophiaStep(q, Tensor.zeros([5]), Tensor.zeros([5]), Tensor.zeros([5]), { lr: 0.1, bs: 0 })).toThrow(/bs/);
      expect(() => sophiaStep(q, Tensor.zeros([5]), Tensor.zeros([4]), Tensor.zeros([5]), { lr: 0.1, bs: 1 })).toThrow(/m shape/);
      expect(() => sophiaHessianUpdate(q, q)).toThrow(/different/);
      expect(() => sophiaHessianUpdate(q, Tensor.zeros([5]), { beta2: 1 })).toThrow(/beta2/);
    });
    p[0]!.dispose();
  });
});

describe('native bindings check their arguments', () => {
  it('adafactor_step, sophia_step, sophia_hessian, sample_labels', () => {
    tidy(() => {
      const p = Tensor.zeros([12]).storage;
      const g = Tensor.zeros([12]).storage;
      const row = Tensor.zeros([3]).storage;
      const col = Tensor.zeros([4]).storage;
      const v = Tensor.zeros([12]).storage;
      const call = (r: typeof row | null, c: typeof col | null, vv: typeof v | null, beta2 = 0.5) =>
        native.adafactor_step(p, r, c, vv, g, 3, 4, 0.01, beta2, 1e-30, 1e-3, 1, 0, true);
      expect(() => call(row, col, v)).toThrow(/either row and col/);
      expect(() => call(row, null, null)).toThrow(/either row and col/);
      expect(() => call(null, null, null)).toThrow(/either row and col/);
      expect(() => call(col, row, null)).toThrow(/adafactor_step/);
      expect(() => call(row, col, null, 1)).toThrow(/beta2/);
      expect(() => native.adafactor_step(p, null, null, p, g, 3, 4, 0.01, 0.5, 1e-30, 1e-3, 1, 0, true)).toThrow(/different storages/);
      call(row, col, null);
      call(null, null, v);
      expect(() => native.sophia_step(p, v, v, g, 12, 0.1, 0.9, 0.04, 0, 1, 1e-15)).toThrow(/different storages/);
      expect(() => native.sophia_step(p, v, row, g, 12, 0.1, 0.9, 0.04, 0, 1, 1e-15)).toThrow(/sophia_step/);
      expect(() => native.sophia_hessian(v, g, 12, 0.99, -1)).toThrow(/scale/);
      const out = Tensor.zeros([3], 'int32').storage;
      expect(() => native.sample_labels(out, p, 3, 0, 1)).toThrow(/V/);
      expect(() => native.sample_labels(out, p, 3, 5, 1)).toThrow(/logits/);
      expect(() => native.sample_labels(p, p, 3, 4, 1)).toThrow(/out/);
    });
  });
});
