// AWD-LSTM regularisation options of RecurrentLM: locked dropout, DropConnect on W_hh,
// embedding dropout, AR/TAR, lastHidden + tying; gradients of the full regularised model.
import { describe, expect, it } from 'vitest';

import { bpttBatches, type BpttBatch } from '../../lib/data/bptt.js';
import {
  RecurrentLM,
  activationPenalty,
  detachState,
  disposeState,
  evaluateRecurrent,
  lockedDropoutMask,
  recurrentLoss,
  type RecurrentConfig,
  type RecurrentState,
} from '../../lib/models/rnn.js';
import { AdamW } from '../../lib/optim/optimizer.js';
import { Tensor, memory, tidy } from '../../lib/index.js';
import { Trainer } from '../../lib/train/trainer.js';
import { gradCheck } from '../helpers.js';

const pattern = [1, 2, 3, 4, 5, 3, 2, 6, 7, 1, 5, 4];
const corpus = Int32Array.from({ length: 480 }, (_, i) => pattern[i % pattern.length]!);

const ids = (a: number[], B: number, T: number): Tensor => Tensor.fromArray(Int32Array.from(a), [B, T], 'int32');

describe('locked dropout', () => {
  it('one mask per sequence: constant across time steps, independent across batch rows', () => {
    const B = 4;
    const T = 6;
    const p = 0.5;
    const model = new RecurrentLM({ vocabSize: 8, cell: 'lstm', embed: 6, hidden: 32, layers: 1, dropoutOutput: p, seed: 4, initRange: 0.5 });
    tidy(() => {
      const x = ids(Array.from({ length: B * T }, (_, i) => (i * 5) % 8), B, T);
      const out = model.forward(x);
      const raw = out.output.toArray();
      const dropped = out.droppedOutput.toArray();
      const H = 32;
      const rowMasks: string[] = [];
      let zeros = 0;
      for (let b = 0; b < B; b++) {
        let mask = '';
        for (let c = 0; c < H; c++) {
          const kept: boolean[] = [];
          for (let t = 0; t < T; t++) {
            const i = (b * T + t) * H + c;
            expect(Math.abs(raw[i]!)).toBeGreaterThan(0);
            if (dropped[i] === 0) kept.push(false);
            else {
              expect(dropped[i]!).toBeCloseTo(raw[i]! / (1 - p), 5);
              kept.push(true);
            }
          }
          // The same decision at every step of the sequence.
          expect(new Set(kept).size).toBe(1);
          mask += kept[0] ? '1' : '0';
          if (!kept[0]) zeros++;
        }
        rowMasks.push(mask);
      }
      // Rows draw their own masks; about half of the (row, unit) pairs are dropped.
      expect(new Set(rowMasks).size).toBe(B);
      expect(zeros / (B * H)).toBeGreaterThan(0.3);
      expect(zeros / (B * H)).toBeLessThan(0.7);
      // A new mask on the next forward; none in eval mode.
      const again = model.forward(x).droppedOutput.toArray();
      expect(Array.from(again)).not.toEqual(Array.from(dropped));
      model.eval();
      const e = model.forward(x);
      expect(Array.from(e.droppedOutput.toArray())).toEqual(Array.from(e.output.toArray()));
    });
    model.dispose();
  });

  it('lockedDropoutMask: values 0 or 1/(1-p), mean about 1, reproducible from its seed', () => {
    tidy(() => {
      const m = lockedDropoutMask(50, 40, 0.25, 7).toArray();
      expect(lockedDropoutMask(50, 40, 0.25, 7).toArray()).toEqual(m);
      expect(lockedDropoutMask(50, 40, 0.25, 8).toArray()).not.toEqual(m);
      let s = 0;
      for (const v of m) {
        expect(v === 0 || Math.abs(v - 1 / 0.75) < 1e-6).toBe(true);
        s += v;
      }
      expect(s / m.length).toBeGreaterThan(0.93);
      expect(s / m.length).toBeLessThan(1.07);
    });
  });
});

