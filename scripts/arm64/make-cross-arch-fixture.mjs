#!/usr/bin/env node
// Writes test/fixtures/cross-arch/: small checkpoints trained on this (x86-64) machine with
// `lmkit train`, and expected.json with the token ids each one generates (greedy and seeded
// sampling). test/io/cross-arch.test.ts loads them on every architecture (the arm64 run under
// qemu included, npm run test:arm64) and must generate the same ids.
//   npm run build:ts && node scripts/arm64/make-cross-arch-fixture.mjs
// Rerun only when the checkpoint format or the models change on purpose (the test then says so).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = path.join(root, 'test/fixtures/cross-arch');
const cli = path.join(root, 'dist/cli/index.js');
const { loadTrained, generateAll, native } = await import(path.join(root, 'dist/index.js'));
const { encodeText, decodeIds } = await import(path.join(root, 'dist/data/training-corpus.js'));

// A tiny corpus with structure to learn: a few sentence templates over a small vocabulary.
const nouns = ['cat', 'dog', 'bird', 'fish', 'fox', 'owl'];
const verbs = ['sees', 'likes', 'chases', 'finds'];
const adjs = ['red', 'big', 'small', 'quick'];
let s = 7;
const rnd = (n) => ((s = (s * 1103515245 + 12345) % 2147483648), Math.floor(s / 65536) % n);
const lines = [];
for (let i = 0; i < 400; i++) lines.push(`the ${adjs[rnd(4)]} ${nouns[rnd(6)]} ${verbs[rnd(4)]} a ${nouns[rnd(6)]} .`);
fs.mkdirSync(out, { recursive: true });
const corpus = path.join(out, 'corpus.txt');
fs.writeFileSync(corpus, lines.join('\n') + '\n');

const runs = {
  lstm: ['--model', 'lstm', '--context', '12', '--embed', '16', '--hidden', '24', '--layers', '1', '--lr', '0.01'],
  transformer: ['--model', 'transformer', '--context', '12', '--embed', '16', '--heads', '2', '--layers', '1', '--lr', '0.005'],
  ffnn: ['--model', 'ffnn', '--context', '3', '--embed', '12', '--hidden', '16', '--lr', '0.01'],
};
const prompts = ['the big', 'a quick fox', 'the'];
const expected = { machine: `${os.cpus()[0]?.model ?? 'unknown'} (${process.arch})`, node: process.version, simd: native.simd, sgemm: native.sgemm_backend(), models: {} };
for (const [name, flags] of Object.entries(runs)) {
  const dir = path.join(out, name);
  fs.rmSync(dir, { recursive: true, force: true });
  execFileSync(process.execPath, [cli, 'train', ...flags, '--corpus', corpus, '--tokenizer', 'word', '--min-count', '1',
    '--steps', '150', '--batch', '8', '--eval-tokens', '200', '--no-test', '--seed', '3', '--threads', '1', '--out', dir], { stdio: 'ignore' });
  for (const extra of ['report.html', 'curves.svg']) fs.rmSync(path.join(dir, extra), { force: true });
  const t = loadTrained(dir);
  const gens = [];
  for (const prompt of prompts) {
    const ids = encodeText(t, prompt);
    const greedy = await generateAll(t.model, ids, { maxTokens: 16, temperature: 0 });
    const sampled = await generateAll(t.model, ids, { maxTokens: 16, temperature: 0.9, seed: 11 });
    gens.push({ prompt, promptIds: [...ids], greedy: [...greedy], sampled: [...sampled], text: decodeIds(t, greedy) });
  }
  t.model.dispose();
  expected.models[name] = gens;
  console.log(`${name}: ${fs.statSync(path.join(dir, 'model.safetensors')).size} bytes; ${JSON.stringify(gens[0])}`);
}
// Number arrays on one line each.
const text = JSON.stringify(expected, null, 1).replace(/\[[\d,\s-]*\]/g, (a) => JSON.stringify(JSON.parse(a)));
fs.writeFileSync(path.join(out, 'expected.json'), text + '\n');
