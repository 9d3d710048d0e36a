#!/usr/bin/env node
// Initialisation study (issue 19): lmkit's old default init, PyTorch's default init (emulated
// inside lmkit: same training code, data, optimizer and seeds) and lmkit's current default, for
// every neural LM family on word- and character-level corpora. Writes bench/results/init-study.json
// (rendered into bench/README.md by bench/render.mjs).
//
//   npm run build:ts && node bench/scripts/init-study.mjs [--steps 500] [--only SUBSTR]
//   node bench/scripts/init-study.mjs --full [--only SUBSTR] [--corpora ...] [--families ...]   (800k-token runs)
//   node bench/scripts/init-study.mjs --case brown-char:lstm:torch --steps 500   (one run, JSON line)
//
// Schemes:
//   old    lmkit's defaults before the study: rnn/lstm everything U(+-0.05); ffnn embedding U(+-0.1)
//          (Linear U(+-1/sqrt(fan_in))); transformer/mlm/mamba GPT-2 style N(0, 0.02) (unchanged: 'new').
//   torch  PyTorch 1.13's module defaults: nn.Embedding N(0,1); nn.Linear U(+-1/sqrt(fan_in)) on weight
//          and bias; nn.RNN / nn.LSTM U(+-1/sqrt(H)) on every weight and bias; LayerNorm 1/0. A tied
//          output reuses the N(0,1) embedding (what `decoder.weight = encoder.weight` gives).
//   new    the models' current default (lib/nn/init.ts).
//   new+fb1  (lstm) the current default with the forget-gate bias raised by 1.
//   new+2b   (rnn, lstm) the current default with each layer's bias the sum of two U(+-1/sqrt(H))
//            draws: what nn.RNN / nn.LSTM's two biases (b_ih + b_hh) add up to.
// Every run: Adam (family lr from MODEL_DEFAULTS), clip 1 where the family has it, seed 1, the same
// batches for every scheme. Sizes are small so each run takes about a minute on 2 busy cores.
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { Tensor, tidy, makeRng } from '../../dist/index.js';
import { loadBrown } from '../../dist/data/brown.js';
import { Vocab } from '../../dist/data/vocab.js';
import { bpttBatches } from '../../dist/data/bptt.js';
import { crossEntropy } from '../../dist/ops/crossentropy.js';
import { noGrad } from '../../dist/autograd.js';
import { RecurrentLM, disposeState, evaluateRecurrent, recurrentLoss } from '../../dist/models/rnn.js';
import { FeedForwardLM } from '../../dist/models/ffnn.js';
import { TransformerLM } from '../../dist/models/transformer.js';
import { MambaLM } from '../../dist/models/mamba.js';
import { clipGradNorm } from '../../dist/optim/clip.js';
import { Adam } from '../../dist/optim/optimizer.js';
import { MODEL_DEFAULTS } from '../../dist/train/model-defaults.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : args[i + 1];
};
const STEPS = Number(opt('--steps', 500));

// ---- corpora -------------------------------------------------------------------------------
const FORTUNES = '/usr/share/games/fortunes';
function fortunesText() {
  const files = readdirSync(FORTUNES)
    .filter((f) => !f.includes('.') && statSync(join(FORTUNES, f)).isFile())
    .sort();
  return files.map((f) => readFileSync(join(FORTUNES, f), 'latin1')).join('\n');
}
function charData(train, valid, evalChars) {
  const counts = new Map();
  for (const ch of train) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const chars = [...counts].filter(([, n]) => n >= 4).map(([c]) => c).sort();
  const index = new Map(chars.map((c, i) => [c, i + 1])); // 0: unknown
  const enc = (s) => Int32Array.from(s, (c) => index.get(c) ?? 0);
  return { V: chars.length + 1, train: enc(train), valid: enc(valid.slice(0, evalChars)), unit: 'char' };
}
function corpus(name) {
  if (name === 'brown-word') {
    const b = loadBrown();
    const vocab = Vocab.build(b.train, 4);
    return { V: vocab.size, train: vocab.encode(b.train), valid: vocab.encode(b.valid.slice(0, 20000)), unit: 'word' };
  }
  if (name === 'brown-char') {
    const b = loadBrown();
    return charData(b.train.join(' '), b.valid.join(' '), 30000);
  }
  if (name === 'fortunes-char' || name === 'fortunes-word') {
    const text = fortunesText();
    const a = Math.floor(text.length * 0.9);
    const z = Math.floor(text.length * 0.95);
    if (name === 'fortunes-char') return charData(text.slice(0, a), text.slice(a, z), 30000);
    const words = (s) => s.toLowerCase().split(/\s+/).filter((w) => w !== '');
    const tr = words(text.slice(0, a));
    const vocab = Vocab.build(tr, 4);
    return { V: vocab.size, train: vocab.encode(tr), valid: vocab.encode(words(text.slice(a, z)).slice(0, 20000)), unit: 'word' };
  }
  throw new Error(`unknown corpus ${name}`);
}

