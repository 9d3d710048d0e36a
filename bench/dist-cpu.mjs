#!/usr/bin/env node
// Data-parallel benchmark on this machine, over loopback (2 ranks):
// 1. all-reduce (sum, float32) bandwidth for 4 KB .. 64 MB through lmkit (ProcessGroup ->
//    lmkit_gloo.node -> gloo::allreduce), against Gloo's own figure (the same gloo::allreduce
//    timed in C++, bench/dist/gloo_allreduce.cpp: Debian ships no Gloo benchmark binary) and
//    PyTorch's torch.distributed Gloo backend when python3-torch is installed. Interleaved
//    repetitions, medians.
// 2. step time of 2 ranks vs 1 for Bengio's MLP1 and the 2x256 LSTM at the same global batch,
//    1 native thread per process: 1 x B, 1 x B/2 (one rank's compute alone) and 2 x B/2, the
//    latter with the gradient all-reduce after backward (LMKIT_DIST_OVERLAP=0) and overlapped
//    with it (the default); the overhead of data parallelism is (2 x B/2) - (1 x B/2).
// 3. the ring all-reduce cost model for N machines on 10 and 100 Gb/s links, for those
//    gradients (see docs/distributed.md).
// Writes bench/results/dist-cpu.json and the tables between the DIST-RESULTS markers of
// docs/distributed.md (unless --no-write).
//   node bench/dist-cpu.mjs [--quick] [--no-write] [--reps N]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const write = !args.includes('--no-write') && !quick;
const reps = Number(args[args.indexOf('--reps') + 1] ?? 0) || (quick ? 1 : 3);

