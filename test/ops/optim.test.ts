import { describe, expect, it } from 'vitest';

import { Tensor, adamwStep, native, setNumThreads, sgdStep, tidy } from '../../lib/index.js';
import { expectClose, randomArray, randomTensor } from '../helpers.js';

// ---- float64 references (the exact formulas) -------------------------------------

interface SgdOpts {
  lr: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
}
function refSgd(p: Float64Array, v: Float64Array, g: Float32Array, o: SgdOpts): void {
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]! + o.weightDecay * p[i]!;
    v[i] = o.momentum * v[i]! + gi;
    p[i] = p[i]! - o.lr * (o.nesterov ? gi + o.momentum * v[i]! : v[i]!);
  }
}

interface AdamOpts {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupled: boolean;
}
function refAdam(p: Float64Array, m: Float64Array, v: Float64Array, g: Float32Array, t: number, o: AdamOpts): void {
  for (let i = 0; i < p.length; i++) {
    let gi = g[i]!;
    if (o.decoupled) p[i] = p[i]! * (1 - o.lr * o.weightDecay);
    else gi += o.weightDecay * p[i]!;
    m[i] = o.beta1 * m[i]! + (1 - o.beta1) * gi;
    v[i] = o.beta2 * v[i]! + (1 - o.beta2) * gi * gi;
    const mhat = m[i]! / (1 - o.beta1 ** t);
    const vhat = v[i]! / (1 - o.beta2 ** t);
    p[i] = p[i]! - (o.lr * mhat) / (Math.sqrt(vhat) + o.eps);
  }
}

const tol = { atol: 1e-6, rtol: 1e-6 };

describe('sgdStep vs the exact formula', () => {
  const configs: (SgdOpts & { withVelocity: boolean })[] = [
    { lr: 0.1, momentum: 0, weightDecay: 0, nesterov: false, withVelocity: false },
    { lr: 0.05, momentum: 0, weightDecay: 0.1, nesterov: false, withVelocity: true },
    { lr: 0.1, momentum: 0.9, weightDecay: 0, nesterov: false, withVelocity: true },
    { lr: 0.03, momentum: 0.8, weightDecay: 0.01, nesterov: true, withVelocity: true },
  ];
  for (const cfg of configs) {
    for (const steps of [1, 5]) {
      it(`${steps} step(s) with ${JSON.stringify(cfg)}`, () => {
        tidy(() => {
          const n = 37;
          const param = randomTensor([n], 1, -2, 2);
          const vel = cfg.withVelocity ? Tensor.zeros([n]) : null;
          const p = Float64Array.from(param.toArray());
          const v = new Float64Array(n);
          for (let s = 0; s < steps; s++) {
            const g = randomArray(n, 100 + s);
            sgdStep(param, Tensor.fromArray(g, [n]), vel, cfg);
            refSgd(p, v, g, cfg);
          }
          expectClose(param.toArray(), p, { ...tol, what: 'param' });
          if (vel && cfg.momentum > 0) expectClose(vel.toArray(), v, { ...tol, what: 'velocity' });
        });
      });
    }
  }
});

