#!/usr/bin/env node
// Big-corpus demo: writes a synthetic text corpus of >= 2 GB (a seeded Markov chain over a
// few thousand generated words, written in 16 MB chunks) in a temp folder, tokenizes it
// with `lmkit tokenize` (word tokenizer built on the first 64 MB), trains a small
// Transformer on the .bin for some steps (windows read from the file through a file
// descriptor), and records the peak RSS (VmHWM) of both child processes and the file sizes
// in bench/results/bigcorpus.json. Temp files are deleted at the end.
// Usage: LMKIT_NUM_THREADS=1 nice -n 10 node scripts/bigcorpus-demo.mjs [GB] [steps]
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'dist/cli/index.js');
const GB = Number(process.argv[2] ?? 2.05);
const steps = Number(process.argv[3] ?? 200);
const dir = mkdtempSync(join(tmpdir(), 'lmkit-bigcorpus-'));
const text = join(dir, 'corpus.txt');
const bin = join(dir, 'corpus.bin');

function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

function generate() {
  const r = rng(1);
  const syll = ['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'vi', 'so', 'de', 'ga', 'pe', 'zu', 'an', 'or', 'el'];
  const words = [];
  const seen = new Set();
  while (words.length < 4000) {
    let w = '';
    const n = 1 + Math.floor(r() * 4);
    for (let i = 0; i < n; i++) w += syll[Math.floor(r() * syll.length)];
    if (!seen.has(w)) seen.add(w), words.push(w);
  }
  words.push('.', ',');
  // Markov chain: each word has 8 likely successors (Zipf-ish), plus a uniform escape.
  const next = words.map(() => Array.from({ length: 8 }, () => Math.floor(Math.pow(r(), 2) * words.length)));
  const target = Math.floor(GB * 1e9);
  const fd = openSync(text, 'w');
  let written = 0;
  let w = 0;
  const t0 = Date.now();
  while (written < target) {
    const parts = [];
    let len = 0;
    while (len < 16 << 20) {
      w = r() < 0.9 ? next[w][Math.floor(Math.pow(r(), 1.5) * 8)] : Math.floor(r() * words.length);
      const s = words[w] + (r() < 0.07 ? '\n' : ' ');
      parts.push(s);
      len += s.length;
    }
    const buf = Buffer.from(parts.join(''), 'utf8');
    writeSync(fd, buf);
    written += buf.length;
  }
  closeSync(fd);
  return { bytes: written, seconds: (Date.now() - t0) / 1000 };
}

/** Runs `node cli args` and samples the child's VmHWM from /proc until it exits. */
function run(args) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let hwm = 0;
    child.stdout.on('data', (d) => (out += d));
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(require_fs_read(`/proc/${child.pid}/status`));
        if (m) hwm = Math.max(hwm, Number(m[1]) * 1024);
      } catch {}
    }, 200);
    child.on('exit', (code) => {
      clearInterval(poll);
      if (code !== 0) reject(new Error(`lmkit ${args[0]} exited ${code}`));
      else resolve({ stdout: out, peakRssBytes: hwm, seconds: (Date.now() - t0) / 1000 });
    });
  });
}
import { readFileSync } from 'node:fs';
const require_fs_read = (p) => readFileSync(p, 'utf8');

try {
  console.error(`bigcorpus: writing ${GB} GB of synthetic text to ${text}`);
  const gen = generate();
  console.error(`bigcorpus: ${gen.bytes} bytes in ${gen.seconds.toFixed(0)} s; tokenizing`);
  const tok = await run(['tokenize', '--corpus', text, '--tokenizer', 'word', '--min-count', '1', '--sample-mb', '64', '--out', bin]);
  const binBytes = statSync(bin).size;
  console.error(`bigcorpus: ${tok.stdout.trim()}; training`);
  const train = await run([
    'train', '--model', 'transformer', '--corpus', bin, '--steps', String(steps), '--batch', '8', '--context', '64',
    '--embed', '64', '--heads', '2', '--layers', '2', '--eval-tokens', '20000', '--json',
  ]);
  const done = train.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.event === 'done');
  const result = {
    machine: '2-core AMD EPYC (shared with a background benchmark), LMKIT_NUM_THREADS=1, nice 10',
    text_bytes: gen.bytes,
    generate_seconds: gen.seconds,
    bin_bytes: binBytes,
    tokenize: { summary: tok.stdout.trim(), seconds: tok.seconds, peak_rss_bytes: tok.peakRssBytes },
    train: {
      model: 'transformer 2 x 64, 2 heads, context 64, batch 8',
      steps: done.steps,
      seconds: train.seconds,
      tokens_per_s: done.tokens_per_s,
      valid_ppl: done.valid_ppl,
      test_ppl: done.test_ppl,
      vocab: done.vocab,
      peak_rss_bytes: train.peakRssBytes,
    },
  };
  mkdirSync(join(repo, 'bench/results'), { recursive: true });
  writeFileSync(join(repo, 'bench/results/bigcorpus.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
