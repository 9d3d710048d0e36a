import { describe, expect, it } from 'vitest';

import { attention } from '../../lib/ops/attention.js';
import { Tensor } from '../../lib/tensor.js';
import { expectClose, gradCheck, randomTensor } from '../helpers.js';

interface Cfg {
  B: number;
  Tq: number;
  Tk: number;
  C: number;
  NH: number;
  causal?: boolean;
  mask?: number[]; // (B,Tk)
  scale?: number;
}

function refAttention(q: Float32Array, k: Float32Array, v: Float32Array, c: Cfg): Float32Array {
  const { B, Tq, Tk, C, NH } = c;
  const hs = C / NH;
  const scale = c.scale ?? 1 / Math.sqrt(hs);
  const out = new Float32Array(B * Tq * C);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let i = 0; i < Tq; i++) {
        const s: number[] = [];
        const vis: boolean[] = [];
        let m = -Infinity;
        for (let j = 0; j < Tk; j++) {
          let d = 0;
          for (let e = 0; e < hs; e++) d += q[(b * Tq + i) * C + h * hs + e]! * k[(b * Tk + j) * C + h * hs + e]!;
          s.push(d * scale);
          vis.push((!c.causal || j <= i + Tk - Tq) && (!c.mask || c.mask[b * Tk + j] === 1));
          if (vis[j]) m = Math.max(m, s[j]!);
        }
        if (m === -Infinity) continue; // nothing visible: zeros
        let z = 0;
        for (let j = 0; j < Tk; j++) if (vis[j]) z += Math.exp(s[j]! - m);
        for (let j = 0; j < Tk; j++) {
          if (!vis[j]) continue;
          const p = Math.exp(s[j]! - m) / z;
          for (let e = 0; e < hs; e++) out[(b * Tq + i) * C + h * hs + e]! += p * v[(b * Tk + j) * C + h * hs + e]!;
        }
      }
    }
  }
  return out;
}

function run(c: Cfg, q: Tensor, k: Tensor, v: Tensor): Tensor {
  const mask = c.mask ? Tensor.fromArray(new Int32Array(c.mask), [c.B, c.Tk]) : null;
  try {
    return attention(q, k, v, { heads: c.NH, causal: c.causal, mask, scale: c.scale });
  } finally {
    mask?.dispose();
  }
}

const cases: Cfg[] = [
  { B: 1, Tq: 1, Tk: 1, C: 1, NH: 1 },
  { B: 2, Tq: 5, Tk: 5, C: 6, NH: 2, causal: true },
  { B: 2, Tq: 3, Tk: 7, C: 12, NH: 3, causal: true },
  { B: 1, Tq: 7, Tk: 3, C: 4, NH: 2, causal: true }, // Tq > Tk: the first queries see no key
  { B: 2, Tq: 4, Tk: 5, C: 6, NH: 3, mask: [1, 0, 1, 1, 0, 0, 0, 0, 0, 0] }, // batch 1 fully padded
  { B: 3, Tq: 13, Tk: 13, C: 14, NH: 7, causal: true, mask: [...Array(39)].map((_, i) => (i % 4 === 1 ? 0 : 1)) },
  { B: 2, Tq: 37, Tk: 37, C: 64, NH: 4, causal: true, scale: 0.3 },
];

const label = (c: Cfg): string =>
  `B=${c.B} Tq=${c.Tq} Tk=${c.Tk} C=${c.C} NH=${c.NH}${c.causal ? ' causal' : ''}${c.mask ? ' mask' : ''}${c.scale ? ` scale=${c.scale}` : ''}`;