describe('adamwStep vs the exact formula', () => {
  const configs: AdamOpts[] = [
    { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: true },
    { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupled: true },
    { lr: 3e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1, decoupled: false },
    { lr: 1e-3, beta1: 0, beta2: 0.5, eps: 1e-3, weightDecay: 0.5, decoupled: true },
  ];
  for (const cfg of configs) {
    for (const steps of [1, 6]) {
      it(`${steps} step(s) with ${JSON.stringify(cfg)}`, () => {
        tidy(() => {
          const n = 41;
          const param = randomTensor([n], 2, -2, 2);
          const mT = Tensor.zeros([n]);
          const vT = Tensor.zeros([n]);
          const p = Float64Array.from(param.toArray());
          const m = new Float64Array(n);
          const v = new Float64Array(n);
          for (let t = 1; t <= steps; t++) {
            const g = randomArray(n, 200 + t);
            adamwStep(param, Tensor.fromArray(g, [n]), mT, vT, { ...cfg, step: t });
            refAdam(p, m, v, g, t, cfg);
          }
          expectClose(param.toArray(), p, { ...tol, what: 'param' });
          expectClose(mT.toArray(), m, { ...tol, what: 'm' });
          expectClose(vT.toArray(), v, { ...tol, what: 'v' });
        });
      });
    }
  }

  it('uses the given step for the bias correction (resumed training)', () => {
    tidy(() => {
      const n = 9;
      const cfg = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: true };
      const param = randomTensor([n], 3);
      const m0 = randomArray(n, 4, -0.1, 0.1);
      const v0 = randomArray(n, 5, 0, 0.01);
      const p = Float64Array.from(param.toArray());
      const m = Float64Array.from(m0);
      const v = Float64Array.from(v0);
      const g = randomArray(n, 6);
      adamwStep(param, Tensor.fromArray(g, [n]), Tensor.fromArray(m0, [n]), Tensor.fromArray(v0, [n]), { ...cfg, step: 1000 });
      refAdam(p, m, v, g, 1000, cfg);
      expectClose(param.toArray(), p, { ...tol, what: 'param' });
    });
  });

  it('large tensors give the same result for 1 and 2 threads', () => {
    const run = (threads: number): Float32Array =>
      tidy(() => {
        setNumThreads(threads);
        const n = 300_007;
        const param = randomTensor([n], 7);
        const g = randomTensor([n], 8);
        const m = Tensor.zeros([n]);
        const v = Tensor.zeros([n]);
        const vel = Tensor.zeros([n]);
        for (let t = 1; t <= 3; t++) {
          adamwStep(param, g, m, v, { lr: 1e-3, weightDecay: 0.01, step: t });
          sgdStep(param, g, vel, { lr: 1e-3, momentum: 0.9, nesterov: true });
        }
        return param.toArray() as Float32Array;
      });
    const one = run(1);
    const two = run(2);
    setNumThreads(0);
    expect(Buffer.from(one.buffer).equals(Buffer.from(two.buffer))).toBe(true);
  });
});

// ---- a convex problem: minimise 0.5 ||A x - b||^2 (+ 0.5 wd ||x||^2) ------------------

const R = 8;
const D = 5;
function problem(): { A: Float64Array; b: Float64Array } {
  const A = Float64Array.from(randomArray(R * D, 31, -1, 1));
  for (let i = 0; i < D; i++) A[i * D + i] = A[i * D + i]! + 2; // well conditioned
  const b = Float64Array.from(randomArray(R, 32, -2, 2));
  return { A, b };
}
// grad = A^T (A x - b) + wd x
function gradient(A: Float64Array, b: Float64Array, x: ArrayLike<number>, wd: number): Float32Array {
  const r = new Float64Array(R);
  for (let i = 0; i < R; i++) {
    let s = -b[i]!;
    for (let j = 0; j < D; j++) s += A[i * D + j]! * x[j]!;
    r[i] = s;
  }
  const g = new Float32Array(D);
  for (let j = 0; j < D; j++) {
    let s = wd * x[j]!;
    for (let i = 0; i < R; i++) s += A[i * D + j]! * r[i]!;
    g[j] = s;
  }
  return g;
}
// The optimum: (A^T A + wd I) x = A^T b, by Gaussian elimination with partial pivoting.
function optimum(A: Float64Array, b: Float64Array, wd: number): Float64Array {
  const M = Array.from({ length: D }, (_, j) => {
    const row = new Float64Array(D + 1);
    for (let k = 0; k < D; k++) {
      let s = j === k ? wd : 0;
      for (let i = 0; i < R; i++) s += A[i * D + j]! * A[i * D + k]!;
      row[k] = s;
    }
    let s = 0;
    for (let i = 0; i < R; i++) s += A[i * D + j]! * b[i]!;
    row[D] = s;
    return row;
  });
  for (let c = 0; c < D; c++) {
    let piv = c;
    for (let r = c + 1; r < D; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[piv]![c]!)) piv = r;
    [M[c], M[piv]] = [M[piv]!, M[c]!];
    for (let r = 0; r < D; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= D; k++) M[r]![k] = M[r]![k]! - f * M[c]![k]!;
    }
  }
  return Float64Array.from(M.map((row, j) => row[D]! / row[j]!));
}

