import { describe, expect, it } from 'vitest';

import { bpttBatches, numBpttBatches, type BpttBatch } from '../../lib/data/bptt.js';
import {
  RecurrentLM,
  clipGradNorm,
  detachState,
  disposeState,
  evaluateRecurrent,
  recurrentLoss,
  type RecurrentCell,
  type RecurrentState,
} from '../../lib/models/rnn.js';
import { AdamW } from '../../lib/optim/optimizer.js';
import { Tensor, memory, tidy } from '../../lib/index.js';
import { Trainer } from '../../lib/train/trainer.js';
import { gradCheck } from '../helpers.js';

const pattern = [1, 2, 3, 4, 5, 3, 2, 6, 7, 1, 5, 4];
const corpus = Int32Array.from({ length: 480 }, (_, i) => pattern[i % pattern.length]!);

describe('bpttBatches', () => {
  it('lays out batchSize contiguous streams and shifts targets by one', () => {
    const ids = Int32Array.from({ length: 23 }, (_, i) => i);
    // 2 streams of 11 tokens (22 is dropped): [0..10], [11..21]; windows of 4: T = 4, 4, 2.
    const batches = [...bpttBatches(ids, 2, 4)];
    expect(batches.map((b) => b.T)).toEqual([4, 4, 2]);
    expect(numBpttBatches(ids, 2, 4)).toBe(3);
    expect(Array.from(batches[0]!.inputs)).toEqual([0, 1, 2, 3, 11, 12, 13, 14]);
    expect(Array.from(batches[0]!.targets)).toEqual([1, 2, 3, 4, 12, 13, 14, 15]);
    expect(Array.from(batches[1]!.inputs)).toEqual([4, 5, 6, 7, 15, 16, 17, 18]);
    expect(Array.from(batches[2]!.inputs)).toEqual([8, 9, 19, 20]);
    expect(Array.from(batches[2]!.targets)).toEqual([9, 10, 20, 21]);
    expect(batches.every((b) => b.batchSize === 2)).toBe(true);
    expect([...bpttBatches(Int32Array.of(1, 2, 3), 2, 4)]).toEqual([]);
    expect(() => [...bpttBatches(ids, 0, 4)]).toThrow(/batchSize/);
    expect(() => [...bpttBatches(ids, 2, 0)]).toThrow(/seqLen/);
  });
});

