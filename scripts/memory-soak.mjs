#!/usr/bin/env node
// Memory soak: trains a tiny feed-forward LM and a tiny LSTM LM for many steps, then runs
// generation in a loop, sampling live tensors, native storages/bytes and the process RSS.
// Prints, per phase, whether the counts stayed exactly flat after a warm-up and the RSS
// slope (Theil-Sen, bytes per step) over the second half. Exits 1 on a count that moved.
//
//   npm run build:ts && node --expose-gc scripts/memory-soak.mjs [steps=10000]
//
// Imports the compiled library from dist/. Each step ends with a turn of the event loop
// (as Trainer.fit does): Node frees native wrappers' finalizers only there.
import v8 from 'node:v8';
import vm from 'node:vm';

import {
  AdamW,
  FeedForwardLM,
  RecurrentLM,
  Tensor,
  Trainer,
  TransformerLM,
  crossEntropy,
  generateAll,
  memory,
} from '../dist/index.js';

const STEPS = Number(process.argv[2] ?? 10_000);
if (!Number.isInteger(STEPS) || STEPS < 100) {
  console.error('usage: node scripts/memory-soak.mjs [steps >= 100]');
  process.exit(2);
}

v8.setFlagsFromString('--expose-gc');
const gc = globalThis.gc ?? vm.runInNewContext('gc');
const turn = () => new Promise((resolve) => setImmediate(resolve));

async function sample(step) {
  gc();
  await turn();
  gc();
  const m = memory();
  return { step, tensors: m.tensors, storages: m.storages, bytes: m.bytes, rss: process.memoryUsage.rss() };
}

function robustSlope(xs, ys) {
  const s = [];
  for (let i = 0; i < xs.length; i++) for (let j = i + 1; j < xs.length; j++) s.push((ys[j] - ys[i]) / (xs[j] - xs[i]));
  s.sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
}

let failed = false;
async function phase(name, steps, every, body) {
  const samples = [];
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    await body(i);
    await turn();
    if ((i + 1) % every === 0) samples.push(await sample(i + 1));
  }
  const warm = Math.min(2, samples.length - 1);
  const ref = samples[warm];
  const moved = samples.slice(warm).filter((s) => s.tensors !== ref.tensors || s.storages !== ref.storages || s.bytes !== ref.bytes);
  const half = samples.slice(Math.floor(samples.length / 2));
  const slope = robustSlope(
    half.map((s) => s.step),
    half.map((s) => s.rss),
  );
  const first = samples[0];
  const last = samples[samples.length - 1];
  console.log(
    `${name.padEnd(12)} ${String(steps).padStart(6)} steps  ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s  ` +
      `tensors ${ref.tensors} storages ${ref.storages} bytes ${ref.bytes} ${moved.length ? `MOVED (${moved.length} samples)` : 'flat'}  ` +
      `RSS ${(first.rss / 2 ** 20).toFixed(1)} -> ${(last.rss / 2 ** 20).toFixed(1)} MiB, slope (2nd half) ${slope.toFixed(1)} B/step`,
  );
  if (moved.length) failed = true;
}

const pattern = [1, 2, 3, 4, 5, 3, 2, 6, 7, 1, 5, 4];
const corpus = Int32Array.from({ length: 240 }, (_, i) => pattern[i % pattern.length]);

// 1. Feed-forward LM.
{
  const model = new FeedForwardLM({ vocabSize: 8, context: 3, embed: 8, hidden: 16, direct: true, seed: 2 });
  const opt = new AdamW(model.parameters(), { lr: 3e-3 });
  const B = 16;
  const t = new Trainer(
    model,
    opt,
    (i) => {
      const inputs = new Int32Array(B * 3);
      const targets = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        const o = (i * 7 + b * 5) % (corpus.length - 4);
        inputs.set(corpus.subarray(o, o + 3), b * 3);
        targets[b] = corpus[o + 3];
      }
      return { loss: crossEntropy(model.forward(Tensor.fromArray(inputs, [B, 3], 'int32')), Tensor.fromArray(targets, [B], 'int32')), tokens: B };
    },
    { clipNorm: 1 },
  );
  await phase('ffnn', STEPS, Math.max(1, Math.floor(STEPS / 50)), (i) => t.trainStep(i));
  model.dispose();
  opt.dispose();
}

// 2. LSTM LM (a fifth of the steps: each is longer).
{
  const model = new RecurrentLM({ vocabSize: 8, cell: 'lstm', embed: 8, hidden: 8, layers: 1, dropout: 0.1, seed: 3 });
  const opt = new AdamW(model.parameters(), { lr: 3e-3 });
  const T = 6;
  const B = 4;
  const t = new Trainer(model, opt, (i) => {
    const ids = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const o = (i * 3 + b * 11) % (corpus.length - T - 1);
      ids.set(corpus.subarray(o, o + T), b * T);
      targets.set(corpus.subarray(o + 1, o + T + 1), b * T);
    }
    return { loss: crossEntropy(model.forward(Tensor.fromArray(ids, [B, T], 'int32')).logits, Tensor.fromArray(targets, [B * T], 'int32')), tokens: B * T };
  });
  const steps = Math.max(100, Math.floor(STEPS / 5));
  await phase('lstm', steps, Math.max(1, Math.floor(steps / 50)), (i) => t.trainStep(i));
  model.dispose();
  opt.dispose();
}

// 3. Generation (10 tokens per step, rotating over three models).
{
  const models = [
    new FeedForwardLM({ vocabSize: 8, context: 3, embed: 4, hidden: 8, direct: false, seed: 1 }),
    new RecurrentLM({ vocabSize: 8, cell: 'lstm', embed: 4, hidden: 4, layers: 2, seed: 1 }),
    new TransformerLM({ vocabSize: 8, context: 6, embed: 8, heads: 2, layers: 1, seed: 1 }),
  ];
  const steps = Math.max(100, Math.floor(STEPS / 10));
  await phase('generate', steps, Math.max(1, Math.floor(steps / 50)), (i) =>
    generateAll(models[i % 3], Int32Array.of(1, 2, 3), { maxTokens: 10, seed: i, kvCache: i % 2 === 0 }),
  );
  for (const m of models) m.dispose();
}

process.exit(failed ? 1 : 0);
