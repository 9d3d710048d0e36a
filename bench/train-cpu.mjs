#!/usr/bin/env node
// End-to-end training throughput, lmkit vs PyTorch (CPU), on the same models, shapes, optimizer
// and batches of Brown word ids:
//   mlp1         Bengio et al. (2003) MLP1: n = 5 (context 4), m = 60, h = 50, direct connections, batch 256
//   lstm         2-layer LSTM LM, embed = hidden = 256, untied output, batch 32, BPTT 35 (state carried)
//   transformer  GPT-2 style, 2 layers, 4 heads, width 128, context 64, batch 16, tied output
// all with |V| = 14114 (the Brown training vocabulary) and AdamW (lr 1e-3, weight decay 1e-2 on
// matrices). One step = forward, mean cross-entropy, loss.item(), backward, AdamW step, zero grads.
//
//   npx tsc -p tsconfig.json && node bench/train-cpu.mjs [--quick] [--reps 3] [--threads 1,2]
//                                                        [--cases mlp1,lstm,transformer] [--no-write] [--out FILE]
//
// Every measurement is a fresh child process (so its peak RSS is its own): lmkit runs this file
// with --worker, PyTorch runs bench/reference/torch_train.py under /usr/bin/python3 (Debian's
// torch). Repetitions alternate lmkit / PyTorch; each reports tokens/s over a fixed number of
// steps after untimed warm-up steps; the table gives medians (min / max in the JSON). The first
// N training ids are written to a temporary int32 file that both sides read and cut into batches
// by the same index formulas (see torch_train.py). Results: bench/results/train-cpu.json.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = join(here, 'reference', 'torch_train.py');
const VOCAB = 14114;
const DATA_TOKENS = 200_000;

const CASES = {
  mlp1: { label: 'MLP1 (n=5, m=60, h=50, direct), B=256', full: { warmup: 3, steps: 20 }, quick: { warmup: 1, steps: 6 } },
  lstm: { label: 'LSTM 2x256, B=32, BPTT 35', full: { warmup: 2, steps: 6 }, quick: { warmup: 1, steps: 2 } },
  transformer: { label: 'GPT 2L/4H/128, T=64, B=16', full: { warmup: 2, steps: 10 }, quick: { warmup: 1, steps: 3 } },
  // Not in the default --cases (long): GPT-2 124M's shape (issue 17), and a reduced shape with GPT-2's
  // vocabulary and position table, labelled as such. The ids are Brown's (< 14114), the models
  // have GPT-2's 50257-way output.
  gpt2: {
    label: 'GPT-2 124M shape: 12L/12H/768, V=50257, 1024 positions; T=256, B=4',
    full: { warmup: 1, steps: 3 },
    quick: { warmup: 1, steps: 1 },
    gpt: { layers: 12, heads: 12, embed: 768, positions: 1024, T: 256, B: 4, vocab: 50257 },
  },
  'gpt2-reduced': {
    label: 'GPT-2 reduced shape: 4L/4H/256, V=50257, 1024 positions; T=128, B=4',
    full: { warmup: 1, steps: 5 },
    quick: { warmup: 1, steps: 2 },
    gpt: { layers: 4, heads: 4, embed: 256, positions: 1024, T: 128, B: 4, vocab: 50257 },
  },
};

const argv = process.argv.slice(2);
function opt(name, dflt) {
  const i = argv.indexOf(name);
  return i < 0 ? dflt : argv[i + 1];
}
const has = (name) => argv.includes(name);

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

