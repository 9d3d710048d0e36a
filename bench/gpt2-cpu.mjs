#!/usr/bin/env node
// GPT-2 124M on this CPU, lmkit vs PyTorch (issue 17): training tokens/s, generation tokens/s
// with the KV cache, and the peak memory of each, measured side by side in one run.
//
//   npx tsc -p tsconfig.json && node bench/gpt2-cpu.mjs [--threads 2] [--reps 2] [--prompt 32]
//        [--tokens 96] [--no-train] [--no-generate] [--shape gpt2|gpt2-reduced] [--no-write] [--out FILE]
//
// Training: the `gpt2` case of bench/train-cpu.mjs (12 layers, width 768, 12 heads, 1024
//   positions, vocabulary 50257; batch 4, context 256, AdamW; the workers of that script and of
//   bench/reference/torch_train.py), one child process per measurement.
// Generation: one model, both sides. A child process builds lmkit's TransformerLM of that
//   shape (seed 1) and writes it in the Hugging Face layout (savePretrained); each measurement is
//   a child that loads that directory -- lmkit with loadPretrained, PyTorch with
//   bench/reference/torch_gpt2_generate.py (GPT-2's forward in plain torch, its own KV cache) --
//   feeds the same prompt, then decodes greedily, one token per forward. Timed: the decoding
//   steps after the prompt; the prompt's forward is reported apart. The two greedy sequences
//   are compared (same weights, so they should agree until a near-tie of two logits).
// Peak memory: each child's maximum resident set (getrusage), node's or python's own included.
// Reps alternate which side goes first. Results: bench/results/gpt2-cpu.json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const PYTHON = '/usr/bin/python3';
const SHAPES = {
  gpt2: { layers: 12, heads: 12, embed: 768, positions: 1024, vocab: 50257, label: 'GPT-2 124M: 12L/12H/768, V=50257, 1024 positions' },
  'gpt2-reduced': { layers: 4, heads: 4, embed: 256, positions: 1024, vocab: 50257, label: 'GPT-2 reduced: 4L/4H/256, V=50257, 1024 positions' },
};

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i < 0 ? dflt : argv[i + 1];
};
const has = (name) => argv.includes(name);
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

