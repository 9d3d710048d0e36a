import { describe, expect, it } from 'vitest';

import { randomWindows, sequentialWindows, type SequenceBatch } from '../../lib/data/windows.js';
import { TransformerLM } from '../../lib/models/transformer.js';
import { Block, LayerNormModule, MLP, MultiHeadAttention } from '../../lib/nn/transformer.js';
import { AdamW } from '../../lib/optim/optimizer.js';
import { Tensor, crossEntropy, noGrad, tidy } from '../../lib/index.js';
import { Trainer, evaluateLoss } from '../../lib/train/trainer.js';
import { expectClose, gradCheck, randomIds, randomTensor } from '../helpers.js';

const pattern = [1, 2, 3, 4, 5, 3, 2, 6, 7, 1, 5, 4];
const corpus = Int32Array.from({ length: 600 }, (_, i) => pattern[i % pattern.length]!);

function lossOf(model: TransformerLM, b: SequenceBatch, reduction: 'mean' | 'sum' = 'mean'): Tensor {
  const logits = model.forward(Tensor.fromArray(b.inputs, [b.batchSize, b.seqLen], 'int32'));
  return crossEntropy(logits, Tensor.fromArray(b.targets, [b.tokens], 'int32'), { reduction });
}

describe('TransformerLM', () => {
  it('overfits a tiny repetitive corpus: perplexity falls close to 1', async () => {
    const T = 16;
    const model = new TransformerLM({ vocabSize: 8, context: T, embed: 32, heads: 4, layers: 2, dropout: 0.1, seed: 5 });
    const opt = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0 });
    const trainer = new Trainer(model, opt, (b: SequenceBatch) => ({ loss: lossOf(model, b), tokens: b.tokens }));
    const evaluate = () => {
      model.eval();
      const r = evaluateLoss(sequentialWindows(corpus, 16, T), (b) => ({ sum: lossOf(model, b, 'sum'), tokens: b.tokens }));
      model.train();
      return r;
    };
    const before = evaluate();
    const losses: number[] = [];
    await trainer.fit({
      batches: function* (e) {
        for (let s = 0; s < 150; s++) yield randomWindows(corpus, 8, T, e * 1000 + s);
      },
      epochs: 1,
      onStep: (s) => losses.push(s.loss),
    });
    const after = evaluate();
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
    const model = new TransformerLM({ vocabSize: V, context: 8, embed: 16, heads: 2, layers: 2, seed: 2 }).eval();
    const ids = randomIds([2, T], V, 9);
    const a = ids.toArray() as Int32Array;
    const changed = Int32Array.from(a);
    const cut = 4;
    changed[cut] = (a[cut]! + 3) % V; // batch 0, position 4
    changed[T + cut] = (a[T + cut]! + 5) % V; // batch 1, position 4
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

  it('output shape and tied weights', () => {
    const model = new TransformerLM({ vocabSize: 10, context: 6, embed: 8, heads: 2, layers: 1 });
    const logits = noGrad(() => model.forward(randomIds([3, 5], 10, 1)));
    expect(logits.shape).toEqual([15, 10]);
    const params = model.parameters();
    expect(new Set(params).size).toBe(params.length);
    const names = model.namedParameters().map(([n]) => n);
    expect(names).toContain('tokenEmbedding');
    expect(names.filter((n) => n.includes('mbedding'))).toEqual(['tokenEmbedding', 'positionEmbedding']);
    // Embedding + one block (ln1 2C, qkv 3C^2+3C, proj C^2+C, ln2 2C, fc 4C^2+4C, proj 4C^2+C) + lnf 2C.
    const C = 8;
    expect(model.numParameters()).toBe(10 * C + 6 * C + (12 * C * C + 13 * C) + 2 * C);
    // The output uses the token embedding itself: changing it changes the logits of a fixed hidden state.
    // Its gradient collects both the lookup and the output projection: ids of token 9 never occur,
    // yet row 9 gets a gradient through the tied output.
    tidy(() => {
      const ids = Tensor.fromArray(Int32Array.of(0, 1, 2, 3), [1, 4], 'int32');
      crossEntropy(model.forward(ids), Tensor.fromArray(Int32Array.of(1, 2, 3, 4), [4], 'int32')).backward();
    });
    const g = model.tokenEmbedding.grad!.toArray();
    expect(Array.from(g.slice(9 * C, 10 * C)).some((v) => v !== 0)).toBe(true);
    model.dispose();
  });

  it('gradients match finite differences (tiny model)', () => {
    const model = new TransformerLM({ vocabSize: 5, context: 4, embed: 8, heads: 2, layers: 2, seed: 7 });
    // Larger weights than the 0.02 init so that every path carries a measurable signal.
    for (const p of model.parameters()) {
      if (p.rank !== 2) continue;
      const r = randomTensor(p.shape, p.size, -0.5, 0.5);
      p.storage.write(r.toArray() as Float32Array);
      r.dispose();
    }
    const ids = Tensor.fromArray(Int32Array.of(0, 3, 1, 4, 2, 2, 0, 1), [2, 4], 'int32');
    const targets = Tensor.fromArray(Int32Array.of(3, 1, 4, 2, 2, 0, 1, 3), [8], 'int32');
    const [, qkv] = model.namedParameters().find(([n]) => n === 'blocks.1.attn.qkv.weight')!;
    const [, fc] = model.namedParameters().find(([n]) => n === 'blocks.0.mlp.fc.weight')!;
    const [, ln] = model.namedParameters().find(([n]) => n === 'blocks.0.ln1.weight')!;
    const checked = [model.tokenEmbedding, model.positionEmbedding, qkv, fc, ln];
    for (const p of model.parameters()) p.requiresGrad = false;
    gradCheck(() => crossEntropy(model.forward(ids), targets), checked, { eps: 1e-2, maxChecks: 8, atol: 3e-3, rtol: 3e-2 });
    model.dispose();
  });

  it('rejects T > context and bad configurations with clear errors', () => {
    const model = new TransformerLM({ vocabSize: 5, context: 4, embed: 8, heads: 2, layers: 1 });
    expect(() => model.forward(randomIds([1, 5], 5, 1))).toThrow(/T = 5 exceeds the model's context \(4\)/);
    expect(() => model.forward(Tensor.zeros([1, 3]))).toThrow(/int32 ids of shape \[B,T\]/);
    expect(() => model.forward(Tensor.fromArray(Int32Array.of(1, 9), [1, 2], 'int32'))).toThrow(/out of range/);
    model.dispose();
    expect(() => new TransformerLM({ vocabSize: 5, context: 4, embed: 10, heads: 3, layers: 1 })).toThrow(
      /embed \(10\) must be divisible by heads \(3\)/,
    );
    expect(() => new TransformerLM({ vocabSize: 5, context: 0, embed: 8, heads: 2, layers: 1 })).toThrow(/context must be a positive integer/);
    expect(() => new TransformerLM({ vocabSize: 5, context: 4, embed: 8, heads: 2, layers: 1, dropout: 1 })).toThrow(/dropout/);
    expect(() => new MultiHeadAttention(6, 4)).toThrow(/divisible/);
  });

  it('dropout: training forwards differ, eval is deterministic, an explicit seed reproduces', () => {
    const model = new TransformerLM({ vocabSize: 7, context: 5, embed: 8, heads: 2, layers: 1, dropout: 0.5, seed: 3 });
    const ids = randomIds([2, 5], 7, 4);
    noGrad(() => {
      const a = model.forward(ids).toArray();
      const b = model.forward(ids).toArray();
      expect(Array.from(a)).not.toEqual(Array.from(b));
      expect(Array.from(model.forward(ids, { seed: 42 }).toArray())).toEqual(Array.from(model.forward(ids, { seed: 42 }).toArray()));
      model.eval();
      expect(Array.from(model.forward(ids).toArray())).toEqual(Array.from(model.forward(ids).toArray()));
    });
    model.dispose();
  });

  it('the nn modules compose (Block keeps the shape, LayerNormModule normalises)', () => {
    noGrad(() => {
      const x = randomTensor([2, 3, 8], 1);
      const blk = new Block(8, 2);
      expect(blk.forward(x).shape).toEqual([2, 3, 8]);
      expect(new MLP(8).forward(x).shape).toEqual([2, 3, 8]);
      const y = new LayerNormModule(8).forward(x).toArray();
      let m = 0;
      for (let i = 0; i < 8; i++) m += y[i]!;
      expect(Math.abs(m / 8)).toBeLessThan(1e-5);
      blk.train();
      const drop = new Block(8, 2, 0.3);
      expect(() => drop.forward(x)).toThrow(/needs a seed/);
      blk.dispose();
      drop.dispose();
    });
  });
});

describe('randomWindows', () => {
  it('samples shifted input/target windows reproducibly', () => {
    const ids = Int32Array.from({ length: 50 }, (_, i) => i);
    const b = randomWindows(ids, 4, 6, 11);
    expect(b.inputs.length).toBe(24);
    for (let r = 0; r < 4; r++) {
      const s = b.inputs[r * 6]!;
      expect(s).toBeLessThanOrEqual(50 - 7);
      for (let t = 0; t < 6; t++) {
        expect(b.inputs[r * 6 + t]).toBe(s + t);
        expect(b.targets[r * 6 + t]).toBe(s + t + 1);
      }
    }
    expect(randomWindows(ids, 4, 6, 11)).toEqual(b);
    expect(() => randomWindows(ids, 2, 50, 1)).toThrow(/needs at least 51 tokens/);
    const all = [...sequentialWindows(ids, 3, 7)];
    expect(all.reduce((s, w) => s + w.batchSize, 0)).toBe(7);
    expect(all[0]!.targets[0]).toBe(1);
  });
});