// Debian's python3-torch (the project's PyTorch peer, as in bench/train-cpu.mjs).
const PYTHON = '/usr/bin/python3';
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const p = s.address().port;
  await new Promise((r) => s.close(r));
  return p;
}
/** Runs `world` processes (cmd, args(rank)) with env(rank); resolves with rank 0's stdout. */
function job(world, cmd, argsOf, envOf) {
  const outs = [];
  return Promise.all(
    Array.from({ length: world }, (_, r) =>
      new Promise((resolve, reject) => {
        const c = spawn(cmd, argsOf(r), { env: { ...process.env, ...envOf(r) }, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        c.stdout.on('data', (d) => (out += d));
        c.stderr.on('data', (d) => (err += d));
        c.on('exit', (code) => (code === 0 ? resolve((outs[r] = out)) : reject(new Error(`${cmd} rank ${r} exited ${code}: ${err.slice(-2000)}`))));
      }),
    ),
  ).then(() => outs[0]);
}
const lines = (s) => s.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

// ---- 1. all-reduce ---------------------------------------------------------------------
const sizes = quick ? [1024, 262144, 1048576] : [1024, 16384, 262144, 1048576, 4194304, 16777216];
const itersOf = (n) => Math.max(5, Math.min(200, Math.floor(2 ** 28 / (4 * n))));
const spec = sizes.map((n) => `${n}:${itersOf(n)}`).join(',');
const benchDir = join(root, 'build', 'bench-dist');
mkdirSync(benchDir, { recursive: true });
const glooBin = join(benchDir, 'gloo_allreduce');
execFileSync('g++', ['-std=c++17', '-O2', '-Wall', '-Wextra', join(root, 'bench/dist/gloo_allreduce.cpp'), '-o', glooBin, '-lgloo', '-lpthread'], { stdio: 'inherit' });
let torchVersion = null;
try {
  torchVersion = execFileSync(PYTHON, ['-c', 'import torch, torch.distributed as d; assert d.is_gloo_available(); print(torch.__version__)'], { encoding: 'utf8' }).trim();
} catch {
  torchVersion = null;
}
const peers = {
  gloo: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gloo-store-'));
    try {
      return await job(2, glooBin, (r) => [String(r), '2', dir, spec], () => ({}));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  lmkit: async () => {
    const port = await freePort();
    return job(2, process.execPath, () => [join(root, 'bench/dist/allreduce-worker.mjs'), spec], (r) => ({ RANK: String(r), WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) }));
  },
  ...(torchVersion
    ? {
        pytorch: async () => {
          const port = await freePort();
          return job(2, PYTHON, () => [join(root, 'bench/reference/torch_allreduce.py'), spec], (r) => ({ RANK: String(r), WORLD_SIZE: '2', MASTER_PORT: String(port), OMP_NUM_THREADS: '1' }));
        },
      }
    : {}),
};
const samples = Object.fromEntries(Object.keys(peers).map((k) => [k, Object.fromEntries(sizes.map((n) => [n, []]))]));
for (let rep = 0; rep < reps; rep++) {
  for (const [name, run] of Object.entries(peers)) {
    for (const r of lines(await run())) samples[name][r.elements].push(r.seconds / r.iters);
    process.stderr.write(`all-reduce rep ${rep + 1}/${reps}: ${name} done\n`);
  }
}
const allreduce = sizes.map((n) => {
  const row = { elements: n, bytes: 4 * n, iters: itersOf(n) };
  for (const name of Object.keys(peers)) {
    const t = median(samples[name][n]);
    row[name] = { seconds: t, GBps: (4 * n) / t / 1e9 };
  }
  row.lmkitOverGloo = row.gloo.seconds / row.lmkit.seconds;
  if (row.pytorch) row.lmkitOverPytorch = row.pytorch.seconds / row.lmkit.seconds;
  return row;
});

// ---- 2. step time --------------------------------------------------------------------
const stepCases = {
  mlp1: { label: 'MLP1 (n=5, m=60, h=50, direct), global B=256', input: { model: 'ffnn', context: 4, embed: 60, hidden: 50, direct: true }, batch: 256, steps: quick ? 8 : 23, warmup: 3 },
  lstm: { label: 'LSTM 2x256 (tied), global B=32, BPTT 35', input: { model: 'lstm', layers: 2, embed: 256, hidden: 256, context: 35 }, batch: 32, steps: quick ? 4 : 10, warmup: 2 },
};
async function stepRun(c, world, batch, env = {}) {
  const input = JSON.stringify({ ...c.input, corpus: 'brown', batch, steps: c.steps, evalTokens: 100, test: false, seed: 1 });
  const port = await freePort();
  const out = await job(world, process.execPath, () => [join(root, 'bench/dist/step-worker.mjs'), input, String(c.warmup)], (r) =>
    world === 1 ? { LMKIT_NUM_THREADS: '1' } : { LMKIT_NUM_THREADS: '1', RANK: String(r), WORLD_SIZE: String(world), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), ...env },
  );
  return lines(out)[0];
}
const steps = {};
for (const [name, c] of Object.entries(stepCases)) {
  const t = { full: [], half: [], two: [], after: [] };
  let parameters = 0;
  for (let rep = 0; rep < reps; rep++) {
    const a = await stepRun(c, 1, c.batch);
    const b = await stepRun(c, 1, c.batch / 2);
    const e = await stepRun(c, 2, c.batch / 2, { LMKIT_DIST_OVERLAP: '0' });
    const d = await stepRun(c, 2, c.batch / 2, { LMKIT_DIST_OVERLAP: '1' });
    parameters = a.parameters;
    t.full.push(median(a.stepMs));
    t.half.push(median(b.stepMs));
    t.after.push(median(e.stepMs));
    t.two.push(median(d.stepMs));
    process.stderr.write(`step time rep ${rep + 1}/${reps}: ${name} done\n`);
  }
  const full = median(t.full);
  const half = median(t.half);
  const two = median(t.two);
  const after = median(t.after);
  steps[name] = {
    label: c.label,
    parameters,
    gradientBytes: 4 * parameters,
    oneFullMs: full,
    oneHalfMs: half,
    twoHalfNoOverlapMs: after,
    twoHalfMs: two,
    overheadNoOverlapMs: after - half,
    overheadMs: two - half,
    speedupNoOverlap: full / after,
    speedup: full / two,
  };
}

// ---- 3. ring all-reduce cost model -----------------------------------------------------
// T(N) = 2 (N-1)/N * S / bandwidth + 2 (N-1) * alpha: reduce-scatter then all-gather, each N-1
// messages of S/N bytes. alpha: per-message latency (assumed 50 us for TCP over Ethernet;
// the loopback figure above is no guide to a network's). Compute per step is the measured
// 1-process step time at the global batch divided by N (perfect compute scaling, 1 thread).
const ALPHA = 50e-6;
const links = { '10 Gb/s': 10e9 / 8, '100 Gb/s': 100e9 / 8 };
const model = {};
for (const [name, s] of Object.entries(steps)) {
  model[name] = [2, 4, 8, 16, 64].map((N) => {
    const row = { N, computeMs: s.oneFullMs / N };
    for (const [link, bw] of Object.entries(links)) {
      const comm = (2 * (N - 1) / N) * (s.gradientBytes / bw) + 2 * (N - 1) * ALPHA;
      row[link] = { commMs: comm * 1000, efficiency: s.oneFullMs / N / (s.oneFullMs / N + comm * 1000) };
    }
    return row;
  });
}

// ---- report ----------------------------------------------------------------------------
const gxx = execFileSync('g++', ['--version'], { encoding: 'utf8' }).split('\n')[0];
const glooPkg = (() => {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', 'libgloo0'], { encoding: 'utf8' });
  } catch {
    return 'unknown';
  }
})();
const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores (shared: load average ${(await import('node:os')).loadavg()[0].toFixed(1)} at the end); node ${process.version}; Gloo (Debian libgloo0 ${glooPkg}); ${gxx}${torchVersion ? `; PyTorch ${torchVersion}` : '; PyTorch not installed (no PyTorch column)'}; ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`;
const result = { machine, reps, allreduce, steps, model, alphaSeconds: ALPHA };
const f = (x, d = 2) => x.toFixed(d);
const kb = (b) => (b >= 2 ** 20 ? `${b / 2 ** 20} MB` : `${b / 1024} KB`);
let md = `Machine: ${machine}. Medians of ${reps} interleaved repetitions; 2 ranks over loopback (127.0.0.1).\n\n`;
md += `All-reduce (sum, float32, 2 ranks): time per call and algorithm bandwidth (bytes / time; for 2 ranks the ring's bus bandwidth is the same).\n\n`;
md += `| size | Gloo C++ (ms) | lmkit (ms) | ${torchVersion ? 'PyTorch Gloo (ms) | ' : ''}Gloo GB/s | lmkit GB/s | ${torchVersion ? 'PyTorch GB/s | ' : ''}lmkit / Gloo speed${torchVersion ? ' | lmkit / PyTorch speed' : ''} |\n`;
md += `|---|---|---|${torchVersion ? '---|' : ''}---|---|${torchVersion ? '---|' : ''}---|${torchVersion ? '---|' : ''}\n`;
for (const r of allreduce) {
  md += `| ${kb(r.bytes)} | ${f(r.gloo.seconds * 1000, 3)} | ${f(r.lmkit.seconds * 1000, 3)} | ${torchVersion ? `${f(r.pytorch.seconds * 1000, 3)} | ` : ''}${f(r.gloo.GBps)} | ${f(r.lmkit.GBps)} | ${torchVersion ? `${f(r.pytorch.GBps)} | ` : ''}${f(r.lmkitOverGloo)}${torchVersion ? ` | ${f(r.lmkitOverPytorch)}` : ''} |\n`;
}
md += `\nStep time (median ms per optimizer step, 1 native thread per process, same global batch):\n\n`;
md += `| model | parameters (gradient MB) | 1 process x B | 1 process x B/2 | 2 ranks x B/2, all-reduce after backward | 2 ranks x B/2, overlapped | overhead after backward | overhead overlapped | speed-up 2 ranks vs 1 (after / overlapped) |\n|---|---|---|---|---|---|---|---|---|\n`;
for (const s of Object.values(steps)) {
  md += `| ${s.label} | ${s.parameters} (${f(s.gradientBytes / 2 ** 20, 1)}) | ${f(s.oneFullMs, 1)} | ${f(s.oneHalfMs, 1)} | ${f(s.twoHalfNoOverlapMs, 1)} | ${f(s.twoHalfMs, 1)} | ${f(s.overheadNoOverlapMs, 1)} | ${f(s.overheadMs, 1)} | ${f(s.speedupNoOverlap)}x / ${f(s.speedup)}x |\n`;
}
md += `\nRing all-reduce model, N machines (one rank each), alpha = ${ALPHA * 1e6} us per message; compute = the 1-process step above / N; efficiency = compute / (compute + all-reduce), no overlap:\n\n`;
md += `| model | N | compute (ms) | all-reduce 10 Gb/s (ms) | efficiency 10 Gb/s | all-reduce 100 Gb/s (ms) | efficiency 100 Gb/s |\n|---|---|---|---|---|---|---|\n`;
for (const [name, rows] of Object.entries(model)) {
  for (const r of rows) {
    md += `| ${name} | ${r.N} | ${f(r.computeMs, 1)} | ${f(r['10 Gb/s'].commMs, 1)} | ${f(r['10 Gb/s'].efficiency * 100, 0)}% | ${f(r['100 Gb/s'].commMs, 1)} | ${f(r['100 Gb/s'].efficiency * 100, 0)}% |\n`;
  }
}
process.stdout.write(md);
if (write) {
  writeFileSync(join(root, 'bench/results/dist-cpu.json'), `${JSON.stringify(result, null, 2)}\n`);
  const doc = join(root, 'docs/distributed.md');
  if (existsSync(doc)) {
    const text = readFileSync(doc, 'utf8');
    const re = /(<!-- DIST-RESULTS:BEGIN \(bench\/dist-cpu\.mjs\) -->\n)[\s\S]*?(<!-- DIST-RESULTS:END -->)/;
    if (re.test(text)) writeFileSync(doc, text.replace(re, `$1${md}$2`));
  }
  process.stderr.write('wrote bench/results/dist-cpu.json and docs/distributed.md\n');
}
