// node bench/scripts/awd-eval-speed.mjs (after npm run build:ts): forward-only (evaluation) vs training tokens/s of the 2 x 650/400 AWD model, same process.
import { RecurrentLM, evaluateRecurrent, recurrentLoss, bpttBatches, disposeState, AdamW, tidy } from '../../dist/index.js';
const V = 14114;
const m = new RecurrentLM({ vocabSize: V, cell: 'lstm', embed: 400, hidden: 650, lastHidden: 400, layers: 2, tieWeights: true, weightDrop: 0.5, dropoutInput: 0.4, dropoutHidden: 0.25, dropoutOutput: 0.4, embeddingDropout: 0.1 });
const ids = Int32Array.from({ length: 30000 }, (_, i) => (i * 7919) % V);
let t = performance.now();
const r = evaluateRecurrent(m, ids.subarray(0, 20000), 10, 70);
const evalRate = r.tokens / ((performance.now() - t) / 1000);
const opt = new AdamW(m.parameters());
let state = null, n = 0;
t = performance.now();
for (const b of bpttBatches(ids, 20, 70, { seed: 1 })) {
  tidy(() => { const o = recurrentLoss(m, b, state, { ar: 2, tar: 1 }); disposeState(state); state = o.state; o.loss.backward(); });
  opt.step(); opt.zeroGrad(); n += b.T * 20;
  if (n >= 14000) break;
}
const trainRate = n / ((performance.now() - t) / 1000);
console.log(JSON.stringify({ evalTokensPerS: +evalRate.toFixed(0), trainTokensPerS: +trainRate.toFixed(0), ratio: +(evalRate / trainRate).toFixed(2) }));