// ---- schemes -------------------------------------------------------------------------------
const write = (t, a) => t.storage.write(a);
function uniform(t, bound, seed) {
  const rng = makeRng(seed);
  const a = new Float32Array(t.size);
  for (let i = 0; i < a.length; i++) a[i] = (rng() * 2 - 1) * bound;
  write(t, a);
}
function normal(t, std, seed) {
  const r = Tensor.randn(t.shape, { std, seed });
  write(t, r.toArray());
  r.dispose();
}
/** PyTorch's default init on an already built lmkit model (by parameter role). */
function torchInit(family, model, base = 1) {
  let seed = 1000 * base;
  const params = new Map(model.namedParameters());
  if (family === 'rnn' || family === 'lstm' || family === 'lstm-tied') {
    const H = model.config.hidden;
    for (const [name, p] of params) {
      if (name === 'embedding') normal(p, 1, seed++);
      else uniform(p, 1 / Math.sqrt(H), seed++);
    }
    return;
  }
  for (const [name, p] of params) {
    if (/[Ee]mbedding/.test(name)) normal(p, 1, seed++);
    else if (family === 'transformer' && p.rank === 2) uniform(p, 1 / Math.sqrt(p.shape[1]), seed++);
    else if (family === 'transformer' && name.endsWith('bias') && !/ln|norm/i.test(name)) {
      const w = params.get(name.replace(/bias$/, 'weight'));
      if (w && w.rank === 2) uniform(p, 1 / Math.sqrt(w.shape[1]), seed++);
    }
  }
}
function twoBiases(model, seed) {
  // b_ih + b_hh: a second U(+-1/sqrt(H)) draw added to each layer's (single) bias
  model.layers.forEach((layer, l) => {
    const b = layer.bias.toArray();
    const bound = 1 / Math.sqrt(layer.bias.shape[0] / (model.config.cell === 'lstm' ? 4 : 1));
    const rng = makeRng(5000 * seed + l);
    for (let i = 0; i < b.length; i++) b[i] += (rng() * 2 - 1) * bound;
    write(layer.bias, b);
  });
}
function forgetBias(model, add) {
  const H = model.config.hidden;
  for (const layer of model.layers) {
    const b = layer.bias.toArray();
    for (let i = H; i < 2 * H; i++) b[i] += add;
    write(layer.bias, b);
  }
}

