import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generate, generateAll, makeDecoder, type GenerativeModel } from '../../lib/generate/generate.js';
import { argmax, sampleToken, samplingDistribution, topKIndices } from '../../lib/generate/sampling.js';
import { randomWindows } from '../../lib/data/windows.js';
import { FeedForwardLM } from '../../lib/models/ffnn.js';
import { RecurrentLM } from '../../lib/models/rnn.js';
import { TransformerLM } from '../../lib/models/transformer.js';
import { AdamW } from '../../lib/optim/optimizer.js';
import { Tensor, crossEntropy, makeRng, memory, noGrad, tidy } from '../../lib/index.js';
import { expectClose, randomArray } from '../helpers.js';

// ---- sampling ---------------------------------------------------------------------------------

describe('sampling', () => {
  const logits = randomArray(50, 3, -3, 3);
  const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);

  it('greedy (temperature 0) picks the argmax, ignoring the rng; ties go to the lowest id', () => {
    expect(argmax(logits)).toBe(order[0]);
    for (let s = 0; s < 20; s++) expect(sampleToken(logits, { temperature: 0, topK: 5, topP: 0.5 }, makeRng(s))).toBe(order[0]);
    expect(argmax(Float32Array.of(1, 3, 3, -1))).toBe(1);
    expect(argmax(Float32Array.of(-Infinity, -Infinity))).toBe(0);
  });

  it('topKIndices matches a full sort (ties by id)', () => {
    expect(Array.from(topKIndices(logits, 7))).toEqual(order.slice(0, 7));
    expect(Array.from(topKIndices(Float32Array.of(1, 2, 2, 0, 2), 2))).toEqual([1, 2]);
    expect(Array.from(topKIndices(logits, 100))).toEqual(order);
  });

  it('top-k never samples outside the k best, and reaches all of them', () => {
    const rng = makeRng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 3000; i++) seen.add(sampleToken(logits, { temperature: 5, topK: 5 }, rng));
    expect([...seen].sort((a, b) => a - b)).toEqual(order.slice(0, 5).sort((a, b) => a - b));
  });

  it('top-p never samples outside the nucleus; the nucleus is renormalised', () => {
    const p = [0.05, 0.5, 0.1, 0.3, 0.05];
    const l = Float32Array.from(p, Math.log);
    const d = samplingDistribution(l, { topP: 0.75 });
    expect(Array.from(d.ids)).toEqual([1, 3]);
    expectClose(Float32Array.from(d.probs), [0.625, 0.375], { atol: 1e-6 });
    expect(Array.from(samplingDistribution(l, { topP: 0.85 }).ids)).toEqual([1, 3, 2]);
    expect(Array.from(samplingDistribution(l, { topP: 0.1 }).ids)).toEqual([1]);
    const rng = makeRng(1);
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[sampleToken(l, { topP: 0.75 }, rng)]!++;
    expect(counts[0]! + counts[2]! + counts[4]!).toBe(0);
    expect(Math.abs(counts[1]! / 4000 - 0.625)).toBeLessThan(0.03);
  });

  it('samples follow softmax(logits / temperature)', () => {
    const l = Float32Array.of(0, 1, 2);
    const t = 2;
    const e = [0, 0.5, 1].map(Math.exp);
    const z = e.reduce((a, b) => a + b, 0);
    const rng = makeRng(11);
    const counts = [0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sampleToken(l, { temperature: t }, rng)]!++;
    counts.forEach((c, i) => expect(Math.abs(c / n - e[i]! / z)).toBeLessThan(0.015));
  });

  it('is reproducible with a seed; a different seed gives a different sequence', () => {
    const draw = (seed: number) => {
      const rng = makeRng(seed);
      return Array.from({ length: 40 }, () => sampleToken(logits, { temperature: 1.5, topK: 20, topP: 0.95 }, rng));
    };
    expect(draw(5)).toEqual(draw(5));
    expect(draw(5)).not.toEqual(draw(6));
  });

  it('temperature -> 0 equals greedy', () => {
    for (let s = 0; s < 20; s++) expect(sampleToken(logits, { temperature: 1e-4 }, makeRng(s))).toBe(order[0]);
  });

  it('rejects bad options', () => {
    expect(() => sampleToken(logits, { temperature: -1 }, makeRng(1))).toThrow(/temperature/);
    expect(() => sampleToken(logits, { topK: 1.5 }, makeRng(1))).toThrow(/topK/);
    expect(() => sampleToken(logits, { topP: 0 }, makeRng(1))).toThrow(/topP/);
    expect(() => sampleToken(new Float32Array(0), {}, makeRng(1))).toThrow(/empty/);
  });
});

// ---- generation -------------------------------------------------------------------------------