describe('weight drop (DropConnect on W_hh)', () => {
  it('keeps the expected weight, zeroes about p of it, is the parameter itself in eval mode', () => {
    const p = 0.4;
    const model = new RecurrentLM({ vocabSize: 6, cell: 'lstm', embed: 4, hidden: 5, layers: 2, weightDrop: p, seed: 3, initRange: 0.5 });
    const w = model.layers[1]!.weightHh.toArray();
    const sum = new Float64Array(w.length);
    const draws = 4000;
    let zeros = 0;
    for (let k = 0; k < draws; k++) {
      tidy(() => {
        const d = model.hiddenWeight(1).toArray();
        for (let i = 0; i < d.length; i++) {
          if (d[i] === 0) zeros++;
          else expect(d[i]!).toBeCloseTo(w[i]! / (1 - p), 5);
          sum[i]! += d[i]!;
        }
      });
    }
    expect(zeros / (draws * w.length)).toBeCloseTo(p, 2);
    // Mean over draws vs W: the standard error of each element is |w| sqrt(p/(1-p)/draws) ~ 0.013 |w|.
    for (let i = 0; i < w.length; i++) expect(Math.abs(sum[i]! / draws - w[i]!)).toBeLessThan(0.06 * Math.abs(w[i]!) + 1e-6);
    model.eval();
    expect(model.hiddenWeight(1)).toBe(model.layers[1]!.weightHh);
    model.dispose();
  });

  it('one mask per forward: W_hh gradient is zero exactly where the mask dropped; eval is deterministic', () => {
    const model = new RecurrentLM({ vocabSize: 6, cell: 'rnn', embed: 4, hidden: 6, layers: 1, weightDrop: 0.5, seed: 11, initRange: 0.5 });
    const x = ids([1, 2, 3, 4, 5, 0, 2, 4], 2, 4);
    // The mask the next forward will draw: the same counter gives the same mask.
    const rng = model.rngState();
    const mask = tidy(() => model.hiddenWeight(0).toArray());
    model.setRngState(rng);
    tidy(() => {
      const out = model.forward(x);
      out.logits.backward(Tensor.ones(out.logits.shape));
    });
    const g = model.layers[0]!.weightHh.grad!.toArray();
    let dropped = 0;
    for (let i = 0; i < g.length; i++) {
      if (mask[i] === 0) {
        expect(g[i]).toBe(0);
        dropped++;
      } else expect(g[i]).not.toBe(0);
    }
    expect(dropped).toBeGreaterThan(5);
    for (const q of model.parameters()) {
      q.grad?.dispose();
      q.grad = null;
    }
    model.eval();
    const a = tidy(() => Array.from(model.forward(x).logits.toArray()));
    const b = tidy(() => Array.from(model.forward(x).logits.toArray()));
    expect(a).toEqual(b);
    model.train();
    const c = tidy(() => Array.from(model.forward(x).logits.toArray()));
    expect(c).not.toEqual(a);
    model.dispose();
  });
});

describe('embedding dropout', () => {
  it('drops whole words: every position of a word is zero or its row scaled by 1/(1-p)', () => {
    const V = 40;
    const p = 0.3;
    const model = new RecurrentLM({ vocabSize: V, cell: 'lstm', embed: 5, hidden: 5, layers: 1, embeddingDropout: p, seed: 2, initRange: 0.5 });
    const E = model.embeddingWeight.toArray();
    const B = 4;
    const T = 30;
    const words = Array.from({ length: B * T }, (_, i) => (i * 7 + Math.floor(i / 11)) % V);
    let droppedWords = 0;
    let draws = 0;
    for (let k = 0; k < 20; k++) {
      tidy(() => {
        const e = model.embedTokens(ids(words, B, T)).toArray();
        const fate = new Map<number, boolean>();
        words.forEach((w, pos) => {
          const row = Array.from(e.subarray(pos * 5, pos * 5 + 5));
          const kept = row.some((v) => v !== 0);
          if (kept) row.forEach((v, j) => expect(v).toBeCloseTo(E[w * 5 + j]! / (1 - p), 5));
          if (fate.has(w)) expect(fate.get(w)).toBe(kept);
          fate.set(w, kept);
        });
        draws += fate.size;
        droppedWords += [...fate.values()].filter((f) => !f).length;
      });
    }
    expect(droppedWords / draws).toBeGreaterThan(0.2);
    expect(droppedWords / draws).toBeLessThan(0.4);
    model.eval();
    tidy(() => {
      const e = model.embedTokens(ids(words, B, T)).toArray();
      words.forEach((w, pos) => expect(e[pos * 5 + 2]).toBeCloseTo(E[w * 5 + 2]!, 6));
    });
    model.dispose();
  });
});