// ---- models --------------------------------------------------------------------------------
// Recurrent models: 2 x 128 on characters, 2 x 64 on words (the V-wide output dominates there).
const SIZES = {
  ffnn: { batch: 128, context: 4, embed: 32, hidden: 128 },
  rnn: { batch: 8, context: 32, embed: 128, hidden: 128, layers: 2, wordEmbed: 64, wordHidden: 64 },
  lstm: { batch: 8, context: 32, embed: 128, hidden: 128, layers: 2, wordEmbed: 64, wordHidden: 64 },
  'lstm-tied': { batch: 8, context: 32, embed: 128, hidden: 128, layers: 2, wordEmbed: 64, wordHidden: 64 },
  transformer: { batch: 8, context: 64, embed: 64, heads: 4, layers: 2 },
  mamba: { batch: 8, context: 32, embed: 64, layers: 2 },
};
const sizeOf = (family, unit) => {
  const s = { ...SIZES[family] };
  if (unit === 'word' && s.wordHidden) Object.assign(s, { embed: s.wordEmbed, hidden: s.wordHidden });
  return s;
};
function build(family, V, scheme, unit, seed = 1) {
  const s = sizeOf(family, unit);
  const legacy = scheme === 'old';
  switch (family) {
    case 'ffnn':
      return new FeedForwardLM({ vocabSize: V, context: s.context, embed: s.embed, hidden: s.hidden, direct: false, seed, ...(legacy ? { initRange: 0.1 } : {}) });
    case 'rnn':
    case 'lstm':
    case 'lstm-tied':
      return new RecurrentLM({
        vocabSize: V, cell: family === 'rnn' ? 'rnn' : 'lstm', embed: s.embed, hidden: s.hidden, layers: s.layers,
        tieWeights: family === 'lstm-tied', seed, ...(legacy ? { initRange: 0.05 } : {}),
      });
    case 'transformer':
      return new TransformerLM({ vocabSize: V, context: s.context, embed: s.embed, heads: s.heads, layers: s.layers, seed });
    case 'mamba':
      return new MambaLM({ vocabSize: V, embed: s.embed, layers: s.layers, seed });
  }
  throw new Error(`unknown family ${family}`);
}
const defaultsOf = (family) => MODEL_DEFAULTS[family === 'lstm-tied' ? 'lstm' : family];

// ---- one run -------------------------------------------------------------------------------
function runCase(corpusName, family, scheme, steps, seed = 1) {
  const data = corpus(corpusName);
  const model = build(family, data.V, scheme, data.unit, seed);
  if (scheme === 'torch') torchInit(family, model, seed);
  if (scheme === 'new+fb1') forgetBias(model, 1);
  if (scheme === 'new+2b') twoBiases(model, seed);
  if (scheme.startsWith('emb=')) {
    // the new default with the (untied) embedding ~ N(0, x^2): the sweep behind the rule's constant
    const [name, p] = model.namedParameters().find(([n]) => /^(embedding|embedding\.weight|tokenEmbedding)$/.test(n));
    if (!name) throw new Error('no embedding');
    normal(p, Number(scheme.slice(4)), 77 * seed);
  }
  const d = defaultsOf(family);
  const s = sizeOf(family, data.unit);
  const optim = new Adam(model.parameters(), { lr: d.lr });
  const rng = makeRng(12345);
  const t0 = performance.now();
  let last = NaN;
  const recurrent = family === 'rnn' || family === 'lstm' || family === 'lstm-tied';
  let state = null;
  let batches = recurrent ? bpttBatches(data.train, s.batch, s.context)[Symbol.iterator]() : null;
  for (let step = 0; step < steps; step++) {
    model.train();
    last = tidy(() => {
      let loss;
      if (recurrent) {
        let nx = batches.next();
        if (nx.done) {
          disposeState(state);
          state = null;
          batches = bpttBatches(data.train, s.batch, s.context)[Symbol.iterator]();
          nx = batches.next();
        }
        const r = recurrentLoss(model, nx.value, state);
        disposeState(state);
        state = r.state;
        loss = r.loss;
      } else if (family === 'ffnn') {
        const B = s.batch, n = s.context;
        const ids = new Int32Array(B * n), tg = new Int32Array(B);
        for (let b = 0; b < B; b++) {
          const at = n + Math.floor(rng() * (data.train.length - n));
          ids.set(data.train.subarray(at - n, at), b * n);
          tg[b] = data.train[at];
        }
        loss = crossEntropy(model.forward(Tensor.fromArray(ids, [B, n], 'int32')), Tensor.fromArray(tg, [B], 'int32'));
      } else {
        const B = s.batch, T = s.context;
        const ids = new Int32Array(B * T), tg = new Int32Array(B * T);
        for (let b = 0; b < B; b++) {
          const at = Math.floor(rng() * (data.train.length - T - 1));
          ids.set(data.train.subarray(at, at + T), b * T);
          tg.set(data.train.subarray(at + 1, at + T + 1), b * T);
        }
        loss = crossEntropy(model.forward(Tensor.fromArray(ids, [B, T], 'int32')), Tensor.fromArray(tg, [B * T], 'int32'));
      }
      const v = loss.item();
      loss.backward();
      return v;
    });
    if (!Number.isFinite(last)) break;
    if (d.clip) clipGradNorm(model.parameters(), d.clip);
    optim.step();
    optim.zeroGrad();
  }
  disposeState(state);
  const trainSec = (performance.now() - t0) / 1000;
  model.eval();
  let nll;
  if (recurrent) nll = evaluateRecurrent(model, data.valid, 8, 64).loss;
  else {
    let total = 0, count = 0;
    noGrad(() => {
      const v = data.valid;
      if (family === 'ffnn') {
        const n = s.context, B = 512;
        for (let at = n; at < v.length; at += B) {
          const m = Math.min(B, v.length - at);
          const ids = new Int32Array(m * n), tg = new Int32Array(m);
          for (let b = 0; b < m; b++) { ids.set(v.subarray(at + b - n, at + b), b * n); tg[b] = v[at + b]; }
          total += tidy(() => crossEntropy(model.forward(Tensor.fromArray(ids, [m, n], 'int32')), Tensor.fromArray(tg, [m], 'int32'), { reduction: 'sum' }).item());
          count += m;
        }
      } else {
        const T = s.context; // disjoint windows (each token predicted once, with 0..T-1 tokens of context)
        for (let at = 0; at + T + 1 <= v.length; at += T) {
          total += tidy(() => crossEntropy(model.forward(Tensor.fromArray(v.slice(at, at + T), [1, T], 'int32')), Tensor.fromArray(v.slice(at + 1, at + T + 1), [T], 'int32'), { reduction: 'sum' }).item());
          count += T;
        }
      }
    });
    nll = total / count;
  }
  model.dispose();
  optim.dispose();
  const out = { corpus: corpusName, family, scheme, steps, seed, V: data.V, unit: data.unit, trainLoss: last, validNll: nll, trainSeconds: +trainSec.toFixed(1) };
  out.metric = data.unit === 'char' ? 'bits/char' : 'ppl';
  out.value = data.unit === 'char' ? nll / Math.LN2 : Math.exp(nll);
  return out;
}