function runChild(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

// ---- children -----------------------------------------------------------------------------
async function makeModel() {
  const lm = await import('../dist/index.js');
  const s = SHAPES[opt('--shape')];
  const model = new lm.TransformerLM({ vocabSize: s.vocab, context: s.positions, embed: s.embed, heads: s.heads, layers: s.layers, seed: 1 });
  lm.savePretrained(opt('--dir'), model);
  process.stdout.write(JSON.stringify({ params: model.parameters().reduce((n, p) => n + p.size, 0) }) + '\n');
}

async function generateChild() {
  const lm = await import('../dist/index.js');
  lm.setNumThreads(Number(opt('--threads')));
  const { model } = lm.loadPretrained(opt('--dir'), { dropout: 0 });
  model.eval();
  const prompt = Int32Array.from(opt('--prompt-ids').split(',').map(Number));
  const n = Number(opt('--tokens'));
  const out = [];
  const decoder = lm.makeDecoder(model, { kvCache: true });
  const t0 = performance.now();
  let logits = decoder.prime(prompt);
  const t1 = performance.now();
  for (let i = 0; i < n; i++) {
    const id = lm.argmaxLogits(logits);
    out.push(id);
    if (i + 1 === n) break;
    logits = decoder.step(id);
  }
  const t2 = performance.now();
  decoder.dispose();
  process.stdout.write(
    JSON.stringify({
      peer: 'lmkit',
      threads: lm.native.numThreads(),
      prompt_tokens: prompt.length,
      tokens: out.length,
      prime_seconds: (t1 - t0) / 1000,
      gen_seconds: (t2 - t1) / 1000,
      tokens_per_s: (out.length - 1) / ((t2 - t1) / 1000),
      peak_rss_mb: process.resourceUsage().maxRSS / 1024,
      sgemm: lm.sgemmBackend ? lm.sgemmBackend() : undefined,
      ids: out,
    }) + '\n',
  );
}

// ---- driver -------------------------------------------------------------------------------
async function driver() {
  if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.json`');
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found (Debian python3-torch is the peer)`);
  // Debian's torch calls the system libblas.so.3: without OpenBLAS that is the reference
  // (netlib) BLAS, 20-40x slower at GEMM, which would make any ratio meaningless.
  let blas = 'unknown';
  try {
    blas = realpathSync('/usr/lib/x86_64-linux-gnu/libblas.so.3');
  } catch {}
  if (!blas.includes('openblas') && !has('--allow-reference-blas')) {
    throw new Error(`the system libblas.so.3 is ${blas}, not OpenBLAS: apt-get install libopenblas0-pthread (or pass --allow-reference-blas)`);
  }
  const threads = Number(opt('--threads', '2'));
  const reps = Number(opt('--reps', '2'));
  const shapeName = opt('--shape', 'gpt2');
  const shape = SHAPES[shapeName];
  if (!shape) throw new Error(`unknown --shape ${shapeName} (${Object.keys(SHAPES).join(', ')})`);
  const promptLen = Number(opt('--prompt', '32'));
  const tokens = Number(opt('--tokens', '96'));
  const t0 = performance.now();
  const load0 = loadavg()[0];
  console.log(`${shape.label}; threads ${threads}, ${reps} reps; load average ${load0.toFixed(2)}`);
  const result = {
    benchmark: 'gpt2-cpu',
    title: 'GPT-2 124M shape on the CPU, lmkit vs PyTorch: training, KV-cache generation, peak memory',
    command: `node bench/gpt2-cpu.mjs ${argv.join(' ')}`.trim(),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadavgStart: load0 },
    node: process.version,
    pytorchBlas: `Debian python3-torch (BLAS_INFO=generic) -> system libblas.so.3 -> ${blas}`,
    shape: { name: shapeName, ...shape },
    threads,
    reps,
  };

  if (!has('--no-train')) {
    const dir = mkdtempSync(join(tmpdir(), 'lmkit-gpt2-train-'));
    try {
      // train-cpu.mjs's own driver writes the JSON we need into a file of ours.
      const file = join(dir, 'train.json');
      const args = [join(here, 'train-cpu.mjs'), '--cases', shapeName, '--threads', String(threads), '--reps', String(reps), '--out', file];
      console.log(`training: node ${args.map((x) => x.replace(root + '/', '')).join(' ')}`);
      const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
      process.stdout.write(r.stdout.split('\n').filter((l) => l.startsWith('  ')).join('\n') + '\n');
      if (r.status !== 0) throw new Error(`train-cpu.mjs failed (${r.status})`);
      const tr = JSON.parse(readFileSync(file, 'utf8'));
      const row = tr.rows[0];
      result.training = {
        batch: 4,
        context: shapeName === 'gpt2' ? 256 : 128,
        warmup: row.warmup,
        steps: row.steps,
        lmkit: row.lmkit,
        pytorch: row.pytorch,
        ratio: row.ratio,
        torch: row.torchVersion,
        sgemm: row.sgemm,
        method: tr.method,
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  if (!has('--no-generate')) {
    const dir = mkdtempSync(join(tmpdir(), 'lmkit-gpt2-gen-'));
    try {
      const made = runChild(process.execPath, [fileURLToPath(import.meta.url), '--make-model', '--shape', shapeName, '--dir', dir]);
      // A fixed prompt of ids spread over the vocabulary.
      const prompt = Array.from({ length: promptLen }, (_, i) => (i * 7919 + 13) % shape.vocab).join(',');
      const common = ['--dir', dir, '--prompt-ids', prompt, '--tokens', String(tokens), '--threads', String(threads)];
      const runs = { lmkit: [], pytorch: [] };
      for (let r = 0; r < reps; r++) {
        const order = r % 2 === 0 ? ['lmkit', 'pytorch'] : ['pytorch', 'lmkit'];
        for (const who of order) {
          if (who === 'lmkit') runs.lmkit.push(runChild(process.execPath, [fileURLToPath(import.meta.url), '--generate', ...common]));
          else runs.pytorch.push(runChild(PYTHON, [join(here, 'reference', 'torch_gpt2_generate.py'), ...common]));
          const x = runs[who][runs[who].length - 1];
          console.log(`  generate ${who.padEnd(7)} ${x.tokens_per_s.toFixed(2)} tok/s (prompt ${x.prime_seconds.toFixed(2)} s), peak RSS ${x.peak_rss_mb.toFixed(0)} MB`);
        }
      }
      const a = runs.lmkit[0].ids;
      const b = runs.pytorch[0].ids;
      let agree = 0;
      while (agree < a.length && a[agree] === b[agree]) agree++;
      const stat = (rs) => ({
        tokens_per_s: { median: median(rs.map((x) => x.tokens_per_s)), all: rs.map((x) => x.tokens_per_s) },
        prime_seconds: median(rs.map((x) => x.prime_seconds)),
        peak_rss_mb: median(rs.map((x) => x.peak_rss_mb)),
      });
      result.generation = {
        params: made.params,
        prompt_tokens: promptLen,
        tokens,
        decoding: 'greedy, KV cache, batch 1',
        lmkit: stat(runs.lmkit),
        pytorch: stat(runs.pytorch),
        torch: runs.pytorch[0].torch,
        greedy_prefix_agreement: `${agree} of ${a.length} tokens identical before the first difference`,
      };
      result.generation.ratio = result.generation.lmkit.tokens_per_s.median / result.generation.pytorch.tokens_per_s.median;
      console.log(`  greedy sequences: ${result.generation.greedy_prefix_agreement}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  result.machine.loadavgEnd = loadavg()[0];
  result.wallSeconds = (performance.now() - t0) / 1000;
  const f = (x) => x.toFixed(x >= 100 ? 0 : 2);
  console.log('\n| measure | lmkit | PyTorch | lmkit / PyTorch |\n|---|---|---|---|');
  if (result.training) {
    const t = result.training;
    console.log(`| training tokens/s (B=${t.batch}, T=${t.context}) | ${f(t.lmkit.tokens_per_s.median)} | ${f(t.pytorch.tokens_per_s.median)} | ${t.ratio.toFixed(2)} |`);
    console.log(`| training peak RSS (MB) | ${f(t.lmkit.peak_rss_mb)} | ${f(t.pytorch.peak_rss_mb)} | ${(t.lmkit.peak_rss_mb / t.pytorch.peak_rss_mb).toFixed(2)} |`);
  }
  if (result.generation) {
    const g = result.generation;
    console.log(`| generation tokens/s (KV cache) | ${f(g.lmkit.tokens_per_s.median)} | ${f(g.pytorch.tokens_per_s.median)} | ${g.ratio.toFixed(2)} |`);
    console.log(`| generation peak RSS (MB) | ${f(g.lmkit.peak_rss_mb)} | ${f(g.pytorch.peak_rss_mb)} | ${(g.lmkit.peak_rss_mb / g.pytorch.peak_rss_mb).toFixed(2)} |`);
  }
  console.log(`\n${result.wallSeconds.toFixed(0)} s; load average ${load0.toFixed(2)} -> ${result.machine.loadavgEnd.toFixed(2)}`);
  if (!has('--no-write')) {
    const file = opt('--out', join(here, 'results', 'gpt2-cpu.json'));
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    console.log(`wrote ${file}`);
  }
}

if (has('--make-model')) await makeModel();
else if (has('--generate')) await generateChild();
else await driver();
