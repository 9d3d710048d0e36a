#!/usr/bin/env node
// Writes test/fixtures/checkpoints-v1/: one small checkpoint per model family, trained with
// `lmkit train --out` by the code of the commit that wrote them (before the family registry,
// issue 17), and expected.json with what that code computed from each: `lmkit eval --json`
// on the valid split (loss, perplexity), the next-token logits after a fixed prompt (masked
// LM: the logits at a masked position), the greedy continuation, and for every neural
// checkpoint (each is resumable; the LSTM's is saved mid-epoch with --save-every, carried BPTT
// state included) the losses of the steps a `lmkit train --resume` runs after it. test/train/checkpoint-compat.test.ts loads
// them with the current code and must find the same numbers: checkpoints written before a
// change keep loading after it.
//   npm run build:ts && node scripts/make-checkpoint-fixtures.mjs
// Run from the repository root (the checkpoints record the corpus by its relative path, which
// --resume reopens). Rerun only when the format changes on purpose: bump v1 then.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const rel = 'test/fixtures/checkpoints-v1';
const out = path.join(root, rel);
const cli = path.join(root, 'dist/cli/index.js');
const lm = await import(path.join(root, 'dist/index.js'));
const { encodeText, decodeIds } = await import(path.join(root, 'dist/data/training-corpus.js'));

fs.mkdirSync(out, { recursive: true });
// The corpus: the cross-arch fixture's (template sentences over a small vocabulary).
const corpus = `${rel}/corpus.txt`;
fs.copyFileSync(path.join(root, 'test/fixtures/cross-arch/corpus.txt'), corpus);

const common = ['--corpus', corpus, '--tokenizer', 'word', '--min-count', '1', '--eval-tokens', '300', '--no-test', '--seed', '3', '--threads', '1'];
const runs = {
  ngram: ['--model', 'ngram', '--context', '2'],
  loglinear: ['--model', 'loglinear', '--context', '3', '--buckets', '64', '--steps', '20', '--batch', '16', '--lr', '0.05'],
  ffnn: ['--model', 'ffnn', '--context', '3', '--embed', '12', '--hidden', '16', '--steps', '30', '--batch', '8', '--lr', '0.01'],
  rnn: ['--model', 'rnn', '--context', '8', '--embed', '12', '--hidden', '12', '--steps', '20', '--batch', '4', '--lr', '0.01'],
  // Resumable mid-epoch: 30 of ~60 steps per epoch, a --save-every checkpoint, carried state saved.
  lstm: ['--model', 'lstm', '--context', '10', '--embed', '12', '--hidden', '16', '--steps', '30', '--batch', '4', '--lr', '0.01', '--save-every', '10'],
  transformer: ['--model', 'transformer', '--context', '12', '--embed', '16', '--heads', '2', '--layers', '1', '--steps', '30', '--batch', '4', '--lr', '0.005'],
  mlm: ['--model', 'mlm', '--context', '12', '--embed', '16', '--heads', '2', '--layers', '1', '--steps', '20', '--batch', '4', '--lr', '0.005'],
  mamba: ['--model', 'mamba', '--context', '12', '--embed', '16', '--layers', '1', '--steps', '20', '--batch', '4', '--lr', '0.005'],
};
const prompt = 'the big';
// --resume: 5 steps more than each run's --steps.
const resumeTo = (flags) => Number(flags[flags.indexOf('--steps') + 1]) + 5;
const expected = {
  written: new Date().toISOString().slice(0, 10),
  machine: `${os.cpus()[0]?.model ?? 'unknown'} (${process.arch})`,
  node: process.version,
  simd: lm.native.simd,
  prompt,
  models: {},
};
const lmkit = (...args) => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
for (const [name, flags] of Object.entries(runs)) {
  const dir = `${rel}/${name}`;
  fs.rmSync(dir, { recursive: true, force: true });
  lmkit('train', ...flags, ...common, '--out', dir);
  for (const extra of ['report.html', 'curves.svg']) fs.rmSync(path.join(dir, extra), { force: true });
  const e = JSON.parse(lmkit('eval', '--checkpoint', dir, '--corpus', corpus, '--split', 'valid', '--eval-tokens', '300', '--json', '--threads', '1'));
  const rec = { eval: { loss: e.loss, ppl: e.ppl, tokens: e.tokens } };
  lm.setNumThreads(1);
  const t = lm.loadAnyTrained(dir);
  const ids = encodeText(t, prompt);
  rec.promptIds = [...ids];
  if (t.kind === 'ngram') {
    rec.generated = [...lm.generateNgram(t.model, ids, { maxTokens: 8, temperature: 0 })];
  } else if (t.kind === 'mlm') {
    // The logits at a masked third position after the prompt.
    const input = Int32Array.from([...ids, t.model.maskId]);
    rec.logits = lm.noGrad(() =>
      lm.tidy(() => {
        t.model.eval();
        const l = t.model.forward(lm.Tensor.fromArray(input, [1, input.length], 'int32'));
        const V = l.shape[1];
        return [...l.storage.read((input.length - 1) * V, V)];
      }),
    );
  } else if (!lm.isGenerative(t.model)) {
    // loglinear: the next-token logits of the prompt's last `context` ids (left-padded with 0).
    const n = t.model.config.context;
    const window = new Int32Array(n);
    window.set(ids.subarray(Math.max(0, ids.length - n)), Math.max(0, n - ids.length));
    rec.logits = lm.noGrad(() =>
      lm.tidy(() => {
        t.model.eval();
        return [...t.model.forward(lm.Tensor.fromArray(window, [1, n], 'int32')).toArray()];
      }),
    );
  } else {
    t.model.eval();
    const d = lm.makeDecoder(t.model);
    rec.logits = [...d.prime(ids)];
    d.dispose();
    rec.generated = [...(await lm.generateAll(t.model, ids, { maxTokens: 8, temperature: 0 }))];
  }
  if (rec.generated) rec.text = decodeIds(t, Int32Array.from(rec.generated));
  if (t.kind !== 'ngram') t.model.dispose();
  if (t.kind !== 'ngram') {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lmkit-fixture-'));
    const r = lmkit('train', '--resume', dir, '--steps', String(resumeTo(flags)), '--out', tmp, '--json', '--log-every', '1');
    const events = r.trim().split('\n').map((l) => JSON.parse(l));
    rec.resume = {
      steps: resumeTo(flags),
      losses: events.filter((x) => x.event === 'step').map((x) => [x.step, x.loss]),
      validPpl: events.find((x) => x.event === 'done').valid_ppl,
    };
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  expected.models[name] = rec;
  const size = fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
  console.log(`${name}: ${size} bytes; eval ppl ${e.ppl}; ${rec.text ?? ''}`);
}
// Number arrays on one line each.
const text = JSON.stringify(expected, null, 1).replace(/\[[\d.eE,\s-]*\]/g, (a) => JSON.stringify(JSON.parse(a)));
fs.writeFileSync(path.join(out, 'expected.json'), text + '\n');
