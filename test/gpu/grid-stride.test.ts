// The CUDA kernels with a capped grid (LMKIT_CUDA_MAX_BLOCKS=3): every grid-stride loop
// (elementwise), row-stride loop (LMKIT_ROW_STRIDE: softmax, norms, cross-entropy, row sums,
// Adafactor's rows), 2-D grid loop (attention rows x heads) and batch loop (GEMM grid.z) then
// runs several rounds per block, as a large-batch run on a GPU does once rows outnumber the
// grid (65535*4 row blocks). Shapes are small; the cap, not the size, makes the loops turn.
// Warp-strided kernels (selective scan, dropout's mask words: one warp per item) are given
// sizes where every warp of the grid loops the same number of times (48 items over 3 x 8
// warps): see docs/cuda.md on why the emulation needs that and why it is still the GPU's
// semantics. Skipped without a CUDA device (real or emulated), like the rest of test/gpu.
import { expect, it } from 'vitest';

// Read by the addon at its first launch, which comes after this module body.
process.env.LMKIT_CUDA_MAX_BLOCKS = '3';

import {
  Tensor,
  adafactorStep,
  adamwStep,
  attention,
  causalConv1d,
  crossEntropy,
  dropout,
  embedding,
  gelu,
  layerNorm,
  logSoftmax,
  lstmCell,
  matmul,
  max,
  mul,
  permute,
  rmsNorm,
  selectiveScan,
  softmax,
  sum,
  sumToShape,
  tidy,
  add,
} from '../../lib/index.js';
import type { AdafactorState } from '../../lib/ops/optim.js';
import { expectClose, randomArray } from '../helpers.js';
import { compareDevices, describeGpu } from './gpu.js';

const ids = (n: number, limit: number, seed: number): Int32Array =>
  Int32Array.from(randomArray(n, seed, 0, 1), (v, i) => (i % 7 === 3 ? -100 : Math.min(limit - 1, Math.floor(v * limit))));

