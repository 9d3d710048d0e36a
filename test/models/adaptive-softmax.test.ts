// Adaptive softmax (lib/nn/adaptive-softmax.ts) and RecurrentLM's adaptiveCutoffs: a proper
// distribution (every row's probabilities sum to 1); the NLL is exactly -log p(target) from the
// full log-probabilities, in value and gradient; gradients match finite differences; a one-
// cluster model written out by hand agrees; the LSTM trains with it, tied, and its loss does not
// read the full logits; bad cutoffs are errors; nothing leaks.
import { describe, expect, it } from 'vitest';

import { adaptiveLogProbs, adaptiveNll, checkCutoffs, type AdaptiveSoftmaxParts } from '../../lib/nn/adaptive-softmax.js';
import { RecurrentLM, disposeState, evaluateRecurrent, recurrentLoss, type RecurrentState } from '../../lib/models/rnn.js';
import { bpttBatches, type BpttBatch } from '../../lib/data/bptt.js';
import { noGrad } from '../../lib/autograd.js';
import { crossEntropy } from '../../lib/ops/crossentropy.js';
import { AdamW } from '../../lib/optim/optimizer.js';
import { Trainer } from '../../lib/train/trainer.js';
import { Tensor, memory, tidy } from '../../lib/index.js';
import { expectClose, gradCheck, randomTensor } from '../helpers.js';

const V = 13;
const H = 5;
const N = 9;
const parts = (cutoffs: number[], seed = 1): AdaptiveSoftmaxParts => ({
  weight: randomTensor([V, H], seed),
  bias: randomTensor([V], seed + 1),
  clusterWeight: randomTensor([cutoffs.length, H], seed + 2),
  clusterBias: randomTensor([cutoffs.length], seed + 3),
  cutoffs,
});
// Targets in the head and in every cluster of cutoffs [4, 9].
const targets = Int32Array.from([0, 3, 4, 8, 9, 12, 2, 5, 11]);
const dispose = (p: AdaptiveSoftmaxParts) => [p.weight, p.bias, p.clusterWeight, p.clusterBias].forEach((t) => t.dispose());

describe('adaptive softmax', () => {
  it('is a distribution: every row of the full log-probabilities logsumexps to 0', () => {
    for (const cutoffs of [[4], [4, 9], [1, 2, 12]]) {
      const p = parts(cutoffs);
      const x = randomTensor([N, H], 7);
      const lp = tidy(() => adaptiveLogProbs(p, x).toArray() as Float32Array);
      expect(lp.length).toBe(N * V);
      for (let i = 0; i < N; i++) {
        let s = 0;
        for (let w = 0; w < V; w++) s += Math.exp(lp[i * V + w]!);
        expect(s, `cutoffs ${cutoffs} row ${i}`).toBeCloseTo(1, 5);
      }
      dispose(p);
      x.dispose();
    }
  });

  it('one cluster written out by hand: head softmax over [words < c, cluster], then within the cluster', () => {
    const p = parts([4]);
    const x = randomTensor([N, H], 8);
    const [W, b, C, d, X] = [p.weight, p.bias, p.clusterWeight, p.clusterBias, x].map((t) => t.toArray() as Float32Array);
    const dot = (i: number, row: Float32Array, r: number) => {
      let s = 0;
      for (let k = 0; k < H; k++) s += X![i * H + k]! * row[r * H + k]!;
      return s;
    };
    const lp = tidy(() => adaptiveLogProbs(p, x).toArray() as Float32Array);
    for (let i = 0; i < N; i++) {
      const head = [0, 1, 2, 3].map((w) => dot(i, W!, w) + b![w]!).concat([dot(i, C!, 0) + d![0]!]);
      const zh = Math.log(head.reduce((s, v) => s + Math.exp(v), 0));
      const tail = [4, 5, 6, 7, 8, 9, 10, 11, 12].map((w) => dot(i, W!, w) + b![w]!);
      const zt = Math.log(tail.reduce((s, v) => s + Math.exp(v), 0));
      for (let w = 0; w < V; w++) {
        const want = w < 4 ? head[w]! - zh : head[4]! - zh + tail[w - 4]! - zt;
        expect(lp[i * V + w]).toBeCloseTo(want, 4);
      }
    }
    dispose(p);
    x.dispose();
  });

  it('its NLL is -log p(target) of the full log-probabilities, in value and gradient (sum and mean)', () => {
    const p = parts([4, 9]);
    const x = randomTensor([N, H], 9);
    for (const reduction of ['sum', 'mean'] as const) {
      const grads = (useFull: boolean) => {
        const leaves = [x, p.weight, p.bias, p.clusterWeight, p.clusterBias];
        for (const t of leaves) {
          t.grad?.dispose();
          t.grad = null;
          t.requiresGrad = true;
        }
        const v = tidy(() => {
          const loss = useFull
            ? crossEntropy(adaptiveLogProbs(p, x), Tensor.fromArray(targets, [N], 'int32'), { reduction })
            : adaptiveNll(p, x, targets, reduction);
          loss.backward();
          return loss.item();
        });
        return { v, g: leaves.map((t) => Array.from(t.grad!.toArray())) };
      };
      const a = grads(false);
      const f = grads(true);
      expect(a.v).toBeCloseTo(f.v, 4);
      a.g.forEach((g, k) => expectClose(g, f.g[k]!, { atol: 1e-5, what: `${reduction} gradient ${k}` }));
    }
    dispose(p);
    x.dispose();
  });

  it('gradients match finite differences', () => {
    const p = parts([3, 7], 11);
    const x = randomTensor([N, H], 12);
    gradCheck((xx, w, b, c, d) => adaptiveNll({ weight: w!, bias: b!, clusterWeight: c!, clusterBias: d!, cutoffs: [3, 7] }, xx!, targets, 'sum'), [x, p.weight, p.bias, p.clusterWeight, p.clusterBias], { eps: 1e-2 });
    dispose(p);
    x.dispose();
  });

  it('bad cutoffs and targets are errors', () => {
    expect(() => checkCutoffs([], V)).toThrow(/at least one cutoff/);
    for (const c of [[0], [5, 5], [6, 3], [13], [2.5]]) expect(() => checkCutoffs(c, V), String(c)).toThrow(/increasing integers between 1 and the vocabulary size - 1 \(12\)/);
    const p = parts([4]);
    const x = randomTensor([2, H], 1);
    expect(() => adaptiveNll(p, x, Int32Array.from([0, 13]))).toThrow(/target 13 is outside the vocabulary/);
    expect(() => adaptiveNll(p, x, Int32Array.from([0]))).toThrow(/1 targets for 2 rows/);
    expect(() => new RecurrentLM({ vocabSize: V, cell: 'lstm', embed: 4, hidden: 4, layers: 1, adaptiveCutoffs: [20] })).toThrow(/RecurrentLM: adaptiveCutoffs: cutoffs must be increasing/);
    dispose(p);
    x.dispose();
  });
});