const pattern = [1, 2, 3, 4, 5, 3, 2, 6, 7, 1, 5, 4];
const corpus = Int32Array.from({ length: 480 }, (_, i) => pattern[i % pattern.length]!);
/** The pattern's continuation after its first `start` tokens. */
const continuation = (start: number, n: number) => Array.from({ length: n }, (_, i) => pattern[(start + i) % pattern.length]!);

function logitsOf(model: GenerativeModel, ids: Tensor): Tensor {
  if (model instanceof RecurrentLM) return model.forward(ids).logits;
  return model.forward(ids);
}

/** A few hundred tiny AdamW steps on the repetitive corpus (windows of T tokens). */
function train(model: GenerativeModel, steps: number, T: number, lr: number): void {
  const opt = new AdamW(model.parameters(), { lr, weightDecay: 0 });
  for (let s = 0; s < steps; s++) {
    tidy(() => {
      const b = randomWindows(corpus, 8, T, s);
      let ids = Tensor.fromArray(b.inputs, [8, T], 'int32');
      let targets = Tensor.fromArray(b.targets, [8 * T], 'int32');
      if (model instanceof FeedForwardLM) {
        // Predict the last target of each window from its last `context` inputs.
        const c = model.config.context;
        const rows = Int32Array.from({ length: 8 * c }, (_, i) => b.inputs[Math.floor(i / c) * T + T - c + (i % c)]!);
        ids = Tensor.fromArray(rows, [8, c], 'int32');
        targets = Tensor.fromArray(Int32Array.from({ length: 8 }, (_, r) => b.targets[r * T + T - 1]!), [8], 'int32');
      }
      const loss = crossEntropy(logitsOf(model, ids), targets);
      opt.zeroGrad();
      loss.backward();
      opt.step();
    });
  }
  opt.zeroGrad();
  opt.dispose();
  model.eval();
}