describe('activation regularisation (AR / TAR)', () => {
  it('values: ar * mean(o^2) and tar * mean((h_t - h_{t-1})^2), training only', () => {
    const model = new RecurrentLM({ vocabSize: 6, cell: 'lstm', embed: 4, hidden: 3, layers: 1, seed: 5, initRange: 0.6 });
    const B = 2;
    const T = 4;
    tidy(() => {
      const out = model.forward(ids([1, 2, 3, 4, 5, 1, 0, 2], B, T));
      const h = out.output.toArray();
      let ar = 0;
      for (const v of h) ar += v * v;
      ar /= h.length;
      let tar = 0;
      for (let b = 0; b < B; b++) {
        for (let t = 1; t < T; t++) {
          for (let c = 0; c < 3; c++) tar += (h[(b * T + t) * 3 + c]! - h[(b * T + t - 1) * 3 + c]!) ** 2;
        }
      }
      tar /= B * (T - 1) * 3;
      expect(activationPenalty(out, B, T, { ar: 2 })!.item()).toBeCloseTo(2 * ar, 6);
      expect(activationPenalty(out, B, T, { tar: 1.5 })!.item()).toBeCloseTo(1.5 * tar, 6);
      expect(activationPenalty(out, B, T, { ar: 2, tar: 1.5 })!.item()).toBeCloseTo(2 * ar + 1.5 * tar, 6);
      expect(activationPenalty(out, B, T, {})).toBeNull();
      expect(() => activationPenalty(out, B, T, { ar: -1 })).toThrow(/ar/);
    });
    const batch: BpttBatch = { inputs: Int32Array.of(1, 2, 3, 4, 5, 1, 0, 2), targets: Int32Array.of(2, 3, 4, 5, 1, 0, 2, 3), T, batchSize: B };
    tidy(() => {
      const plain = recurrentLoss(model, batch);
      const reg = recurrentLoss(model, batch, null, { ar: 2, tar: 1 });
      expect(reg.loss.item()).toBeGreaterThan(plain.loss.item());
      expect(reg.nll.item()).toBeCloseTo(plain.loss.item(), 6);
      model.eval();
      const ev = recurrentLoss(model, batch, null, { ar: 2, tar: 1 });
      expect(ev.loss.item()).toBeCloseTo(plain.loss.item(), 6);
      model.train();
      for (const r of [plain, reg, ev]) disposeState(r.state);
    });
    model.dispose();
  });

  it('AR and TAR gradients match finite differences (with locked output dropout on)', () => {
    const model = new RecurrentLM({ vocabSize: 6, cell: 'lstm', embed: 3, hidden: 4, layers: 1, dropoutOutput: 0.3, seed: 8, initRange: 0.5 });
    const [layer] = model.layers;
    const x = [1, 2, 3, 4, 5, 0];
    const params = [layer!.weightIh, layer!.weightHh, layer!.bias, model.embeddingWeight];
    for (const pen of [{ ar: 2 }, { tar: 3 }]) {
      gradCheck(
        () => {
          model.setRngState({ dropoutCalls: 0 }); // the same masks at every evaluation
          return activationPenalty(model.forward(ids(x, 2, 3)), 2, 3, pen)!;
        },
        params,
        { eps: 1e-2, maxChecks: 8 },
      );
      for (const q of params) q.requiresGrad = true;
    }
    model.dispose();
  });
});