describe('RecurrentLM with adaptiveCutoffs', () => {
  const text = Int32Array.from({ length: 1201 }, (_, i) => ([0, 1, 2, 0, 3, 1, 4, 8, 0, 2, 12, 5][i % 12]! + ((i * 7) % 13 === 0 ? 1 : 0)) % V);
  const make = (cutoffs?: number[]) => new RecurrentLM({ vocabSize: V, cell: 'lstm', embed: 6, hidden: 6, layers: 2, tieWeights: true, seed: 3, ...(cutoffs ? { adaptiveCutoffs: cutoffs } : {}) });

  it('tied to the embeddings, K cluster vectors more; the loss equals the cross-entropy of the full log-probabilities', () => {
    const plain = make();
    const m = make([4, 9]);
    const count = (mm: RecurrentLM) => mm.parameters().reduce((s, p) => s + p.size, 0);
    expect(count(m) - count(plain)).toBe(2 * 6 + 2);
    expect(m.outputWeight).toBe(m.embeddingWeight);
    const b: BpttBatch = { batchSize: 2, T: 5, inputs: text.slice(0, 10), targets: text.slice(1, 11) };
    const [nll, full] = tidy(() => {
      const r = recurrentLoss(m, b, null);
      const out = m.forward(Tensor.fromArray(b.inputs, [2, 5], 'int32'));
      const f = crossEntropy(out.logits, Tensor.fromArray(b.targets, [10], 'int32')).item();
      disposeState(r.state);
      return [r.nll.item(), f];
    });
    expect(nll).toBeCloseTo(full, 5);
    plain.dispose();
    m.dispose();
  });

  it('trains (the validation perplexity falls well below uniform), and leaks nothing', async () => {
    const m = make([4, 9]);
    const before = evaluateRecurrent(m, text, 2, 10).ppl;
    const opt = new AdamW(m.parameters(), { lr: 2e-2, weightDecay: 0 });
    let state: RecurrentState | null = null;
    const trainer = new Trainer(m, opt, (batch: BpttBatch) => {
      const r = recurrentLoss(m, batch, state);
      disposeState(state);
      state = r.state;
      return r;
    });
    await trainer.fit({ batches: () => bpttBatches(text, 4, 10), steps: 120 });
    disposeState(state);
    const after = evaluateRecurrent(m, text, 2, 10).ppl;
    expect(before).toBeGreaterThan(8);
    expect(after).toBeLessThan(3);
    opt.dispose();
    // One step's forward, loss, backward and the full log-probabilities: nothing left but the gradients.
    const live = memory().tensors;
    tidy(() => {
      const r = recurrentLoss(m, { batchSize: 2, T: 5, inputs: text.slice(0, 10), targets: text.slice(1, 11) }, null);
      r.loss.backward();
      disposeState(r.state);
      noGrad(() => m.forward(Tensor.fromArray(text.slice(0, 10), [2, 5], 'int32')).logits.toArray());
    });
    for (const p of m.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
    expect(memory().tensors).toBe(live);
    m.dispose();
  });
});
