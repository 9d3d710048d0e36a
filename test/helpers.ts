// Shared test utilities: seeded data, plain references and finite-difference gradient checks.
import { expect } from 'vitest';

import { Tensor, backwardMany, makeRng, noGrad, tidy } from '../lib/index.js';
import type { Shape } from '../lib/index.js';

/** A seeded uniform float in [lo, hi). */
export function rng(seed: number): () => number {
  return makeRng(seed);
}

/** Seeded random values, uniform in [lo, hi). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = makeRng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}

/** Seeded random float32 tensor, uniform in [lo, hi). */
export function randomTensor(shape: Shape, seed: number, lo = -1, hi = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.fromArray(randomArray(n, seed, lo, hi), shape);
}

/** Seeded random int32 tensor with values in [0, limit). */
export function randomIds(shape: Shape, limit: number, seed: number): Tensor {
  const r = makeRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor(r() * limit);
  return Tensor.fromArray(a, shape, 'int32');
}

/** Element-wise closeness with a readable failure: |a-b| <= atol + rtol*|b|. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-5, rtol = 1e-4, what = 'value' }: { atol?: number; rtol?: number; what?: string } = {},
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    const err = Math.abs(a - b) - (atol + rtol * Math.abs(b));
    if (!(err <= 0) && (worst < 0 || !(err <= worstErr))) {
      worst = i;
      worstErr = err;
      if (Number.isNaN(err)) break;
    }
  }
  if (worst >= 0) {
    expect.fail(`${what}[${worst}]: got ${actual[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`);
  }
}

export interface GradCheckOptions {
  /** Finite-difference step. */
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Check at most this many elements per input (chosen with a seeded RNG). */
  maxChecks?: number;
  seed?: number;
}

/**
 * Checks the autograd gradients of `fn` with respect to every float32 input against
 * central finite differences of L = sum(fn(inputs) * R), R a fixed random projection.
 * `fn` may return one tensor or several (each gets its own projection).
 */
export function gradCheck(
  fn: (...inputs: Tensor[]) => Tensor | Tensor[],
  inputs: Tensor[],
  opts: GradCheckOptions = {},
): void {
  const { eps = 1e-2, atol = 2e-3, rtol = 2e-2, maxChecks = 24, seed = 1234 } = opts;
  const asList = (o: Tensor | Tensor[]): Tensor[] => (Array.isArray(o) ? o : [o]);
  // Fixed projections, one per output.
  const probe = noGrad(() => asList(fn(...inputs)));
  const projections = probe.map((o, k) => randomArray(o.size, seed + 17 * k));
  for (const o of probe) o.dispose();

  const lossOf = (outs: Tensor[]): number => {
    let s = 0;
    outs.forEach((o, k) => {
      const v = o.toArray();
      const p = projections[k]!;
      for (let i = 0; i < v.length; i++) s += v[i]! * p[i]!;
    });
    return s;
  };

  // Analytic: backward of sum(out * R) is backward(out, R).
  const diffInputs = inputs.filter((t) => t.dtype === 'float32');
  for (const t of diffInputs) {
    t.grad?.dispose();
    t.grad = null;
    t.requiresGrad = true;
  }
  tidy(() => {
    const outs = asList(fn(...inputs));
    const live = outs.map((o, k) => [o, k] as const).filter(([o]) => o._node !== null || o.requiresGrad);
    backwardMany(
      live.map(([o]) => o),
      live.map(([o, k]) => Tensor.fromArray(projections[k]!, o.shape)),
    );
  });

  const r = makeRng(seed);
  for (const [idx, t] of diffInputs.entries()) {
    const analytic = t.grad ? (t.grad.toArray() as Float32Array) : new Float32Array(t.size);
    const base = t.toArray() as Float32Array;
    const picks = new Set<number>();
    if (t.size <= maxChecks) for (let i = 0; i < t.size; i++) picks.add(i);
    else while (picks.size < maxChecks) picks.add(Math.floor(r() * t.size));
    for (const i of picks) {
      const orig = base[i]!;
      const at = (v: number): number => {
        t.storage.write(Float32Array.of(v), i);
        return noGrad(() => tidy(() => lossOf(asList(fn(...inputs)))));
      };
      const numeric = (at(orig + eps) - at(orig - eps)) / (2 * eps);
      t.storage.write(Float32Array.of(orig), i);
      const a = analytic[i]!;
      if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
        expect.fail(
          `gradient of input ${idx} ${t.describe()} at element ${i}: autograd ${a}, finite difference ${numeric}`,
        );
      }
    }
  }
  for (const t of diffInputs) {
    t.grad?.dispose();
    t.grad = null;
    t.requiresGrad = false;
  }
}