describe('generate', () => {
  let transformer: TransformerLM;
  let lstm: RecurrentLM;
  let ffnn: FeedForwardLM;

  beforeAll(() => {
    transformer = new TransformerLM({ vocabSize: 8, context: 8, embed: 16, heads: 2, layers: 1, seed: 3 });
    train(transformer, 150, 8, 1e-2);
    lstm = new RecurrentLM({ vocabSize: 8, cell: 'lstm', embed: 12, hidden: 16, layers: 1, seed: 4, initRange: 0.1 });
    train(lstm, 150, 8, 2e-2);
    ffnn = new FeedForwardLM({ vocabSize: 8, context: 2, embed: 8, hidden: 16, direct: false, seed: 2 });
    train(ffnn, 300, 4, 2e-2);
  }, 30_000);

  afterAll(() => {
    for (const m of [transformer, lstm, ffnn]) m.dispose();
  });

  it('trained models continue the pattern greedily (the transformer past its context)', async () => {
    const prompt = Int32Array.from(pattern.slice(0, 3));
    for (const model of [transformer, lstm, ffnn]) {
      const out = await generateAll(model, prompt, { maxTokens: 20, temperature: 0 });
      expect(Array.from(out), model.constructor.name).toEqual(continuation(3, 20));
    }
    expect(transformer.training).toBe(false);
  });

  it('restores the training mode of the model', async () => {
    lstm.train();
    await generateAll(lstm, Int32Array.of(1, 2), { maxTokens: 2 });
    expect(lstm.training).toBe(true);
    lstm.eval();
  });

  it('transformer: KV-cache logits equal a full forward over the sequence at every step', () => {
    for (const [model, fresh] of [
      [transformer, false],
      [new TransformerLM({ vocabSize: 11, context: 12, embed: 16, heads: 4, layers: 2, seed: 9 }).eval(), true],
    ] as [TransformerLM, boolean][]) {
      const V = model.config.vocabSize;
      const seq = Array.from({ length: model.config.context }, (_, i) => (i * 5 + 1) % V);
      const dec = makeDecoder(model);
      let got = dec.prime(Int32Array.from(seq.slice(0, 3)));
      for (let t = 3; t <= seq.length; t++) {
        const want = noGrad(() =>
          tidy(() => {
            const l = model.forward(Tensor.fromArray(Int32Array.from(seq.slice(0, t)), [1, t], 'int32'));
            return l.storage.read((t - 1) * V, V) as Float32Array;
          }),
        );
        expectClose(got, want, { atol: 1e-5, rtol: 1e-4, what: `step ${t}` });
        if (t < seq.length) got = dec.step(seq[t]!);
      }
      dec.dispose();
      if (fresh) model.dispose();
    }
  });

  it('transformer: cached and recomputed generation give the same tokens (greedy and sampled, within the context)', async () => {
    const prompt = Int32Array.of(4, 5, 3);
    for (const opts of [{ temperature: 0 }, { temperature: 1.5, topK: 6, seed: 3 }, { temperature: 2, topP: 0.9, seed: 8 }]) {
      const a = await generateAll(transformer, prompt, { maxTokens: 5, ...opts });
      const b = await generateAll(transformer, prompt, { maxTokens: 5, ...opts, kvCache: false });
      expect(Array.from(a)).toEqual(Array.from(b));
    }
  });

  it('recurrent: step-by-step logits equal a full forward from the zero state (rnn and lstm)', () => {
    const rnn = new RecurrentLM({ vocabSize: 9, cell: 'rnn', embed: 6, hidden: 10, layers: 2, seed: 6, initRange: 0.5 }).eval();
    for (const model of [rnn, lstm]) {
      const V = model.config.vocabSize;
      const seq = Array.from({ length: 14 }, (_, i) => (i * 3 + 2) % V);
      const dec = makeDecoder(model);
      let got = dec.prime(Int32Array.from(seq.slice(0, 4)));
      for (let t = 4; t <= seq.length; t++) {
        const want = noGrad(() =>
          tidy(() => {
            const l = model.forward(Tensor.fromArray(Int32Array.from(seq.slice(0, t)), [1, t], 'int32')).logits;
            return l.storage.read((t - 1) * V, V) as Float32Array;
          }),
        );
        expectClose(got, want, { atol: 1e-5, rtol: 1e-4, what: `step ${t}` });
        if (t < seq.length) got = dec.step(seq[t]!);
      }
      dec.dispose();
    }
    rnn.dispose();
  });

  it('feed-forward: a short prompt is padded on the left with id 0', () => {
    const dec = makeDecoder(ffnn);
    const got = dec.prime(Int32Array.of(5));
    const want = noGrad(() => tidy(() => ffnn.forward(Tensor.fromArray(Int32Array.of(0, 5), [1, 2], 'int32')).toArray()));
    expectClose(got, want, { atol: 0, rtol: 0 });
    dec.dispose();
  });

  it('streams tokens one at a time, yielding to the event loop between them', async () => {
    const it = generate(lstm, Int32Array.of(1, 2), { maxTokens: 3, temperature: 0 })[Symbol.asyncIterator]();
    const got: number[] = [];
    for (let i = 0; i < 3; i++) {
      let fired = false;
      setImmediate(() => (fired = true));
      const r = await it.next();
      expect(r.done).toBe(false);
      got.push(r.value as number);
      if (i > 0) expect(fired).toBe(true);
    }
    expect((await it.next()).done).toBe(true);
    expect(got).toEqual(continuation(2, 3));
  });

  it('stops on a stop id (list or predicate), without yielding it', async () => {
    const prompt = Int32Array.of(1, 2, 3);
    expect(Array.from(await generateAll(transformer, prompt, { maxTokens: 20, temperature: 0, stop: [6] }))).toEqual([4, 5, 3, 2]);
    expect(Array.from(await generateAll(lstm, prompt, { maxTokens: 20, temperature: 0, stop: (id) => id === 5 }))).toEqual([4]);
    expect(Array.from(await generateAll(lstm, prompt, { maxTokens: 0 }))).toEqual([]);
  });

  it('seeded sampling is reproducible', async () => {
    const opts = { maxTokens: 15, temperature: 3, seed: 42 };
    const a = await generateAll(transformer, Int32Array.of(1), opts);
    expect(Array.from(await generateAll(transformer, Int32Array.of(1), opts))).toEqual(Array.from(a));
    expect(Array.from(await generateAll(transformer, Int32Array.of(1), { ...opts, seed: 43 }))).not.toEqual(Array.from(a));
  });

  it('memory does not grow across a generation loop, and breaking out frees the caches', async () => {
    for (const model of [transformer, lstm, ffnn]) {
      const before = memory();
      const during: number[] = [];
      for await (const _ of generate(model, Int32Array.of(2, 3), { maxTokens: 30, temperature: 1, seed: 1 })) {
        during.push(memory().tensors);
      }
      expect(during.length).toBe(30);
      expect(new Set(during).size, model.constructor.name).toBe(1);
      expect(memory().tensors).toBe(before.tensors);
      expect(memory().storages).toBe(before.storages);
      let n = 0;
      for await (const _ of generate(model, Int32Array.of(2, 3), { maxTokens: 30 })) if (++n === 4) break;
      expect(memory().tensors).toBe(before.tensors);
      expect(memory().storages).toBe(before.storages);
    }
  });

  it('rejects bad inputs', async () => {
    await expect(generateAll(lstm, Int32Array.of(1, 99), { maxTokens: 2 })).rejects.toThrow(/outside the vocabulary/);
    await expect(generateAll(lstm, Int32Array.of(1), { maxTokens: -1 })).rejects.toThrow(/maxTokens/);
    await expect(generateAll(lstm, Int32Array.of(1), { maxTokens: 1, topP: 2 })).rejects.toThrow(/topP/);
    await expect(generateAll({} as GenerativeModel, Int32Array.of(1), { maxTokens: 1 })).rejects.toThrow();
  });
});