// --add FILE --as KEY: stores FILE's JSON lines (runs of --case, or the PyTorch script's line)
// under KEY of the results (seedRuns, fullRuns, pytorch), keeping the rest.
if (args.includes('--add')) {
  const path = join(here, '..', 'results', 'init-study.json');
  const doc = JSON.parse(readFileSync(path, 'utf8'));
  // a line without a machine is taken to have run here, now (add runs where they ran)
  const lines = readFileSync(opt('--add'), 'utf8').split('\n').filter((l) => l.trim().startsWith('{')).map((l) => ({ machine: machineName(), date: new Date().toISOString(), ...JSON.parse(l) }));
  doc[opt('--as')] = [...(doc[opt('--as')] ?? []), ...lines];
  writeFileSync(path, JSON.stringify(doc, null, 2) + '\n');
  console.log(`added ${lines.length} runs as ${opt('--as')}`);
  process.exit(0);
}
if (args.includes('--case')) {
  const [c, f, s, seed] = opt('--case').split(':');
  console.log(JSON.stringify(runCase(c, f, s, STEPS, Number(seed ?? 1))));
  process.exit(0);
}

// ---- the study -----------------------------------------------------------------------------
const CORPORA = (opt('--corpora', 'brown-word,brown-char,fortunes-char')).split(',');
const FAMILIES = (opt('--families', 'ffnn,rnn,lstm,lstm-tied,transformer,mamba')).split(',');
// transformer/mamba: 'new' is their unchanged GPT-2 style init ('old' == 'new'); the forget-gate
// variant on the character corpora only (compute budget).
const schemesOf = (f, c) =>
  f === 'transformer' || f === 'mamba' ? ['new', 'torch'] : f === 'lstm' && c.endsWith('char') ? ['old', 'torch', 'new', 'new+fb1'] : ['old', 'torch', 'new'];