describe('optimizers converge on a convex quadratic', () => {
  const { A, b } = problem();

  for (const [name, opts] of [
    ['SGD', { lr: 0.02, momentum: 0, weightDecay: 0, nesterov: false }],
    ['SGD + momentum', { lr: 0.02, momentum: 0.9, weightDecay: 0, nesterov: false }],
    ['SGD + Nesterov + weight decay (ridge optimum)', { lr: 0.02, momentum: 0.9, weightDecay: 0.5, nesterov: true }],
  ] as const) {
    it(name, () => {
      tidy(() => {
        const x = Tensor.zeros([D]);
        const vel = Tensor.zeros([D]);
        const g = Tensor.zeros([D]);
        for (let s = 0; s < 1500; s++) {
          g.storage.write(gradient(A, b, x.toArray(), 0));
          sgdStep(x, g, vel, opts);
        }
        expectClose(x.toArray(), optimum(A, b, opts.weightDecay), { atol: 1e-4, rtol: 1e-4, what: name });
      });
    });
  }

  for (const [name, decoupled, wd] of [
    ['Adam', false, 0],
    ['AdamW (no decay)', true, 0],
    ['Adam + L2 (ridge optimum)', false, 0.5],
  ] as const) {
    it(name, () => {
      tidy(() => {
        const x = Tensor.zeros([D]);
        const m = Tensor.zeros([D]);
        const v = Tensor.zeros([D]);
        const g = Tensor.zeros([D]);
        const steps = 3000;
        for (let t = 1; t <= steps; t++) {
          g.storage.write(gradient(A, b, x.toArray(), 0));
          // cosine decay so that Adam settles on the optimum
          const lr = 0.05 * 0.5 * (1 + Math.cos((Math.PI * (t - 1)) / steps)) + 1e-4;
          adamwStep(x, g, m, v, { lr, weightDecay: wd, decoupled, step: t });
        }
        expectClose(x.toArray(), optimum(A, b, wd), { atol: 1e-3, rtol: 1e-3, what: name });
      });
    });
  }
});

// ---- validation ---------------------------------------------------------------------

