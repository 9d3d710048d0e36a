#!/usr/bin/env node
// A 1-layer LSTM language model on Brown (the "small" setup of Zaremba et al., 2014:
// embed = hidden = 200, batch 20, BPTT 35, SGD lr 1, gradients clipped to global norm 5,
// init U[-0.1, 0.1], no dropout), trained for N steps, then validation perplexity.
//
//   npm run build:ts && node bench/scripts/lstm-brown.mjs [steps=100] [--min-count 1] [--valid-tokens 20000]
//
// --valid-tokens evaluates on the first K validation tokens only (the full 200k takes minutes).
import { tidy } from '../../dist/index.js';
import { loadBrown } from '../../dist/data/brown.js';
import { Vocab } from '../../dist/data/vocab.js';
import { bpttBatches } from '../../dist/data/bptt.js';
import { RecurrentLM, disposeState, evaluateRecurrent, recurrentLoss } from '../../dist/models/rnn.js';
import { clipGradNorm } from '../../dist/optim/clip.js';
import { SGD } from '../../dist/optim/optimizer.js';

const args = process.argv.slice(2);
function flag(name, dflt) {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  return v;
}
const minCount = flag('--min-count', 1);
const validTokens = flag('--valid-tokens', 20000);
const steps = Number(args[0] ?? 100);
const B = 20;
const T = 35;

const t0 = performance.now();
const brown = loadBrown();
const vocab = Vocab.build(brown.train, minCount);
const train = vocab.encode(brown.train);
const valid = vocab.encode(brown.valid.slice(0, validTokens));
console.log(`vocab ${vocab.size} (min count ${minCount}), train ${train.length} tokens, valid ${valid.length} tokens`);

const model = new RecurrentLM({ vocabSize: vocab.size, cell: 'lstm', embed: 200, hidden: 200, layers: 1, dropout: 0, initRange: 0.1, seed: 1 });
const opt = new SGD(model.parameters(), { lr: 1 });
console.log(`parameters ${model.numParameters()}`);

let state = null;
let step = 0;
let tokens = 0;
let lossSum = 0;
const tTrain = performance.now();
outer: for (;;) {
  disposeState(state);
  state = null;
  for (const b of bpttBatches(train, B, T)) {
    model.train();
    const loss = tidy(() => {
      const r = recurrentLoss(model, b, state);
      disposeState(state);
      state = r.state;
      const v = r.loss.item();
      r.loss.backward();
      return v;
    });
    if (!Number.isFinite(loss)) throw new Error(`loss ${loss} at step ${step + 1}`);
    const norm = clipGradNorm(model.parameters(), 5);
    opt.step();
    opt.zeroGrad();
    step++;
    tokens += b.batchSize * b.T;
    lossSum += loss;
    if (step % 20 === 0 || step === steps) {
      const sec = (performance.now() - tTrain) / 1000;
      console.log(
        `step ${step}  loss ${(lossSum / 20).toFixed(3)} (ppl ${Math.exp(lossSum / 20).toFixed(1)})  grad norm ${norm.toFixed(2)}  ${(tokens / sec).toFixed(0)} tok/s`,
      );
      lossSum = 0;
    }
    if (step >= steps) break outer;
  }
}
disposeState(state);
const trainSec = (performance.now() - tTrain) / 1000;
const tEval = performance.now();
const ev = evaluateRecurrent(model, valid, B, T);
console.log(
  `after ${step} steps (${trainSec.toFixed(1)} s training): valid ppl ${ev.ppl.toFixed(2)} on ${ev.tokens} tokens ` +
    `(eval ${((performance.now() - tEval) / 1000).toFixed(1)} s, total ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
);
model.dispose();
opt.dispose();