const outPath = opt('--out', join(here, '..', 'results', 'init-study.json'));
const only = opt('--only', '');
// --full: every case to the end of a full run, PyTorch's default against lmkit's: 800k training
// tokens (one Brown epoch) at the study's batch sizes, stored under fullRuns (resumable: a case
// already there is skipped). Each run is a child process, so an interrupted study loses one run.
const TOKENS_PER_STEP = {
  ffnn: SIZES.ffnn.batch,
  rnn: SIZES.rnn.batch * SIZES.rnn.context,
  lstm: SIZES.lstm.batch * SIZES.lstm.context,
  'lstm-tied': SIZES['lstm-tied'].batch * SIZES['lstm-tied'].context,
  transformer: SIZES.transformer.batch * SIZES.transformer.context,
  mamba: SIZES.mamba.batch * SIZES.mamba.context,
};
const FULL_TOKENS = 800_000;
if (args.includes('--full')) {
  const doc = JSON.parse(readFileSync(outPath, 'utf8'));
  doc.fullRuns ??= [];
  for (const c of CORPORA) {
    for (const f of FAMILIES) {
      const steps = Math.round(FULL_TOKENS / TOKENS_PER_STEP[f]);
      for (const sc of ['torch', 'new']) {
        const key = `${c}:${f}:${sc}`;
        if (only && !key.includes(only)) continue;
        if (doc.fullRuns.some((r) => `${r.corpus}:${r.family}:${r.scheme}` === key && r.steps === steps && (r.seed ?? 1) === 1)) continue;
        const line = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--case', `${key}:1`, '--steps', String(steps)], { encoding: 'utf8' });
        const r = { ...JSON.parse(line.trim().split('\n').pop()), budget: `${FULL_TOKENS} training tokens`, machine: machineName(), date: new Date().toISOString() };
        console.log(`${key} ${steps} steps: ${r.metric} ${r.value.toFixed(3)} (train ${r.trainSeconds} s)`);
        doc.fullRuns.push(r);
        writeFileSync(outPath, JSON.stringify(doc, null, 2) + '\n');
      }
    }
  }
  process.exit(0);
}
let results = [];
let previous = {};
try {
  previous = JSON.parse(readFileSync(outPath, 'utf8'));
  results = previous.runs ?? [];
} catch {}
for (const c of CORPORA) {
  for (const f of FAMILIES) {
    for (const s of schemesOf(f, c)) {
      const key = `${c}:${f}:${s}`;
      if (only && !key.includes(only)) continue;
      if (results.some((r) => `${r.corpus}:${r.family}:${r.scheme}` === key && r.steps === STEPS)) continue;
      const line = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--case', key, '--steps', String(STEPS)], { encoding: 'utf8' });
      const r = JSON.parse(line.trim().split('\n').pop());
      console.log(`${key} ${STEPS} steps: ${r.metric} ${r.value.toFixed(3)} (train ${r.trainSeconds} s)`);
      results.push(r);
      save();
    }
  }
}
function machineName() {
  return `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}`;
}
function save() {
  const pkg = JSON.parse(readFileSync(join(here, '..', '..', 'package.json'), 'utf8'));
  const doc = {
    ...previous,
    bench: 'init-study',
    date: new Date().toISOString(),
    machine: machineName(),
    versions: { lmkit: pkg.version, node: process.version },
    setup: {
      optimizer: 'Adam, lr = MODEL_DEFAULTS[family].lr, clip = MODEL_DEFAULTS[family].clip, seed 1, no dropout',
      sizes: SIZES,
      corpora: {
        'brown-word': 'Brown, 800k train / first 20k valid words, words seen >= 4 times',
        'brown-char': 'Brown train joined by spaces (~4.6M chars), first 30k valid chars',
        'fortunes-char': `Debian fortunes (${FORTUNES}, files without extension), 90/5/5 by position, first 30k valid chars`,
      },
      eval: 'rnn/lstm: carried state, 8 streams x 64; ffnn: every position; transformer/mamba: disjoint 64-token windows',
    },
    runs: results,
  };
  writeFileSync(outPath, JSON.stringify(doc, null, 2) + '\n');
}
save();