describe('sgdStep / adamwStep bad inputs', () => {
  it('checks hyper-parameters', () => {
    tidy(() => {
      const p = Tensor.ones([3]);
      const g = Tensor.ones([3]);
      const v = Tensor.zeros([3]);
      const m = Tensor.zeros([3]);
      const ok = { lr: 0.1, step: 1 };
      expect(() => sgdStep(p, g, v, { lr: NaN })).toThrow(/sgdStep: lr must be a finite number >= 0, got NaN/);
      expect(() => sgdStep(p, g, v, { lr: Infinity })).toThrow(/sgdStep: lr must be a finite number/);
      expect(() => sgdStep(p, g, v, { lr: -1 })).toThrow(/sgdStep: lr must be a finite number >= 0/);
      expect(() => sgdStep(p, g, v, { lr: 0.1, momentum: -0.5 })).toThrow(/momentum must be a finite number >= 0/);
      expect(() => sgdStep(p, g, v, { lr: 0.1, weightDecay: Infinity })).toThrow(/weightDecay must be a finite number/);
      expect(() => sgdStep(p, g, v, { lr: 0.1, nesterov: true })).toThrow(/nesterov needs momentum > 0/);
      expect(() => sgdStep(p, g, null, { lr: 0.1, momentum: 0.9 })).toThrow(/momentum > 0 needs a velocity tensor/);
      expect(() => adamwStep(p, g, m, v, { ...ok, lr: NaN })).toThrow(/adamwStep: lr must be a finite number/);
      expect(() => adamwStep(p, g, m, v, { ...ok, beta1: 1 })).toThrow(/adamwStep: beta1 must be a finite number in \[0, 1\)/);
      expect(() => adamwStep(p, g, m, v, { ...ok, beta2: -0.1 })).toThrow(/beta2 must be a finite number in \[0, 1\)/);
      expect(() => adamwStep(p, g, m, v, { ...ok, beta2: NaN })).toThrow(/beta2 must be a finite number/);
      expect(() => adamwStep(p, g, m, v, { ...ok, eps: Infinity })).toThrow(/eps must be a finite number >= 0/);
      expect(() => adamwStep(p, g, m, v, { ...ok, weightDecay: -1 })).toThrow(/weightDecay must be a finite number >= 0/);
      expect(() => adamwStep(p, g, m, v, { lr: 0.1, step: 0 })).toThrow(/adamwStep: step must be an integer >= 1, got 0/);
      expect(() => adamwStep(p, g, m, v, { lr: 0.1, step: 1.5 })).toThrow(/step must be an integer >= 1/);
      // nothing was changed by the rejected calls
      expect(Array.from(p.toArray())).toEqual([1, 1, 1]);
    });
  });

  it('checks that param, grad and state agree in shape and dtype, and are live', () => {
    tidy(() => {
      const p = Tensor.ones([2, 3]);
      const g = Tensor.ones([2, 3]);
      const m = Tensor.zeros([2, 3]);
      const v = Tensor.zeros([2, 3]);
      expect(() => adamwStep(p, g, Tensor.zeros([3, 2]), v, { lr: 0.1, step: 1 })).toThrow(
        /adamwStep: m shape \[3,2\] differs from param shape \[2,3\]/,
      );
      expect(() => adamwStep(p, Tensor.ones([6]), m, v, { lr: 0.1, step: 1 })).toThrow(/grad shape \[6\] differs/);
      expect(() => sgdStep(p, g, Tensor.zeros([2, 4]), { lr: 0.1, momentum: 0.9 })).toThrow(
        /sgdStep: velocity shape \[2,4\] differs from param shape \[2,3\]/,
      );
      expect(() => sgdStep(p, Tensor.zeros([2, 3], 'int32'), null, { lr: 0.1 })).toThrow(/sgdStep: grad must be float32/);
      const gone = Tensor.zeros([2, 3]);
      gone.dispose();
      expect(() => adamwStep(p, g, m, gone, { lr: 0.1, step: 1 })).toThrow(/adamwStep: v .*has been disposed/);
      // the same storage twice (a view) is refused by the binding
      expect(() => adamwStep(p, g, m, m.reshape([2, 3]), { lr: 0.1, step: 1 })).toThrow(/m and v must be different storages/);
      expect(() => sgdStep(p, p.reshape([2, 3]), null, { lr: 0.1 })).toThrow(/param and grad must be different storages/);
    });
  });

  it('the bindings validate sizes and hyper-parameters themselves', () => {
    tidy(() => {
      const p = Tensor.ones([4]);
      const g = Tensor.ones([4]);
      const m = Tensor.zeros([4]);
      const v = Tensor.zeros([4]);
      expect(() => native.adamw_step(p.storage, m.storage, v.storage, g.storage, 5, 0.1, 0.9, 0.999, 1e-8, 0, 1, true)).toThrow(
        /adamw_step: param must have 5 elements/,
      );
      expect(() => native.adamw_step(p.storage, m.storage, v.storage, g.storage, 4, 0.1, 0.9, 1, 1e-8, 0, 1, true)).toThrow(
        /beta2 must be in/,
      );
      expect(() => native.adamw_step(p.storage, m.storage, v.storage, g.storage, 4, 0.1, 0.9, 0.999, 1e-8, 0, 0, true)).toThrow(
        /step must be >= 1/,
      );
      expect(() => native.sgd_step(p.storage, null, g.storage, 4, 0.1, 0.9, 0, false)).toThrow(/momentum > 0 needs a velocity buffer/);
      expect(() => native.sgd_step(p.storage, v.storage, g.storage, 4, Infinity, 0, 0, false)).toThrow(/lr must be finite/);
    });
  });
});