describe('attention', () => {
  for (const c of cases) {
    it(`forward matches a plain reference: ${label(c)}`, () => {
      const q = randomTensor([c.B, c.Tq, c.C], 1 + c.C, -2, 2);
      const k = randomTensor([c.B, c.Tk, c.C], 2 + c.C, -2, 2);
      const v = randomTensor([c.B, c.Tk, c.C], 3 + c.C);
      const out = run(c, q, k, v);
      expect(out.shape).toEqual([c.B, c.Tq, c.C]);
      const got = out.toArray();
      expect(got.every(Number.isFinite)).toBe(true);
      const ref = refAttention(q.toArray() as Float32Array, k.toArray() as Float32Array, v.toArray() as Float32Array, c);
      expectClose(got, ref, { atol: 1e-5, what: 'out' });
    });
  }

  for (const c of cases.slice(0, 6)) {
    it(`gradients match finite differences: ${label(c)}`, () => {
      gradCheck(
        (q, k, v) => run(c, q!, k!, v!),
        [
          randomTensor([c.B, c.Tq, c.C], 11, -1, 1),
          randomTensor([c.B, c.Tk, c.C], 12, -1, 1),
          randomTensor([c.B, c.Tk, c.C], 13, -1, 1),
        ],
        { eps: 5e-3, maxChecks: 30 },
      );
    });
  }

  it('self-attention (q = k = v = x) gradient matches finite differences', () => {
    gradCheck((x) => attention(x!, x!, x!, { heads: 2, causal: true }), [randomTensor([2, 6, 8], 21)], {
      eps: 5e-3,
      maxChecks: 40,
    });
  });

  it('fully masked rows give zero output and zero gradient, no NaN', () => {
    const c: Cfg = { B: 2, Tq: 3, Tk: 4, C: 4, NH: 2, mask: [0, 0, 0, 0, 1, 1, 0, 1] };
    const q = randomTensor([2, 3, 4], 31).requireGrad();
    const k = randomTensor([2, 4, 4], 32).requireGrad();
    const v = randomTensor([2, 4, 4], 33).requireGrad();
    const out = run(c, q, k, v);
    const o = out.toArray();
    for (let i = 0; i < 12; i++) expect(o[i]).toBe(0);
    out.backward(Tensor.ones([2, 3, 4]));
    for (const t of [q, k, v]) {
      const g = t.grad!.toArray();
      expect(g.every(Number.isFinite)).toBe(true);
      for (let i = 0; i < g.length / 2; i++) expect(g[i]).toBe(0); // batch 0
    }
  });

  it('rejects bad inputs with clear errors', () => {
    const q = randomTensor([2, 3, 6], 1);
    const k = randomTensor([2, 4, 6], 2);
    expect(() => attention(q, k, k, { heads: 4 })).toThrow(/C = 6 is not a multiple of heads = 4/);
    expect(() => attention(q, k, k, { heads: 0 })).toThrow(/heads must be a positive integer/);
    expect(() => attention(q, randomTensor([2, 4, 5], 3), k, { heads: 1 })).toThrow(/k and v must be \(B,Tk,C\)/);
    expect(() => attention(q, k, randomTensor([2, 5, 6], 3), { heads: 1 })).toThrow(RangeError);
    expect(() => attention(randomTensor([3, 6], 1), k, k, { heads: 1 })).toThrow(/must be 3-D/);
    expect(() => attention(q, k, k, { heads: 2, mask: Tensor.ones([2, 4]) })).toThrow(/mask must be int32/);
    expect(() => attention(q, k, k, { heads: 2, mask: Tensor.ones([2, 3], 'int32') })).toThrow(/mask must be \[2,4\]/);
    expect(() => attention(q, k, k, { heads: 2, mask: Tensor.full([2, 4], 2, 'int32') })).toThrow(
      /mask\[0\] = 2 is out of range \[0, 2\)/,
    );
    expect(() => attention(q, k, k, { heads: 2, scale: NaN })).toThrow(/scale must be a finite number/);
    expect(() => attention(q, k, Tensor.zeros([2, 4, 6], 'int32'), { heads: 2 })).toThrow(/must be float32/);
    const gone = randomTensor([2, 4, 6], 4);
    gone.dispose();
    expect(() => attention(q, gone, k, { heads: 2 })).toThrow(/disposed/);
  });
});
