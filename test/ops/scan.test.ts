import { describe, expect, it } from 'vitest';

import { memory, noGrad, tidy } from '../../lib/index.js';
import { selectiveScan } from '../../lib/ops/scan.js';
import { Tensor } from '../../lib/tensor.js';
import { expectClose, gradCheck, randomTensor } from '../helpers.js';

interface Inputs {
  x: Float32Array;
  delta: Float32Array;
  A: Float32Array;
  Bm: Float32Array;
  Cm: Float32Array;
  Dskip: Float32Array;
}

// Plain reference of the recurrence (float64 accumulation).
function refScan(p: Inputs, B: number, T: number, D: number, N: number): Float32Array {
  const y = new Float32Array(B * T * D);
  for (let b = 0; b < B; b++) {
    for (let d = 0; d < D; d++) {
      const h = new Float64Array(N);
      for (let t = 0; t < T; t++) {
        const i = (b * T + t) * D + d;
        const dt = p.delta[i]!;
        const xt = p.x[i]!;
        let acc = 0;
        for (let n = 0; n < N; n++) {
          h[n] = Math.exp(dt * p.A[d * N + n]!) * h[n]! + dt * p.Bm[(b * T + t) * N + n]! * xt;
          acc += p.Cm[(b * T + t) * N + n]! * h[n]!;
        }
        y[i] = acc + p.Dskip[d]! * xt;
      }
    }
  }
  return y;
}

function makeInputs(B: number, T: number, D: number, N: number, seed: number): Tensor[] {
  return [
    randomTensor([B, T, D], seed, -1, 1), // x
    randomTensor([B, T, D], seed + 1, 0.05, 1.2), // delta > 0
    randomTensor([D, N], seed + 2, -2, -0.1), // A < 0
    randomTensor([B, T, N], seed + 3, -1, 1), // Bm
    randomTensor([B, T, N], seed + 4, -1, 1), // Cm
    randomTensor([D], seed + 5, -1, 1), // Dskip
  ];
}

const cases: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [2, 5, 3, 4],
  [3, 7, 5, 1],
  [1, 13, 2, 16],
  [4, 33, 17, 7],
  [2, 64, 64, 16],
];

describe('selectiveScan', () => {
  for (const [B, T, D, N] of cases) {
    it(`forward matches a plain reference: B=${B} T=${T} D=${D} N=${N}`, () => {
      tidy(() => {
        const ins = makeInputs(B, T, D, N, B * 1000 + T * 10 + D + N);
        const y = noGrad(() => selectiveScan(...(ins as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor])));
        expect(y.shape).toEqual([B, T, D]);
        const [x, delta, A, Bm, Cm, Dskip] = ins.map((t) => t.toArray() as Float32Array);
        const ref = refScan({ x: x!, delta: delta!, A: A!, Bm: Bm!, Cm: Cm!, Dskip: Dskip! }, B, T, D, N);
        expectClose(y.toArray(), ref, { atol: 2e-5, rtol: 1e-4, what: 'y' });
        // Recording (states saved) gives the same values.
        for (const t of ins) t.requiresGrad = true;
        expectClose(selectiveScan(...(ins as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor])).toArray(), ref, {
          atol: 2e-5,
          rtol: 1e-4,
          what: 'y (recording)',
        });
      });
    });
  }

  for (const [B, T, D, N] of [
    [1, 1, 1, 1],
    [2, 5, 3, 4],
    [3, 6, 2, 5],
    [1, 9, 4, 3],
  ] as const) {
    it(`gradients of all six inputs match finite differences: B=${B} T=${T} D=${D} N=${N}`, () => {
      gradCheck(
        (x, delta, A, Bm, Cm, Dskip) => selectiveScan(x!, delta!, A!, Bm!, Cm!, Dskip!),
        makeInputs(B, T, D, N, 50 + T),
        { maxChecks: 30 },
      );
    });
  }

  it('parameter gradients accumulate across backward calls', () => {
    const [x, delta, A, Bm, Cm, Dskip] = makeInputs(2, 4, 3, 2, 9) as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    A.requiresGrad = true;
    Dskip.requiresGrad = true;
    const run = (): void => tidy(() => selectiveScan(x, delta, A, Bm, Cm, Dskip).backward(Tensor.ones([2, 4, 3])));
    run();
    const a1 = Array.from(A.grad!.toArray());
    const d1 = Array.from(Dskip.grad!.toArray());
    run();
    expectClose(A.grad!.toArray(), a1.map((v) => 2 * v), { what: 'dA' });
    expectClose(Dskip.grad!.toArray(), d1.map((v) => 2 * v), { what: 'dDskip' });
  });

  it('frees the saved states: no storage outlives a forward + backward', () => {
    const ins = makeInputs(2, 6, 3, 4, 21) as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    for (const t of ins) t.requiresGrad = true;
    const run = (): void => tidy(() => selectiveScan(...ins).backward(Tensor.ones([2, 6, 3])));
    run();
    const before = memory().storages;
    run();
    run();
    expect(memory().storages).toBe(before);
    noGrad(() =>
      tidy(() => {
        selectiveScan(...ins);
      }),
    );
    expect(memory().storages).toBe(before);
  });

  it('rejects bad shapes and dtypes', () => {
    const [x, delta, A, Bm, Cm, Dskip] = makeInputs(2, 3, 4, 5, 1) as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    expect(() => selectiveScan(x, delta, A, Bm, Cm, randomTensor([3], 1))).toThrow(/selectiveScan: shapes/);
    expect(() => selectiveScan(x, randomTensor([2, 3, 5], 1), A, Bm, Cm, Dskip)).toThrow(/selectiveScan: shapes/);
    expect(() => selectiveScan(x, delta, randomTensor([4, 6], 1), Bm, Cm, Dskip)).toThrow(/selectiveScan: shapes/);
    expect(() => selectiveScan(x.reshape([6, 4]), delta, A, Bm, Cm, Dskip)).toThrow(/x \(B,T,D\)/);
    expect(() => selectiveScan(x, delta, A, Tensor.zeros([2, 3, 5], 'int32'), Cm, Dskip)).toThrow(/Bm must be float32/);
  });
});