describe('RecurrentLM', () => {
  for (const cell of ['rnn', 'lstm'] as RecurrentCell[]) {
    it(`${cell}: overfits a tiny repetitive corpus (perplexity close to 1)`, async () => {
      const model = new RecurrentLM({ vocabSize: 8, cell, embed: 16, hidden: 24, layers: 2, dropout: 0.1, seed: 5, initRange: 0.1 });
      const opt = new AdamW(model.parameters(), { lr: 2e-2, weightDecay: 0 });
      let state: RecurrentState | null = null;
      const trainer = new Trainer(model, opt, (b: BpttBatch) => {
        const r = recurrentLoss(model, b, state);
        disposeState(state);
        state = r.state;
        return r;
      });
      const before = evaluateRecurrent(model, corpus, 4, 12);
      const losses: number[] = [];
      await trainer.fit({
        batches: (epoch) => {
          if (epoch > 0) {
            disposeState(state);
            state = null;
          }
          return bpttBatches(corpus, 4, 12);
        },
        steps: 200,
        onStep: (s) => losses.push(s.loss),
      });
      disposeState(state);
      const after = evaluateRecurrent(model, corpus, 4, 12);
      expect(before.ppl).toBeGreaterThan(6);
      expect(after.ppl).toBeLessThan(1.3);
      expect(after.tokens).toBe(4 * 119);
      expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! / 5);
      expect(model.training).toBe(true);
      model.dispose();
      opt.dispose();
    });
  }

  for (const cell of ['rnn', 'lstm'] as RecurrentCell[]) {
    it(`${cell}: loss gradients match finite differences`, () => {
      const model = new RecurrentLM({ vocabSize: 6, cell, embed: 3, hidden: 4, layers: 1, seed: 2, initRange: 0.5 });
      const batch: BpttBatch = { inputs: Int32Array.of(1, 2, 3, 4, 5, 0), targets: Int32Array.of(2, 3, 4, 5, 0, 1), T: 3, batchSize: 2 };
      // A nonzero incoming state, so that W_hh matters from the first step.
      const init = tidy(() => detachState(recurrentLoss(model, { ...batch, targets: batch.inputs }, null).state));
      const [layer] = model.layers;
      const params = [layer!.weightIh, layer!.weightHh, layer!.bias, model.embeddingWeight, model.outputWeight, model.outputBias];
      gradCheck(() => recurrentLoss(model, batch, init, { reduction: 'sum' }).loss, params, { eps: 1e-2, maxChecks: 8 });
      disposeState(init);
      model.dispose();
    });
  }

  it('carried state changes the loss; the carried state is detached', () => {
    const model = new RecurrentLM({ vocabSize: 8, cell: 'lstm', embed: 8, hidden: 8, layers: 2, seed: 3, initRange: 0.3 });
    const [b0, b1] = [...bpttBatches(corpus, 2, 5)];
    tidy(() => {
      const first = recurrentLoss(model, b0!, null);
      for (const t of [...first.state.h, ...first.state.c!]) {
        expect(t._node).toBeNull();
        expect(t.shape).toEqual([2, 8]);
      }
      const carried = recurrentLoss(model, b1!, first.state);
      const reset = recurrentLoss(model, b1!, null);
      expect(Math.abs(carried.loss.item() - reset.loss.item())).toBeGreaterThan(1e-5);
      // Backward through the carried window only reaches this window's graph.
      carried.loss.backward();
      expect(model.embeddingWeight.grad).not.toBeNull();
      for (const s of [first.state, carried.state, reset.state]) disposeState(s);
    });
    // Wrong batch size for the state.
    const s = model.initState(3);
    expect(() => tidy(() => recurrentLoss(model, b1!, s))).toThrow(/state/);
    disposeState(s);
    model.dispose();
  });

  it('ties the output projection to the embedding matrix', () => {
    const model = new RecurrentLM({ vocabSize: 10, cell: 'rnn', embed: 6, hidden: 6, layers: 1, tieWeights: true });
    expect(model.outputWeight).toBe(model.embeddingWeight);
    const names = model.namedParameters().map(([n]) => n);
    expect(names).not.toContain('outputWeight');
    expect(new Set(model.parameters()).size).toBe(model.parameters().length);
    const untied = new RecurrentLM({ vocabSize: 10, cell: 'rnn', embed: 6, hidden: 6, layers: 1 });
    expect(untied.numParameters() - model.numParameters()).toBe(60);
    tidy(() => {
      const { logits } = model.forward(Tensor.fromArray(Int32Array.of(1, 2, 3, 4, 5, 6), [2, 3], 'int32'));
      expect(logits.shape).toEqual([6, 10]);
    });
    model.dispose();
    untied.dispose();
  });

  it('rejects bad configurations and inputs', () => {
    const base = { vocabSize: 10, cell: 'lstm' as const, embed: 6, hidden: 6, layers: 1 };
    expect(() => new RecurrentLM({ ...base, embed: 4, tieWeights: true })).toThrow(/tieWeights/);
    expect(() => new RecurrentLM({ ...base, layers: 0 })).toThrow(/layers/);
    expect(() => new RecurrentLM({ ...base, dropout: 1 })).toThrow(/dropout/);
    expect(() => new RecurrentLM({ ...base, cell: 'gru' as unknown as RecurrentCell })).toThrow(/cell/);
    const m = new RecurrentLM(base);
    expect(() => m.forward(Tensor.fromArray(Int32Array.of(1, 2), [2], 'int32'))).toThrow(/\[B,T\]/);
    expect(() => tidy(() => m.forward(Tensor.fromArray(Int32Array.of(1, 99), [1, 2], 'int32')))).toThrow(/out of range/);
    m.dispose();
  });

  it('dropout is reproducible from the seed and off in eval mode; no tensors leak', () => {
    const make = () => new RecurrentLM({ vocabSize: 8, cell: 'rnn', embed: 8, hidden: 8, layers: 2, dropout: 0.5, seed: 9 });
    const [b] = [...bpttBatches(corpus, 2, 6)];
    const a = make();
    const c = make();
    const la = tidy(() => [recurrentLoss(a, b!).loss.item(), recurrentLoss(a, b!).loss.item()]);
    const lc = tidy(() => [recurrentLoss(c, b!).loss.item(), recurrentLoss(c, b!).loss.item()]);
    expect(la).toEqual(lc);
    expect(la[0]).not.toBe(la[1]);
    a.eval();
    const e = tidy(() => [recurrentLoss(a, b!).loss.item(), recurrentLoss(a, b!).loss.item()]);
    expect(e[0]).toBe(e[1]);
    const before = memory().storages;
    a.train();
    for (let i = 0; i < 3; i++) {
      tidy(() => {
        const r = recurrentLoss(a, b!);
        r.loss.backward();
        disposeState(r.state);
      });
      clipGradNorm(a.parameters(), 0.1);
      for (const p of a.parameters()) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
    expect(memory().storages).toBe(before);
    a.dispose();
    c.dispose();
  });

  it('clipGradNorm scales gradients to the maximum norm', () => {
    const p = Tensor.fromArray([1, 2], [2]).requireGrad();
    const q = Tensor.fromArray([0], [1]).requireGrad();
    p.grad = Tensor.fromArray([3, 0], [2]);
    q.grad = Tensor.fromArray([4], [1]);
    expect(clipGradNorm([p, q], 1)).toBeCloseTo(5, 5);
    expect(Array.from(p.grad.toArray())[0]).toBeCloseTo(0.6, 5);
    expect(Array.from(q.grad.toArray())[0]).toBeCloseTo(0.8, 5);
    expect(clipGradNorm([p, q], 10)).toBeCloseTo(1, 4);
  });
});