// ---------------------------------------------------------------------------------------------
// Worker: one lmkit measurement, one JSON line on stdout.
async function worker() {
  const lm = await import('../dist/index.js');
  const { AdamW, Tensor, tidy, crossEntropy, native } = lm;
  const caseName = opt('--case');
  const threads = Number(opt('--threads', '1'));
  const steps = Number(opt('--steps', '10'));
  const warmup = Number(opt('--warmup', '2'));
  lm.setNumThreads(threads);
  const buf = readFileSync(opt('--data'));
  const ids = new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const N = ids.length;
  const total = warmup + steps;

  let model;
  let stepFn;
  let tokensPerStep;
  if (caseName === 'mlp1') {
    const B = 256;
    const ctx = 4;
    model = new lm.FeedForwardLM({ vocabSize: VOCAB, context: ctx, embed: 60, hidden: 50, direct: true });
    const batches = [];
    for (let s = 0; s < total; s++) {
      const x = new Int32Array(B * ctx);
      const y = new Int32Array(B);
      for (let i = 0; i < B; i++) {
        const p = 4 + ((s * B + i) % (N - 4));
        for (let j = 0; j < ctx; j++) x[i * ctx + j] = ids[p - ctx + j];
        y[i] = ids[p];
      }
      batches.push({ x, y });
    }
    tokensPerStep = B;
    stepFn = (s) =>
      tidy(() => {
        const loss = crossEntropy(model.forward(Tensor.fromArray(batches[s].x, [B, ctx], 'int32')), Tensor.fromArray(batches[s].y, [B], 'int32'));
        const v = loss.item();
        loss.backward();
        return v;
      });
  } else if (caseName === 'lstm') {
    const B = 32;
    const T = 35;
    model = new lm.RecurrentLM({ vocabSize: VOCAB, cell: 'lstm', embed: 256, hidden: 256, layers: 2, tieWeights: false });
    const L = Math.floor(N / B);
    const W = Math.floor((L - 1) / T);
    const batches = [];
    for (let s = 0; s < total; s++) {
      const w = s % W;
      const inputs = new Int32Array(B * T);
      const targets = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        inputs.set(ids.subarray(b * L + w * T, b * L + w * T + T), b * T);
        targets.set(ids.subarray(b * L + w * T + 1, b * L + w * T + T + 1), b * T);
      }
      batches.push({ batch: { inputs, targets, T, batchSize: B }, reset: w === 0 });
    }
    tokensPerStep = B * T;
    let state = null;
    stepFn = (s) => {
      if (batches[s].reset) {
        lm.disposeState(state);
        state = null;
      }
      return tidy(() => {
        const r = lm.recurrentLoss(model, batches[s].batch, state);
        lm.disposeState(state);
        state = r.state;
        const v = r.loss.item();
        r.loss.backward();
        return v;
      });
    };
  } else if (caseName === 'transformer' || CASES[caseName]?.gpt) {
    const g = CASES[caseName].gpt ?? { layers: 2, heads: 4, embed: 128, positions: 64, T: 64, B: 16, vocab: VOCAB };
    const B = g.B;
    const T = g.T;
    model = new lm.TransformerLM({ vocabSize: g.vocab, context: g.positions, embed: g.embed, heads: g.heads, layers: g.layers });
    const batches = [];
    for (let s = 0; s < total; s++) {
      const x = new Int32Array(B * T);
      const y = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        const start = ((s * B + b) * T) % (N - T - 1);
        x.set(ids.subarray(start, start + T), b * T);
        y.set(ids.subarray(start + 1, start + T + 1), b * T);
      }
      batches.push({ x, y });
    }
    tokensPerStep = B * T;
    stepFn = (s) =>
      tidy(() => {
        const logits = model.forward(Tensor.fromArray(batches[s].x, [B, T], 'int32'));
        // inplace: the gradient of the logits overwrites them (nothing reads them after the
        // loss), as lmkit's own training loop does: one (B*T, V) buffer fewer.
        const loss = crossEntropy(logits, Tensor.fromArray(batches[s].y, [B * T], 'int32'), { inplace: true });
        const v = loss.item();
        loss.backward();
        return v;
      });
  } else {
    throw new Error(`unknown case ${caseName}`);
  }
  const params = model.parameters();
  const optimizer = new AdamW(params, { lr: 1e-3, weightDecay: 1e-2 });
  model.train();
  const step = (s) => {
    const v = stepFn(s);
    optimizer.step();
    optimizer.zeroGrad();
    return v;
  };
  for (let s = 0; s < warmup; s++) step(s);
  const t0 = performance.now();
  let loss = NaN;
  for (let s = warmup; s < total; s++) loss = step(s);
  const sec = (performance.now() - t0) / 1000;
  process.stdout.write(
    JSON.stringify({
      peer: 'lmkit',
      case: caseName,
      threads,
      lmkit_threads: native.numThreads(),
      steps,
      warmup,
      tokens: steps * tokensPerStep,
      seconds: sec,
      tokens_per_s: (steps * tokensPerStep) / sec,
      final_loss: loss,
      params: params.reduce((n, p) => n + p.size, 0),
      peak_rss_mb: process.resourceUsage().maxRSS / 1024,
      avx2: native.avx2,
      sgemm: lm.sgemmBackend ? lm.sgemmBackend() : undefined,
    }) + '\n',
  );
}

// ---------------------------------------------------------------------------------------------
// Driver.
function runChild(cmd, args, env) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  }
  const line = r.stdout.trim().split('\n').pop();
  return JSON.parse(line);
}

function blasInfo() {
  try {
    return `libblas.so.3 -> ${realpathSync('/usr/lib/x86_64-linux-gnu/libblas.so.3')}`;
  } catch {
    return 'unknown';
  }
}

