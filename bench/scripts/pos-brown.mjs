#!/usr/bin/env node
// Part-of-speech tagging on Brown with a bidirectional LSTM (or Elman RNN) encoder:
// simplified Brown tags (lib/data/pos.ts), the standard token split (800k train / 200k valid /
// rest test), sentences cut at '.'-tagged tokens (max 60 tokens), words of train seen >= 2
// times plus shape classes for the rest. Trains with AdamW for a bounded wall-clock time,
// then reports token accuracy on valid and test next to the most-frequent-tag baseline.
// Default budget: 150 s training + ~1 min evaluation of the full valid/test (2 threads).
//
//   npx tsc -p tsconfig.json && node bench/scripts/pos-brown.mjs [--seconds 150] [--cell lstm]
//       [--embed 64] [--hidden 64] [--batch 32] [--lr 0.01] [--dropout 0.2] [--threads 2]
//       [--out bench/results/pos-brown.json]
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

import { setNumThreads, numThreads, tidy } from '../../dist/index.js';
import { loadBrownPos, mostFrequentTagBaseline, posBatches } from '../../dist/data/pos.js';
import { BiRecurrentTagger, evaluateTagger, taggerLoss } from '../../dist/models/birnn.js';
import { clipGradNorm } from '../../dist/optim/clip.js';
import { AdamW } from '../../dist/optim/optimizer.js';

const argv = process.argv.slice(2);
function opt(name, dflt) {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = argv[i + 1];
  return typeof dflt === 'number' ? Number(v) : v;
}
const cfg = {
  seconds: opt('seconds', 150),
  cell: opt('cell', 'lstm'),
  embed: opt('embed', 64),
  hidden: opt('hidden', 64),
  batch: opt('batch', 32),
  lr: opt('lr', 0.01),
  dropout: opt('dropout', 0.2),
  threads: opt('threads', 2),
  minCount: opt('min-count', 2),
  seed: opt('seed', 1),
};
const outPath = opt('out', 'bench/results/pos-brown.json');
setNumThreads(cfg.threads);

const t0 = performance.now();
const data = loadBrownPos({ minCount: cfg.minCount, unkClasses: true, maxLength: 60 });
const count = (ss) => ss.reduce((s, x) => s + x.ids.length, 0);
const corpus = {
  trainTokens: count(data.train),
  validTokens: count(data.valid),
  testTokens: count(data.test),
  trainSentences: data.train.length,
  validSentences: data.valid.length,
  testSentences: data.test.length,
  tags: data.tagSet.size,
  vocabulary: data.vocab.size,
  minCount: cfg.minCount,
};
console.log(JSON.stringify(corpus));

const baseline = {
  valid: mostFrequentTagBaseline(data.train, data.valid, data.tagSet.size).accuracy,
  test: mostFrequentTagBaseline(data.train, data.test, data.tagSet.size).accuracy,
};
console.log(`most-frequent-tag baseline: valid ${(100 * baseline.valid).toFixed(2)}%, test ${(100 * baseline.test).toFixed(2)}%`);

const model = new BiRecurrentTagger({
  vocabSize: data.vocab.size,
  numTags: data.tagSet.size,
  cell: cfg.cell,
  embed: cfg.embed,
  hidden: cfg.hidden,
  layers: 1,
  dropout: cfg.dropout,
  seed: cfg.seed,
  initRange: 0.1,
});
const optimizer = new AdamW(model.parameters(), { lr: cfg.lr, weightDecay: 0 });
console.log(`parameters ${model.numParameters()}, threads ${numThreads()}`);

let step = 0;
let epoch = 0;
let tokens = 0;
let lossSum = 0;
let lossN = 0;
const tTrain = performance.now();
const elapsed = () => (performance.now() - tTrain) / 1000;
outer: for (;;) {
  for (const b of posBatches(data.train, cfg.batch, { shuffleSeed: cfg.seed * 1000 + epoch, sortPool: 50 })) {
    model.train();
    const loss = tidy(() => {
      const r = taggerLoss(model, b);
      const v = r.loss.item();
      r.loss.backward();
      return v;
    });
    if (!Number.isFinite(loss)) throw new Error(`loss ${loss} at step ${step + 1}`);
    clipGradNorm(model.parameters(), 5);
    optimizer.step();
    optimizer.zeroGrad();
    step++;
    tokens += b.tokens;
    lossSum += loss;
    lossN++;
    if (step % 100 === 0) {
      console.log(`step ${step}  epoch ${epoch}  loss ${(lossSum / lossN).toFixed(4)}  ${(tokens / elapsed()).toFixed(0)} tok/s  ${elapsed().toFixed(0)} s`);
      lossSum = 0;
      lossN = 0;
    }
    if (elapsed() >= cfg.seconds) break outer;
  }
  epoch++;
}
const trainSeconds = elapsed();
console.log(`trained ${step} steps, ${tokens} tokens (${(tokens / corpus.trainTokens).toFixed(2)} epochs) in ${trainSeconds.toFixed(1)} s`);

const tEval = performance.now();
const evalBatches = (ss) => posBatches(ss, 128, { sortPool: 8 });
const valid = evaluateTagger(model, evalBatches(data.valid));
const test = evaluateTagger(model, evalBatches(data.test));
const evalSeconds = (performance.now() - tEval) / 1000;
console.log(
  `valid ${(100 * valid.accuracy).toFixed(2)}% (${valid.tokens} tokens), test ${(100 * test.accuracy).toFixed(2)}% (${test.tokens} tokens), eval ${evalSeconds.toFixed(1)} s`,
);

let cpu = 'unknown';
try {
  cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
} catch {}
let commit = null;
try {
  commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
} catch {}
const result = {
  benchmark: `bidirectional ${cfg.cell.toUpperCase()} part-of-speech tagger on Brown (simplified tags)`,
  command: `node bench/scripts/pos-brown.mjs ${argv.join(' ')}`.trim(),
  machine: { cpu, cores: os.cpus().length, threads: numThreads() },
  node: process.version,
  date: new Date().toISOString(),
  commit,
  corpus,
  tagRule:
    'lower-case; drop -tl/-hl/-nc suffixes; drop * from compound tags (the tag * itself kept); keep $, fw-, + contractions',
  config: { ...cfg, layers: 1, initRange: 0.1, optimizer: 'AdamW (no weight decay)', clip: 5, maxLength: 60, unkClasses: true },
  training: {
    steps: step,
    tokens,
    epochs: tokens / corpus.trainTokens,
    seconds: trainSeconds,
    tokensPerSecond: tokens / trainSeconds,
  },
  accuracy: { valid: valid.accuracy, test: test.accuracy },
  baselineMostFrequentTag: baseline,
  evalSeconds,
  totalSeconds: (performance.now() - t0) / 1000,
  notes:
    'Accuracy over every real token (punctuation included) of the full valid / test splits. Baseline: each training word -> its most frequent training tag, unknown words -> most frequent tag of their shape class. Training is bounded by wall-clock time on a shared machine, so the reached accuracy depends on its load.',
};
writeFileSync(outPath, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${outPath}`);
model.dispose();
optimizer.dispose?.();