describeGpu('cuda with a grid of at most 3 blocks (LMKIT_CUDA_MAX_BLOCKS=3)', () => {
  it('row kernels: each block handles several rows (softmax, layerNorm, rmsNorm, crossEntropy, row sums)', () => {
    for (const [N, C] of [[10, 33], [7, 300]] as [number, number][]) {
      compareDevices(`softmax [${N},${C}]`, [{ shape: [N, C], lo: -5, hi: 5 }], (x) => softmax(x), { atol: 1e-6, rtol: 1e-4 });
      compareDevices(`logSoftmax [${N},${C}]`, [{ shape: [N, C], lo: -5, hi: 5 }], (x) => logSoftmax(x), { atol: 1e-5, rtol: 1e-4 });
      compareDevices(`layerNorm [${N},${C}]`, [{ shape: [N, C] }, { shape: [C], lo: 0.5, hi: 1.5 }, { shape: [C] }], (x, w, b) => layerNorm(x, w, b), { atol: 1e-4, rtol: 1e-3 });
      compareDevices(`rmsNorm [${N},${C}]`, [{ shape: [N, C] }, { shape: [C], lo: 0.5, hi: 1.5 }], (x, w) => rmsNorm(x, w), { atol: 1e-4, rtol: 1e-3 });
      compareDevices(`crossEntropy [${N},${C}]`, [{ shape: [N, C], lo: -4, hi: 4 }, { shape: [N], data: ids(N, C, N) }], (x, y) => mul(crossEntropy(x, y), 2), { atol: 1e-5, rtol: 1e-4 });
      compareDevices(`sum rows [${N},${C}]`, [{ shape: [N, C] }], (x) => sum(x, 1), { atol: 1e-4, rtol: 1e-4 });
      compareDevices(`max rows [${N},${C}]`, [{ shape: [N, C] }], (x) => max(x, 1), { atol: 0, rtol: 0 });
    }
  });

  it('grid-stride elementwise, embedding, LSTM cell, conv, permute, sumToShape: several rounds per thread', () => {
    compareDevices('gelu + add n=5000', [{ shape: [5000] }, { shape: [5000] }], (a, b) => gelu(add(a, mul(b, 0.5))));
    compareDevices('embedding N=40 C=65', [{ shape: [30, 65] }, { shape: [40], data: Int32Array.from({ length: 40 }, (_, i) => (i * 7) % 30) }], (t, i) => embedding(t, i), { atol: 1e-5, rtol: 1e-5 });
    compareDevices('lstmCell B=9 H=130', [{ shape: [9, 520], lo: -3, hi: 3 }, { shape: [9, 130] }], (pre, cp) => {
      const { h, c } = lstmCell(pre, cp);
      return add(h, mul(c, 0.5));
    });
    compareDevices('causalConv1d B=2 T=40 C=33 K=4', [{ shape: [2, 40, 33] }, { shape: [33, 4] }, { shape: [33] }], (x, w, b) => causalConv1d(x, w, b));
    compareDevices('permute [9,17,13]', [{ shape: [9, 17, 13] }], (x) => permute(x, [2, 0, 1]), { atol: 0, rtol: 0 });
    compareDevices('sumToShape [40,65]->[65]', [{ shape: [40, 65] }], (x) => sumToShape(x, [65]), { atol: 1e-4, rtol: 1e-4 });
  });

  it('attention: more query rows and heads than the grid has blocks in each dimension', () => {
    compareDevices(
      'attention B=2 T=7 C=12 heads=3 causal',
      [{ shape: [2, 7, 12] }, { shape: [2, 7, 12] }, { shape: [2, 7, 12] }],
      (q, k, v) => attention(q, k, v, { heads: 3, causal: true }),
      { atol: 1e-5, rtol: 1e-4 },
    );
  });

  it('batched GEMM: more batch entries than grid.z (own kernel and the cuBLAS call sites)', () => {
    compareDevices('matmul batch 7 [7,20,30]x[7,30,70]', [{ shape: [7, 20, 30] }, { shape: [7, 30, 70] }], (a, b) => matmul(a, b), { atol: 1e-4, rtol: 1e-4 });
  });

  it('Adafactor (factored rows) and AdamW with several rows / rounds per block', () => {
    tidy(() => {
      const mk = (dev: 'cpu' | 'cuda') => {
        const p = Tensor.fromArray(randomArray(11 * 70, 1), [11, 70], 'float32', dev);
        const g = Tensor.fromArray(randomArray(11 * 70, 2), [11, 70], 'float32', dev);
        const state: AdafactorState = { row: Tensor.fromArray(randomArray(11, 3, 0, 0.01), [11], 'float32', dev), col: Tensor.fromArray(randomArray(70, 4, 0, 0.01), [70], 'float32', dev) };
        const m = Tensor.zeros([11, 70], 'float32', dev);
        const v = Tensor.zeros([11, 70], 'float32', dev);
        return { p, g, state, m, v };
      };
      const [c, d] = [mk('cpu'), mk('cuda')];
      for (const s of [c, d]) {
        adafactorStep(s.p, s.g, s.state, { rho: 1e-2, beta2: 0.9, weightDecay: 0.01, clip: 1, scaleParameter: true });
        adamwStep(s.p, s.g, s.m, s.v, { lr: 1e-3, weightDecay: 0.1, step: 1, decoupled: true });
      }
      expectClose(d.p.toArray(), c.p.toArray(), { atol: 1e-6, rtol: 1e-4, what: 'adafactor + adamw p' });
    });
  });

  it('warp-strided kernels at sizes where every warp loops equally: selective scan (B*D = 48), dropout (48 mask words)', () => {
    compareDevices(
      'selectiveScan B=2 T=5 D=24 N=16',
      [{ shape: [2, 5, 24] }, { shape: [2, 5, 24], lo: 0.01, hi: 0.5 }, { shape: [24, 16], lo: -1, hi: -0.1 }, { shape: [2, 5, 16] }, { shape: [2, 5, 16] }, { shape: [24] }],
      (x, delta, A, Bm, Cm, Dskip) => selectiveScan(x, delta, A, Bm, Cm, Dskip),
      { atol: 1e-4, rtol: 1e-3 },
    );
    for (const n of [48 * 32, 47 * 32 + 5]) {
      compareDevices(`dropout n=${n}`, [{ shape: [n] }], (x) => dropout(x, 0.3, { seed: 99 }), { atol: 0, rtol: 0 });
    }
    expect(process.env.LMKIT_CUDA_MAX_BLOCKS).toBe('3');
  });
});
