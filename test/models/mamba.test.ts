import { describe, expect, it } from 'vitest';

import { randomWindows, sequentialWindows, type SequenceBatch } from '../../lib/data/windows.js';
import { MambaLM, softplus } from '../../lib/models/mamba.js';
import { AdamW } from '../../lib/optim/optimizer.js';
import { Tensor, crossEntropy, noGrad, tidy } from '../../lib/index.js';
import { Trainer, evaluateLoss } from '../../lib/train/trainer.js';
import { expectClose, gradCheck, randomIds, randomTensor } from '../helpers.js';

const pattern = [1, 2, 3, 4, 5, 3, 2, 6, 7, 1, 5, 4];
const corpus = Int32Array.from({ length: 600 }, (_, i) => pattern[i % pattern.length]!);

function lossOf(model: MambaLM, b: SequenceBatch, reduction: 'mean' | 'sum' = 'mean'): Tensor {
  const logits = model.forward(Tensor.fromArray(b.inputs, [b.batchSize, b.seqLen], 'int32'));
  return crossEntropy(logits, Tensor.fromArray(b.targets, [b.tokens], 'int32'), { reduction });
}

describe('MambaLM', () => {
  it('overfits a tiny repetitive corpus: perplexity falls close to 1', async () => {
    const T = 16;
    const model = new MambaLM({ vocabSize: 8, embed: 32, layers: 2, dState: 8, seed: 5 });
    const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
    const trainer = new Trainer(model, opt, (b: SequenceBatch) => ({ loss: lossOf(model, b), tokens: b.tokens }));
    const evaluate = () => evaluateLoss(sequentialWindows(corpus, 16, T), (b) => ({ sum: lossOf(model, b, 'sum'), tokens: b.tokens }));
    const before = evaluate();
    const losses: number[] = [];
    const t0 = performance.now();
    await trainer.fit({
      batches: function* (e) {
        for (let s = 0; s < 150; s++) yield randomWindows(corpus, 8, T, e * 1000 + s);
      },
      epochs: 1,
      onStep: (s) => losses.push(s.loss),
    });
    const ms = performance.now() - t0;
    const after = evaluate();
    console.log(`mamba overfit: ppl ${before.ppl.toFixed(2)} -> ${after.ppl.toFixed(3)} in 150 steps, ${ms.toFixed(0)} ms`);
    expect(before.ppl).toBeGreaterThan(5);
    // The first token of each window cannot be predicted exactly from nothing, positions >= 1 can.
    expect(after.ppl).toBeLessThan(1.2);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! / 5);
    model.dispose();
    opt.dispose();
  }, 20_000);

  it('is causal: changing a future token leaves earlier positions unchanged', () => {
    const V = 11;
    const T = 7;
    const model = new MambaLM({ vocabSize: V, embed: 16, layers: 2, seed: 2 });
    const ids = randomIds([2, T], V, 9);
    const a = ids.toArray() as Int32Array;
    const changed = Int32Array.from(a);
    const cut = 4;
    changed[cut] = (a[cut]! + 3) % V;
    changed[T + cut] = (a[T + cut]! + 5) % V;
    const [l1, l2] = noGrad(() => [model.forward(ids).toArray(), model.forward(Tensor.fromArray(changed, [2, T], 'int32')).toArray()]);
    for (let b = 0; b < 2; b++) {
      const rows = (lo: number, hi: number, x: Float32Array | Int32Array) => x.slice((b * T + lo) * V, (b * T + hi) * V);
      expectClose(rows(0, cut, l2!), rows(0, cut, l1!), { atol: 0, rtol: 0, what: `batch ${b} positions < ${cut}` });
      const later = rows(cut, T, l2!);
      const before = rows(cut, T, l1!);
      expect(later.some((v, i) => Math.abs(v - before[i]!) > 1e-6)).toBe(true);
    }
    model.dispose();
  });

  it('output shape, parameter count and tied weights', () => {
    const V = 10;
    const D = 8;
    const model = new MambaLM({ vocabSize: V, embed: D, layers: 1 });
    const logits = noGrad(() => model.forward(randomIds([3, 5], V, 1)));
    expect(logits.shape).toEqual([15, V]);
    const params = model.parameters();
    expect(new Set(params).size).toBe(params.length);
    const names = model.namedParameters().map(([n]) => n);
    expect(names.filter((n) => n.includes('mbedding'))).toEqual(['tokenEmbedding']);
    const ED = 2 * D;
    const N = 16;
    const R = 1;
    const block = D + D * 2 * ED + ED * 4 + ED + ED * (R + 2 * N) + (R * ED + ED) + ED * N + ED + ED * D;
    expect(model.numParameters()).toBe(V * D + block + D);
    model.dispose();
  });

  it('softplus is stable and matches log(1 + e^x)', () => {
    const xs = [-100, -20, -3, -0.5, 0, 0.5, 3, 20, 100];
    const y = noGrad(() => softplus(Tensor.fromArray(Float32Array.from(xs), [xs.length]))).toArray();
    expectClose(
      y,
      xs.map((x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)))),
      { atol: 1e-6, rtol: 1e-5, what: 'softplus' },
    );
    gradCheck((x) => softplus(x!), [randomTensor([20], 3, -4, 4)], { eps: 1e-3 });
  });

  it('gradients match finite differences (tiny model)', () => {
    const model = new MambaLM({ vocabSize: 5, embed: 4, layers: 2, dState: 3, seed: 7 });
    // Larger embeddings than the 0.02 init so that every path carries a measurable signal.
    const r = randomTensor(model.tokenEmbedding.shape, 3, -0.5, 0.5);
    model.tokenEmbedding.storage.write(r.toArray() as Float32Array);
    r.dispose();
    const ids = Tensor.fromArray(Int32Array.of(0, 3, 1, 4, 2, 2, 0, 1), [2, 4], 'int32');
    const targets = Tensor.fromArray(Int32Array.of(3, 1, 4, 2, 2, 0, 1, 3), [8], 'int32');
    const named = new Map(model.namedParameters());
    const checked = [
      model.tokenEmbedding,
      named.get('blocks.0.inProj.weight')!,
      named.get('blocks.0.convWeight')!,
      named.get('blocks.1.xProj.weight')!,
      named.get('blocks.1.dtProj.bias')!,
      named.get('blocks.0.ALog')!,
      named.get('blocks.1.Dskip')!,
      named.get('blocks.1.outProj.weight')!,
    ];
    for (const p of model.parameters()) p.requiresGrad = false;
    gradCheck(() => crossEntropy(model.forward(ids), targets), checked, { eps: 1e-2, maxChecks: 6, atol: 3e-3, rtol: 3e-2 });
    model.dispose();
  });

  it('rejects bad ids and bad configurations with clear errors', () => {
    const model = new MambaLM({ vocabSize: 5, embed: 8, layers: 1 });
    expect(() => model.forward(Tensor.zeros([1, 3]))).toThrow(/int32 ids of shape \[B,T\]/);
    expect(() => model.forward(Tensor.fromArray(Int32Array.of(1, 9), [1, 2], 'int32'))).toThrow(/out of range/);
    model.dispose();
    expect(() => new MambaLM({ vocabSize: 5, embed: 0, layers: 1 })).toThrow(/embed must be a positive integer/);
    expect(() => new MambaLM({ vocabSize: 5, embed: 8, layers: 1.5 })).toThrow(/layers must be a positive integer/);
    expect(() => new MambaLM({ vocabSize: 5, embed: 8, layers: 1, dState: 0 })).toThrow(/dState/);
    expect(() => new MambaLM({ vocabSize: 5, embed: 8, layers: 1, dConv: -1 })).toThrow(/dConv/);
    expect(() => new MambaLM({ vocabSize: 5, embed: 8, layers: 1, seed: 0.5 })).toThrow(/seed/);
    tidy(() => undefined);
  });
});
