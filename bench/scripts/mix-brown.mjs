#!/usr/bin/env node
// Bengio et al. (2003)'s "mix" rows on Brown: the feed-forward MLP1 model (n=5, m=60, h=50,
// direct connections) interpolated 50/50 with the project's KN 5-gram, and with weights
// tuned on the validation split by EM. Trains MLP1 exactly as the brown-lm table's `mlp1`
// row (or loads a checkpoint written by `lmkit train ... --out DIR`), builds the KN 5-gram,
// and scores the same target positions with both. Writes bench/results/mix-brown.json.
//
//   npm run build:ts && node bench/scripts/mix-brown.mjs [--checkpoint DIR]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadBrown } from '../../dist/data/brown.js';
import { fitWeights, interpolate, ngramTokenProbs, windowTokenProbs } from '../../dist/models/interpolate.js';
import { KneserNeyLM } from '../../dist/models/ngram.js';
import { native } from '../../dist/native/index.js';
import { loadTrained } from '../../dist/train/checkpointing.js';
import { runTraining } from '../../dist/train/run.js';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'results', 'mix-brown.json');
const i = process.argv.indexOf('--checkpoint');
let checkpoint = i >= 0 ? process.argv[i + 1] : undefined;

// The brown-lm table's mlp1 row.
const MLP1 = { model: 'ffnn', corpus: 'brown', context: 4, embed: 60, hidden: 50, direct: true, epochs: 2, lr: 0.002, schedule: 'cosine' };
const command = 'npx lmkit train --model ffnn --context 4 --embed 60 --hidden 50 --direct --epochs 2 --lr 0.002 --schedule cosine';

let training = null;
let scratch = null;
if (!checkpoint) {
  scratch = mkdtempSync(join(tmpdir(), 'lmkit-mix-'));
  checkpoint = join(scratch, 'mlp1');
  console.log(`training MLP1: ${command}`);
  const r = await runTraining({ ...MLP1, out: checkpoint }, { eval: (e) => console.log(`  ${e.split} step ${e.step}: ppl ${e.ppl.toFixed(1)}`) });
  training = { command, seconds: r.seconds, tokensPerSecond: r.tokensPerSecond, steps: r.steps, validPpl: r.validPpl, testPpl: r.testPpl };
}

const { model, vocab, meta } = loadTrained(checkpoint);
const split = loadBrown();
if (vocab.size !== meta.config.vocabSize) throw new Error('vocabulary mismatch');
const ids = { train: vocab.encode(split.train), valid: vocab.encode(split.valid), test: vocab.encode(split.test) };
const t0 = performance.now();
const kn = KneserNeyLM.train(ids.train, { order: 5, vocabSize: vocab.size });
const from = model.config.context; // the first position the feed-forward model predicts
const score = (name) => {
  const neural = windowTokenProbs(model, ids[name], from);
  const ngram = ngramTokenProbs(kn, ids[name], from);
  return { neural, ngram };
};
const valid = score('valid');
const test = score('test');
const tuned = fitWeights([valid.neural, valid.ngram], 30);
const row = (p, w) => interpolate([p.neural, p.ngram], w).ppl;
const result = {
  benchmark: 'mix-brown',
  title: "Bengio et al. (2003) 'mix': MLP1 interpolated with the KN 5-gram on Brown",
  command: 'node bench/scripts/mix-brown.mjs',
  note: `perplexities over the same target positions for every row (all but the first ${from} tokens of each split); 'tuned' weights are fitted by EM on the validation split`,
  mlp1Training: training,
  rows: [
    { model: 'MLP1 alone', validPpl: row(valid, [1, 0]), testPpl: row(test, [1, 0]) },
    { model: 'KN 5-gram alone', validPpl: row(valid, [0, 1]), testPpl: row(test, [0, 1]) },
    { model: 'MLP1 + KN 5-gram, 50/50', weights: [0.5, 0.5], validPpl: row(valid, [0.5, 0.5]), testPpl: row(test, [0.5, 0.5]) },
    { model: 'MLP1 + KN 5-gram, weights tuned on valid', weights: tuned, validPpl: row(valid, tuned), testPpl: row(test, tuned) },
  ],
  scoringSeconds: (performance.now() - t0) / 1000,
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memGiB: +(totalmem() / 2 ** 30).toFixed(1), threads: native.numThreads(), loadavg1: +loadavg()[0].toFixed(2) },
  node: process.version,
  date: new Date().toISOString(),
};
for (const r of result.rows) console.log(`${r.model.padEnd(42)} valid ${r.validPpl.toFixed(1)}  test ${r.testPpl.toFixed(1)}`);
model.dispose();
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
console.log(`wrote ${out}`);
if (scratch) rmSync(scratch, { recursive: true, force: true });