async function driver() {
  const quick = has('--quick');
  const reps = Number(opt('--reps', '3'));
  const threadList = opt('--threads', '1,2').split(',').map(Number);
  const caseList = opt('--cases', 'mlp1,lstm,transformer').split(',');
  for (const c of caseList) if (!CASES[c]) throw new Error(`unknown case ${c} (${Object.keys(CASES).join(', ')})`);
  if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.json`');
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found (Debian python3-torch is the peer)`);

  const t0 = performance.now();
  const lm = await import('../dist/index.js');
  const brown = lm.loadBrown();
  const vocab = lm.Vocab.build(brown.train, 4);
  if (vocab.size !== VOCAB) throw new Error(`Brown vocabulary is ${vocab.size}, expected ${VOCAB}`);
  const ids = vocab.encode(brown.train.slice(0, DATA_TOKENS));
  const dir = mkdtempSync(join(tmpdir(), 'lmkit-train-bench-'));
  const data = join(dir, 'brown-train-ids.i32');
  writeFileSync(data, Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength));
  const load0 = loadavg()[0];
  console.log(
    `${quick ? 'quick' : 'full'} run: ${reps} reps, threads ${threadList.join(',')}, first ${ids.length} Brown train ids (|V| ${vocab.size}); load average ${load0.toFixed(2)}`,
  );

  const rows = [];
  try {
    for (const c of caseList) {
      const { warmup, steps } = CASES[c][quick ? 'quick' : 'full'];
      for (const threads of threadList) {
        const runs = { lmkit: [], pytorch: [] };
        const common = ['--case', c, '--threads', String(threads), '--steps', String(steps), '--warmup', String(warmup), '--data', data];
        for (let r = 0; r < reps; r++) {
          // Alternate which side goes first, so drifts in the machine's load hit both.
          const order = r % 2 === 0 ? ['lmkit', 'pytorch'] : ['pytorch', 'lmkit'];
          for (const who of order) {
            if (who === 'lmkit') runs.lmkit.push(runChild(process.execPath, [fileURLToPath(import.meta.url), '--worker', ...common], {}));
            else runs.pytorch.push(runChild(PYTHON, [TORCH_SCRIPT, ...common], {}));
          }
        }
        const stat = (rs) => {
          const tps = rs.map((x) => x.tokens_per_s);
          return {
            tokens_per_s: { median: median(tps), min: Math.min(...tps), max: Math.max(...tps), all: tps },
            peak_rss_mb: median(rs.map((x) => x.peak_rss_mb)),
            final_loss: median(rs.map((x) => x.final_loss)),
            params: rs[0].params,
          };
        };
        const row = { case: c, label: CASES[c].label, threads, warmup, steps, lmkit: stat(runs.lmkit), pytorch: stat(runs.pytorch) };
        row.ratio = row.lmkit.tokens_per_s.median / row.pytorch.tokens_per_s.median;
        row.torchVersion = runs.pytorch[0].torch;
        row.torchBlasLibs = runs.pytorch[0].blas_libs_loaded;
        row.sgemm = runs.lmkit[0].sgemm;
        rows.push(row);
        console.log(
          `  ${c.padEnd(11)} t=${threads}  lmkit ${row.lmkit.tokens_per_s.median.toFixed(0).padStart(6)} tok/s  ` +
            `pytorch ${row.pytorch.tokens_per_s.median.toFixed(0).padStart(6)} tok/s  ratio ${row.ratio.toFixed(2)}  ` +
            `(loss ${row.lmkit.final_loss.toFixed(2)} / ${row.pytorch.final_loss.toFixed(2)}, RSS ${row.lmkit.peak_rss_mb.toFixed(0)} / ${row.pytorch.peak_rss_mb.toFixed(0)} MB)`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const fmt = (x) => x.toFixed(0);
  console.log('\n| case | threads | lmkit tok/s | PyTorch tok/s | lmkit / PyTorch | peak RSS lmkit / PyTorch (MB) |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.label} | ${r.threads} | ${fmt(r.lmkit.tokens_per_s.median)} | ${fmt(r.pytorch.tokens_per_s.median)} | ${r.ratio.toFixed(2)} | ` +
        `${fmt(r.lmkit.peak_rss_mb)} / ${fmt(r.pytorch.peak_rss_mb)} |`,
    );
  }
  const wall = (performance.now() - t0) / 1000;
  console.log(`\n${wall.toFixed(0)} s; load average ${load0.toFixed(2)} -> ${loadavg()[0].toFixed(2)}`);

  if (!has('--no-write')) {
    const out = {
      benchmark: 'train-cpu',
      title: 'End-to-end training throughput, lmkit vs PyTorch (CPU)',
      command: `node bench/train-cpu.mjs ${argv.join(' ')}`.trim(),
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      mode: quick ? 'quick' : 'full',
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadavgStart: load0, loadavgEnd: loadavg()[0] },
      node: process.version,
      torch: rows[0]?.torchVersion,
      blas: {
        lmkit: rows[0]?.sgemm ?? 'built-in',
        pytorch: `Debian python3-torch (BLAS_INFO=generic) -> system ${blasInfo()}; OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = torch.set_num_threads = threads`,
        pytorchLoaded: rows[0]?.torchBlasLibs,
      },
      data: `first ${ids.length} Brown training ids, vocabulary ${vocab.size} (min count 4, as Bengio et al. and ANCHORS.md)`,
      method:
        'one child process per measurement; reps alternate lmkit / PyTorch; tokens/s = predicted tokens over the timed steps (after untimed warm-up); step = forward + mean cross-entropy + loss.item() + backward + AdamW + zero grads (lmkit transformer cases: crossEntropy inplace, the gradient of the logits written over them, as lmkit\'s training loop does)',
      reps,
      wallSeconds: wall,
      rows,
    };
    const file = opt('--out', join(here, 'results', 'train-cpu.json'));
    writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
    console.log(`wrote ${file}`);
  }
}

if (has('--worker')) await worker();
else await driver();