describe('lastHidden and tied weights', () => {
  it('a narrower last layer tied to the embeddings; state shapes per layer', () => {
    const model = new RecurrentLM({ vocabSize: 10, cell: 'lstm', embed: 4, hidden: 7, lastHidden: 4, layers: 3, tieWeights: true });
    expect(model.outputWeight).toBe(model.embeddingWeight);
    expect(model.layers.map((l) => l.hiddenSize)).toEqual([7, 7, 4]);
    expect(model.layers[2]!.weightIh.shape).toEqual([16, 7]);
    const s = model.initState(2);
    expect(s.h.map((t) => t.shape[1])).toEqual([7, 7, 4]);
    tidy(() => {
      const out = model.forward(ids([1, 2, 3, 4, 5, 6], 2, 3), s);
      expect(out.logits.shape).toEqual([6, 10]);
      expect(out.state.c!.map((t) => t.shape[1])).toEqual([7, 7, 4]);
    });
    disposeState(s);
    const wrong = { h: [0, 1, 2].map(() => Tensor.zeros([2, 7])), c: [0, 1, 2].map(() => Tensor.zeros([2, 7])) };
    expect(() => tidy(() => model.forward(ids([1, 2, 3, 4, 5, 6], 2, 3), wrong))).toThrow(/\[2,7\], \[2,7\], \[2,4\]/);
    disposeState(wrong);
    model.dispose();
  });

  it('rejects bad regularisation settings with clear messages', () => {
    const base: RecurrentConfig = { vocabSize: 10, cell: 'lstm', embed: 6, hidden: 6, layers: 2 };
    for (const k of ['weightDrop', 'dropoutInput', 'dropoutHidden', 'dropoutOutput', 'embeddingDropout'] as const) {
      expect(() => new RecurrentLM({ ...base, [k]: 1 })).toThrow(new RegExp(`${k} must be in \\[0, 1\\)`));
      expect(() => new RecurrentLM({ ...base, [k]: -0.1 })).toThrow(new RegExp(k));
    }
    expect(() => new RecurrentLM({ ...base, dropout: 0.2, dropoutOutput: 0.2 })).toThrow(/alternatives/);
    expect(() => new RecurrentLM({ ...base, hidden: 8, tieWeights: true })).toThrow(/lastHidden = embed/);
    expect(() => new RecurrentLM({ ...base, lastHidden: 5, tieWeights: true })).toThrow(/embed == lastHidden/);
    expect(() => new RecurrentLM({ ...base, layers: 1, lastHidden: 5 })).toThrow(/1 layer/);
    expect(() => new RecurrentLM({ ...base, lastHidden: 0 })).toThrow(/lastHidden/);
  });
});

describe('the full regularised LSTM (AWD-LSTM options together)', () => {
  const awd: RecurrentConfig = {
    vocabSize: 7,
    cell: 'lstm',
    embed: 3,
    hidden: 5,
    lastHidden: 3,
    layers: 2,
    tieWeights: true,
    weightDrop: 0.5,
    dropoutInput: 0.3,
    dropoutHidden: 0.2,
    dropoutOutput: 0.3,
    embeddingDropout: 0.2,
    seed: 6,
    initRange: 0.5,
  };

  it('loss gradients (NLL + AR + TAR) match finite differences', () => {
    const model = new RecurrentLM(awd);
    const batch: BpttBatch = { inputs: Int32Array.of(1, 2, 3, 4, 5, 6, 0, 2), targets: Int32Array.of(2, 3, 4, 5, 6, 0, 2, 1), T: 4, batchSize: 2 };
    const init = tidy(() => {
      model.eval();
      const s = detachState(recurrentLoss(model, batch, null).state);
      model.train();
      return s;
    });
    const params = model.parameters();
    gradCheck(
      () => {
        model.setRngState({ dropoutCalls: 0 });
        return recurrentLoss(model, batch, init, { reduction: 'sum', ar: 2, tar: 1 }).loss;
      },
      params,
      { eps: 1e-2, maxChecks: 6 },
    );
    disposeState(init);
    model.dispose();
  });

  it('trains on a tiny corpus (perplexity falls well below the uniform 7), no tensors leak', async () => {
    const model = new RecurrentLM({ ...awd, vocabSize: 8, embed: 16, hidden: 24, lastHidden: 16, weightDrop: 0.2, dropoutInput: 0.1, dropoutHidden: 0.1, dropoutOutput: 0.1, embeddingDropout: 0.05, initRange: 0.1 });
    const opt = new AdamW(model.parameters(), { lr: 2e-2, weightDecay: 0 });
    let state: RecurrentState | null = null;
    const trainer = new Trainer(model, opt, (b: BpttBatch) => {
      const r = recurrentLoss(model, b, state, { ar: 2, tar: 1 });
      disposeState(state);
      state = r.state;
      return r;
    });
    const before = evaluateRecurrent(model, corpus, 4, 12);
    await trainer.fit({
      batches: (epoch) => {
        disposeState(state);
        state = null;
        return bpttBatches(corpus, 4, 12, { seed: 3, epoch });
      },
      steps: 150,
    });
    disposeState(state);
    state = null;
    const after = evaluateRecurrent(model, corpus, 4, 12);
    expect(before.ppl).toBeGreaterThan(6);
    expect(after.ppl).toBeLessThan(2);
    // Training steps with every option on leave no tensor behind.
    const [b] = [...bpttBatches(corpus, 4, 12)];
    const storages = memory().storages;
    for (let i = 0; i < 3; i++) {
      trainer.trainStep(b!);
      disposeState(state);
      state = null;
    }
    expect(memory().storages).toBe(storages);
    model.dispose();
    opt.dispose();
  });
});
