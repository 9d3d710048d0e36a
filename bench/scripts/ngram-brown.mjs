// Interpolated modified Kneser-Ney n-gram baselines on the Brown corpus (Bengio et al. 2003 split:
// 800k train / 200k valid / rest test; vocabulary = train words seen >= 4 times + <unk>).
// Needs the compiled library: `npx tsc -p tsconfig.json`, then
//   node bench/scripts/ngram-brown.mjs [orders, default 3,5]
// Writes bench/results/ngram-brown.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadBrown } from '../../dist/data/brown.js';
import { Vocab } from '../../dist/data/vocab.js';
import { KneserNeyLM } from '../../dist/models/ngram.js';

const here = dirname(fileURLToPath(import.meta.url));
const orders = (process.argv[2] ?? '3,5').split(',').map(Number);

const t0 = performance.now();
const split = loadBrown();
const vocab = Vocab.build(split.train, 4);
const train = vocab.encode(split.train);
const valid = vocab.encode(split.valid);
const test = vocab.encode(split.test);
console.log(
  `Brown: train ${train.length}, valid ${valid.length}, test ${test.length} tokens; vocabulary ${vocab.size} ` +
    `(loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
);

const results = [];
for (const order of orders) {
  global.gc?.();
  const heapBefore = process.memoryUsage();
  const start = performance.now();
  const lm = KneserNeyLM.train(train, { order, vocabSize: vocab.size });
  const trainSeconds = (performance.now() - start) / 1000;
  const mem = process.memoryUsage();
  const evalStart = performance.now();
  const v = lm.evaluate(valid);
  const t = lm.evaluate(test);
  const evalSeconds = (performance.now() - evalStart) / 1000;
  const r = {
    order,
    validPpl: v.ppl,
    testPpl: t.ppl,
    validLoss: v.loss,
    testLoss: t.loss,
    trainSeconds,
    evalSeconds,
    ngrams: lm.ngramCounts,
    discounts: lm.discounts,
    rssMB: Math.round(mem.rss / 2 ** 20),
    heapUsedDeltaMB: Math.round((mem.heapUsed + mem.arrayBuffers - heapBefore.heapUsed - heapBefore.arrayBuffers) / 2 ** 20),
  };
  results.push(r);
  console.log(
    `order ${order}: valid ppl ${v.ppl.toFixed(2)}, test ppl ${t.ppl.toFixed(2)}; ` +
      `train ${trainSeconds.toFixed(2)} s, eval ${evalSeconds.toFixed(2)} s, rss ${r.rssMB} MB; n-grams ${lm.ngramCounts.join('/')}`,
  );
}

const out = {
  benchmark: 'interpolated modified Kneser-Ney n-gram LM on Brown (Bengio 2003 split)',
  corpus: { train: train.length, valid: valid.length, test: test.length, vocabulary: vocab.size, minCount: 4 },
  notes:
    'Perplexity over every token incl. <unk>; each split evaluated from its own start (first tokens use shorter contexts). ' +
    'Continuation counts below the highest order, the start of the training text counting as one left context. ' +
    'Reference: Bengio et al. 2003 report back-off modified KN 3/4/5-gram test perplexity 323/321/321.',
  results,
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
  date: new Date().toISOString(),
  command: `node bench/scripts/ngram-brown.mjs${process.argv[2] ? ' ' + process.argv[2] : ''}`,
};
const file = join(here, '..', 'results', 'ngram-brown.json');
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
console.log(`wrote ${file}`);
