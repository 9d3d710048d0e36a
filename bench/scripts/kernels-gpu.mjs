#!/usr/bin/env node
// lmkit CUDA kernels vs PyTorch CUDA on the same GPU: the GPU counterpart of `lmkit bench kernels`
// (bench/native/bench_kernels.cpp + bench/reference/torch_kernels.py). `lmkit bench kernels
// --device cuda` runs this script; scripts/gpu-session.sh runs it in its `bench` step.
//
//   node bench/scripts/kernels-gpu.mjs [--quick] [--cases a,b] [--reps 7] [--min-ms 40]
//        [--cooldown-ms 100] [--tf32 1|0] [--peers pytorch|none] [--python PATH]
//        [--deadline-s S] [--out FILE | --no-write] [--json] [--addon FILE]
//   node bench/scripts/kernels-gpu.mjs --probe       one JSON line: the addon's cudaInfo() before and
//                                                    after one small matmul, checked against the CPU
//   node bench/scripts/kernels-gpu.mjs --list        the case list (JSON), no GPU needed
//   node bench/scripts/kernels-gpu.mjs --device cpu  a dry run: the same bindings on CPU storages of
//                                                    the CPU addon, PyTorch on the CPU (1 thread); it
//                                                    checks every case's setup where no GPU is
//                                                    (results go to build/bench/, never bench/results)
//
// What is timed: lmkit's op bindings (native/napi) called from JS on device storages of the CUDA
// addon (build-cuda/Release/lmkit_cuda.node, or LMKIT_ADDON / --addon), exactly as lib/ops calls
// them; cudaSynchronize() after the untimed call and after the last timed call of each sample, so
// a sample is host wall-clock time from an idle device to the end of the last kernel, divided by
// the calls (launch and N-API overhead included). PyTorch: the same cases, shapes and timing
// (bench/reference/torch_kernels.py --device cuda). Medians of `reps` samples.
//
// Cases: bench_kernels.cpp's table (`bench_kernels --list --gpu`; needs dist/ and cmake): the CPU
// benchmark's cases plus larger GPU-sized ones (`gpu: true`: GPT-2-small shapes and 4096/8192
// squares). Output: bench/results/kernels-cuda.json
// (--quick: build/bench/kernels-cuda-quick.json) in the schema of kernels-cpu.json (rows with
// lmkit and peer figures and ratios; `threads` is 1, the one host thread), plus `gemm`: TFLOP/s of
// every matmul case against the GPU's peak (H100/H200 figures of ANCHORS.md).
//
// Exit codes: 0 done; 1 a failure (message on stderr), or a case lmkit failed (the results are
// written all the same, the failure in `skipped`); 2 bad arguments; 3 no usable GPU.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);
const say = (s) => process.stderr.write(`${s}\n`);

class Usage extends Error {}
class NoGpu extends Error {}

// ---------------------------------------------------------------------------------------------
// Cases: the one table of bench/native/bench_kernels.cpp (all_cases()), read with
// `bench_kernels --list --gpu`: the CPU benchmark's cases plus the GPU-sized ones (`gpu: true`),
// with their shapes, nominal flops and bytes. The executable is built (CMake, as `lmkit bench
// kernels` does) when missing or older than its sources.

let ALL_CASES;
async function loadCases() {
  const bench = join(ROOT, 'dist', 'cli', 'bench.js');
  if (!existsSync(bench)) throw new Error(`${relative(ROOT, bench)} is missing: compile lmkit first (npx tsc -p tsconfig.json)`);
  const { ensureKernelBench } = await import(pathToFileURL(bench).href);
  const exe = ensureKernelBench();
  const r = spawnSync(exe, ['--list', '--gpu'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${relative(ROOT, exe)} --list --gpu failed (exit ${r.status}): ${(r.stderr ?? '').trim()}`);
  ALL_CASES = JSON.parse(r.stdout).cases;
}

// ---------------------------------------------------------------------------------------------
// Peaks (dense) of ANCHORS.md; the H100 PCIe figures are NVIDIA's datasheet's (not in ANCHORS.md).

const PEAKS = [
  { re: /H200/i, name: 'H200', tf32: 495, fp32: 67, bf16: 989, hbm_gbs: 4800, source: 'ANCHORS.md (H100 SXM and H200)' },
  { re: /H100.*PCIe/i, name: 'H100 PCIe', tf32: 378, fp32: 51, bf16: 756, hbm_gbs: 2000, source: 'NVIDIA H100 PCIe datasheet (dense)' },
  { re: /H100/i, name: 'H100 SXM', tf32: 495, fp32: 67, bf16: 989, hbm_gbs: 3350, source: 'ANCHORS.md (H100 SXM and H200)' },
];
function peakFor(gpuName) {
  const p = PEAKS.find((x) => x.re.test(gpuName ?? ''));
  if (!p) return null;
  const { re: _re, ...rest } = p;
  return { ...rest, units: 'TFLOP/s (tf32, fp32, bf16), GB/s (hbm_gbs)' };
}

// ---------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const o = { device: 'cuda', peers: 'pytorch', write: true };
  const val = (i) => {
    if (i + 1 >= argv.length) throw new Usage(`${argv[i]} needs a value`);
    return argv[i + 1];
  };
  const num = (s, name, min = 0) => {
    const n = Number(s);
    if (!Number.isFinite(n) || n < min) throw new Usage(`${name} must be a number >= ${min} (got ${s})`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--json') o.json = true;
    else if (a === '--list') o.list = true;
    else if (a === '--probe') o.probe = true;
    else if (a === '--no-write') o.write = false;
    else if (a === '--cases') o.cases = val(i++);
    else if (a === '--reps') o.reps = Math.round(num(val(i++), '--reps', 1));
    else if (a === '--min-ms') o.minMs = num(val(i++), '--min-ms');
    else if (a === '--cooldown-ms') o.cooldownMs = num(val(i++), '--cooldown-ms');
    else if (a === '--deadline-s') o.deadlineS = num(val(i++), '--deadline-s');
    else if (a === '--tf32') o.tf32 = val(i++);
    else if (a === '--peers') o.peers = val(i++);
    else if (a === '--python') o.python = val(i++);
    else if (a === '--out') o.out = resolve(val(i++));
    else if (a === '--addon') o.addon = resolve(val(i++));
    else if (a === '--device') o.device = val(i++);
    else if (a === '-h' || a === '--help') o.help = true;
    else throw new Usage(`unknown argument ${a}`);
  }
  if (!['cuda', 'cpu'].includes(o.device)) throw new Usage(`--device must be cuda or cpu (got ${o.device})`);
  if (!['pytorch', 'none', 'all'].includes(o.peers)) throw new Usage(`--peers must be pytorch, all or none (got ${o.peers})`);
  if (o.tf32 !== undefined && o.tf32 !== '0' && o.tf32 !== '1') throw new Usage(`--tf32 must be 0 or 1 (got ${o.tf32})`);
  return o;
}

function selectCases(o) {
  if (o.cases) {
    const names = o.cases.split(',').map((s) => s.trim()).filter(Boolean);
    const pick = [];
    for (const n of names) {
      // A trailing * selects a prefix (e.g. mm_*).
      const hits = n.endsWith('*') ? ALL_CASES.filter((k) => k.case.startsWith(n.slice(0, -1))) : ALL_CASES.filter((k) => k.case === n);
      if (hits.length === 0) throw new Usage(`no case ${n} (cases: ${ALL_CASES.map((k) => k.case).join(', ')})`);
      for (const h of hits) if (!pick.includes(h)) pick.push(h);
    }
    return pick;
  }
  // On the CPU (a dry run) the GPU-sized cases would take minutes each: only the CPU list.
  return ALL_CASES.filter((k) => (o.device === 'cpu' ? !k.gpu : true) && (!o.quick || k.quick));
}

// ---------------------------------------------------------------------------------------------
// The addon

function addonPath(o) {
  if (o.addon) return o.addon;
  if (process.env.LMKIT_ADDON) return resolve(process.env.LMKIT_ADDON);
  const cands =
    o.device === 'cuda'
      ? ['build-cuda/Release/lmkit_cuda.node', 'build/Release/lmkit_cuda.node', 'packages/lmkit-cuda-linux-x64/lmkit-cuda.node', 'prebuilds/linux-x64/lmkit-cuda.node']
      : ['build/Release/lmkit.node', 'build-cuda/Release/lmkit.node', 'prebuilds/linux-x64/lmkit.node', 'build-cuda/Release/lmkit_cuda.node'];
  for (const p of cands) if (existsSync(join(ROOT, p))) return join(ROOT, p);
  throw new (o.device === 'cuda' ? NoGpu : Error)(
    o.device === 'cuda' ? `no CUDA addon found (${cands.join(', ')}): build it with bash scripts/build-cuda.sh` : `no CPU addon found (${cands.join(', ')})`,
  );
}

function loadAddon(o) {
  // cuBLAS reads LMKIT_CUDA_TF32 when its handle is created (first matmul): set it first.
  if (o.tf32 !== undefined) process.env.LMKIT_CUDA_TF32 = o.tf32;
  const path = addonPath(o);
  let addon;
  try {
    addon = require(path);
  } catch (e) {
    throw new (o.device === 'cuda' ? NoGpu : Error)(`cannot load ${path}: ${String(e.message ?? e).split('\n')[0]}`);
  }
  if (o.device === 'cuda') {
    if (addon.backend !== 'cuda' || typeof addon.cudaInfo !== 'function') throw new NoGpu(`${path} is not the CUDA addon (backend ${addon.backend})`);
    const info = addon.cudaInfo();
    if (!(info.deviceCount > 0) || info.error) throw new NoGpu(`the CUDA addon sees no usable GPU: ${info.error ?? 'no device'} (${path})`);
  }
  return { addon, path };
}

// ---------------------------------------------------------------------------------------------
// Runners: one closure per case calling the binding on storages of `dev`

function lcg(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function makeRunner(addon, k, dev) {
  const d = k.dims;
  const rng = lcg(7);
  const owned = [];
  const alloc = (dtype, n) => {
    const s = new addon.Storage(dtype, n, false, dev);
    owned.push(s);
    return s;
  };
  // Random values written in chunks (a 124M-float tensor is not built as one JS array).
  const rand = (n, lo = -1, hi = 1) => {
    const s = alloc('float32', n);
    const chunk = 1 << 22;
    for (let off = 0; off < n; off += chunk) {
      const a = new Float32Array(Math.min(chunk, n - off));
      for (let i = 0; i < a.length; i++) a[i] = lo + (hi - lo) * rng();
      s.write(a, off);
    }
    return s;
  };
  const zeros = (n) => {
    const s = alloc('float32', n);
    s.fill(0);
    return s;
  };
  const ids = (n, vocab) => {
    const s = alloc('int32', n);
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.floor(rng() * vocab) % vocab;
    s.write(a);
    return s;
  };
  let fn;
  let note;
  switch (k.kind) {
    case 'matmul': {
      const { M, N, K, transA, transB, beta } = d;
      const A = rand(M * K);
      const B = rand(K * N);
      const C = zeros(M * N);
      if (!beta) {
        fn = () => addon.matmul_forward(C, A, B, 1, M, N, K, !!transA, !!transB);
      } else if (transA && !transB) {
        // C (M,N) += A^T B with A stored (K,M), B (K,N): the weight gradient of a forward
        // x (K',M'=K rows) @ w, i.e. matmul_backward's db with accumulate (what autograd calls).
        const W = zeros(M * N); // the forward's b: only its size is read
        fn = () => addon.matmul_backward(null, C, B, A, W, 1, K, N, M, false, false, true);
        note = 'matmul_backward(db, accumulate) = the weight gradient dW += X^T dY';
      } else {
        throw new Error(`${k.case}: beta = 1 is timed only for transA = 1, transB = 0`);
      }
      break;
    }
    case 'embedding_forward': {
      const table = rand(d.V * d.C);
      const out = zeros(d.N * d.C);
      const t = ids(d.N, d.V);
      fn = () => addon.embedding_forward(out, t, table, d.N, d.V, d.C);
      note = 'the binding checks the ids against V on a host copy (a device-to-host read per call)';
      break;
    }
    case 'embedding_backward': {
      const dtable = rand(d.V * d.C);
      const dout = rand(d.N * d.C);
      const t = ids(d.N, d.V);
      fn = () => addon.embedding_backward(dtable, dout, t, d.N, d.V, d.C);
      note = 'ids checked on a host copy per call; the kernel scatters with atomicAdd';
      break;
    }
    case 'lstm_cell_forward':
    case 'lstm_cell_backward': {
      const { B, H } = d;
      const pre = rand(B * 4 * H, -2, 2);
      const cPrev = rand(B * H);
      const h = zeros(B * H);
      const cc = zeros(B * H);
      const gates = zeros(B * 4 * H);
      addon.lstm_cell_forward(h, cc, gates, pre, cPrev, B, H);
      if (k.kind === 'lstm_cell_forward') {
        fn = () => addon.lstm_cell_forward(h, cc, gates, pre, cPrev, B, H);
      } else {
        const dh = rand(B * H);
        const dcNext = rand(B * H);
        const dpre = zeros(B * 4 * H);
        const dcPrev = zeros(B * H);
        fn = () => addon.lstm_cell_backward(dpre, dcPrev, dh, dcNext, gates, cc, cPrev, B, H);
      }
      break;
    }
    case 'attention_forward':
    case 'attention_backward': {
      const { B, T, C, NH } = d;
      const scale = 1 / Math.sqrt(C / NH);
      const q = rand(B * T * C);
      const kk = rand(B * T * C);
      const v = rand(B * T * C);
      const out = zeros(B * T * C);
      const probs = zeros(B * NH * T * T);
      addon.attention_forward(out, probs, q, kk, v, null, B, T, T, C, NH, true, scale);
      if (k.kind === 'attention_forward') {
        fn = () => addon.attention_forward(out, probs, q, kk, v, null, B, T, T, C, NH, true, scale);
      } else {
        const dout = rand(B * T * C);
        const dq = zeros(B * T * C);
        const dk = zeros(B * T * C);
        const dv = zeros(B * T * C);
        fn = () => addon.attention_backward(dq, dk, dv, dout, q, kk, v, probs, B, T, T, C, NH, scale);
      }
      break;
    }
    case 'crossentropy': {
      const logits = rand(d.N * d.V, -4, 4);
      const dlogits = zeros(d.N * d.V);
      const losses = zeros(d.N);
      const t = ids(d.N, d.V);
      // Returns the mean loss: the per-row losses are read back (a host sync per call, as in training).
      fn = () => addon.crossentropy_forward_backward(losses, dlogits, logits, t, d.N, d.V, -100, true, 1);
      note = 'returns the mean loss to JS (per-row losses read back: one host sync per call)';
      break;
    }
    case 'adamw': {
      const p = rand(d.n);
      const g = rand(d.n, -1e-2, 1e-2);
      const m = zeros(d.n);
      const v2 = zeros(d.n);
      let step = 0;
      fn = () => addon.adamw_step(p, m, v2, g, d.n, 1e-3, 0.9, 0.999, 1e-8, 1e-2, ++step, true);
      break;
    }
    default:
      throw new Error(`no runner for kind ${k.kind}`);
  }
  return {
    fn,
    note,
    dispose: () => {
      for (const s of owned) s.dispose();
    },
  };
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms) => {
  if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
};
const nowS = () => performance.now() / 1000;

function stats(v) {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return { median: n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]), min: s[0], max: s[n - 1] };
}

/** The timing of bench_kernels / torch_kernels.py, with a device sync around each sample. */
function timeit(fn, sync, reps, minMs, cooldownMs) {
  fn();
  sync();
  const t0 = nowS();
  fn();
  sync();
  const one = Math.max(1e-7, nowS() - t0);
  const inner = Math.max(1, Math.ceil((minMs * 1e-3) / one));
  const per = [];
  for (let r = 0; r < reps; r++) {
    sleep(cooldownMs);
    fn();
    sync();
    const t = nowS();
    for (let i = 0; i < inner; i++) fn();
    sync();
    per.push((nowS() - t) / inner);
  }
  return { seconds: stats(per), inner };
}

// ---------------------------------------------------------------------------------------------
// PyTorch

function findPython(o) {
  const cands = [o.python, process.env.LMKIT_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean);
  const tried = [];
  for (const p of cands) {
    const r = spawnSync(p, ['-c', 'import torch, sys; print(torch.__version__); print(int(torch.cuda.is_available()))'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) {
      const [version, cuda] = r.stdout.trim().split('\n');
      if (o.device === 'cpu' || cuda === '1') return { python: p, version };
      tried.push(`${p}: torch ${version} sees no CUDA device`);
    } else {
      tried.push(`${p}: ${r.error ? r.error.message : (r.stderr || '').trim().split('\n').pop()}`);
    }
  }
  return { why: `no Python with a usable PyTorch (${tried.join('; ')})` };
}

function runTorch(o, casesFile, timing, deadlineS) {
  const py = findPython(o);
  if (!py.python) return { ran: false, why: py.why, runs: [] };
  const args = ['bench/reference/torch_kernels.py', '--cases', casesFile, '--device', o.device, ...timing];
  if (o.device === 'cpu') args.push('--threads', '1');
  else args.push('--tf32', o.tf32 === '0' ? '0' : '1');
  if (deadlineS > 0) args.push('--deadline-s', String(Math.max(1, Math.round(deadlineS))));
  say(`pytorch: ${py.python} ${args.join(' ')}`);
  const env = { ...process.env, PYTHONUNBUFFERED: '1' };
  if (o.device === 'cpu') Object.assign(env, { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' });
  const r = spawnSync(py.python, args, { cwd: ROOT, encoding: 'utf8', env, maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 2] });
  if (r.status !== 0) return { ran: false, why: `torch_kernels.py failed (exit ${r.status ?? r.signal})`, version: py.version, runs: [] };
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  return {
    ran: true,
    version: out.torch,
    threads: o.device === 'cpu' ? '1 (dry run)' : 'one host thread driving the GPU',
    detail: { python: py.python, device: out.device, gpu: out.gpu, cuda: out.cuda, tf32: out.tf32, adamw: out.adamw },
    runs: [out],
  };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
    const head = lines.slice(0, lines.findIndex((l) => !l.startsWith('//')));
    process.stdout.write(`${head.map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`);
    return 0;
  }
  if (!o.probe) await loadCases();
  if (o.list) {
    process.stdout.write(`${JSON.stringify({ cases: selectCases(o) }, null, 1)}\n`);
    return 0;
  }
  const { addon, path } = loadAddon(o);
  const sync = o.device === 'cuda' ? () => addon.cudaSynchronize() : () => {};
  if (o.device === 'cpu') addon.setNumThreads(1); // the dry run: one thread, as PyTorch gets

  if (o.probe) {
    if (o.device !== 'cuda') throw new Usage('--probe needs --device cuda');
    const before = addon.cudaInfo();
    const M = 96, N = 80, K = 64;
    const a = new Float32Array(M * K).map((_, i) => Math.sin(i));
    const b = new Float32Array(K * N).map((_, i) => Math.cos(i));
    const run = (dev) => {
      const S = (n, data) => {
        const s = new addon.Storage('float32', n, true, dev);
        if (data) s.write(data);
        return s;
      };
      const [sa, sb, sc] = [S(M * K, a), S(K * N, b), S(M * N)];
      addon.matmul_forward(sc, sa, sb, 1, M, N, K, false, false);
      const out = sc.read();
      for (const s of [sa, sb, sc]) s.dispose();
      return out;
    };
    const cpu = run('cpu');
    const t0 = nowS();
    const gpu = run('cuda');
    sync();
    let maxAbs = 0;
    for (let i = 0; i < cpu.length; i++) maxAbs = Math.max(maxAbs, Math.abs(cpu[i] - gpu[i]));
    const after = addon.cudaInfo();
    process.stdout.write(`${JSON.stringify({ addon: path, before, after, matmul: { M, N, K, maxAbsDiffVsCpu: maxAbs, seconds: nowS() - t0 }, memory: addon.memory() })}\n`);
    return maxAbs < 0.1 ? 0 : 1;
  }

  const cases = selectCases(o);
  const quick = !!o.quick;
  const reps = o.reps ?? (quick ? 3 : 7);
  const minMs = o.minMs ?? (quick ? 10 : 40);
  const cooldownMs = o.cooldownMs ?? (quick ? 20 : 100);
  const timing = ['--reps', String(reps), '--min-ms', String(minMs), '--cooldown-ms', String(cooldownMs)];
  const deadline = o.deadlineS ?? 0;
  const load0 = loadavg()[0];
  const t0 = nowS();
  const info = o.device === 'cuda' ? addon.cudaInfo() : null;
  say(`lmkit: ${relative(ROOT, path)} on ${o.device === 'cuda' ? info.name : 'the CPU (dry run)'}; ${cases.length} cases, reps ${reps}, min ${minMs} ms`);

  // 1. lmkit. With a deadline, lmkit gets half of it and PyTorch the rest.
  const mine = [];
  const skipped = [];
  for (const k of cases) {
    if (deadline > 0 && nowS() - t0 > deadline / 2) {
      skipped.push({ case: k.case, why: `time budget (--deadline-s ${deadline}) spent` });
      continue;
    }
    let r;
    try {
      r = makeRunner(addon, k, o.device);
      const t = timeit(r.fn, sync, reps, minMs, cooldownMs);
      mine.push({ case: k.case, impl: 'lmkit', threads: 1, seconds: t.seconds, reps, calls_per_rep: t.inner, ...(r.note ? { note: r.note } : {}) });
      const w = k.metric === 'GFLOP/s' ? k.flops : k.bytes;
      say(`lmkit ${k.case}: ${(t.seconds.median * 1e3).toFixed(3)} ms, ${((w / t.seconds.median) * 1e-9).toFixed(1)} ${k.metric}`);
    } catch (e) {
      const why = String(e?.message ?? e).split('\n')[0];
      skipped.push({ case: k.case, why: `lmkit failed: ${why}` });
      say(`lmkit ${k.case}: FAILED: ${why}`);
      try {
        sync(); // a sticky error would fail every later case too; say so early
      } catch (e2) {
        say(`lmkit: the device reports an error after ${k.case}: ${String(e2?.message ?? e2).split('\n')[0]}`);
      }
    } finally {
      r?.dispose();
    }
  }
  if (o.device === 'cuda') {
    try {
      addon.emptyCache(); // give the pool back before PyTorch allocates
    } catch {
      /* ignore */
    }
  }

  // 2. PyTorch.
  const tmp = mkdtempSync(join(tmpdir(), 'lmkit-kernels-gpu-'));
  let torch = { ran: false, why: 'not run (--peers none)', runs: [] };
  try {
    if (o.peers !== 'none') {
      const casesFile = join(tmp, 'cases.json');
      writeFileSync(casesFile, JSON.stringify({ cases }));
      const left = deadline > 0 ? Math.max(1, deadline - (nowS() - t0)) : 0;
      torch = runTorch(o, casesFile, timing, left);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  // 3. Merge: one row per case (the schema of kernels-cpu.json; threads = 1).
  const gpuName = info?.name ?? null;
  const peak = o.device === 'cuda' ? peakFor(gpuName) : null;
  const tf32 = o.device === 'cuda' && process.env.LMKIT_CUDA_TF32 !== '0';
  const infoEnd = o.device === 'cuda' ? addon.cudaInfo() : null; // after the first matmul: cuBLAS version, SGEMM engine
  const ownSgemm = /^own/.test(infoEnd?.sgemm ?? '');
  const rate = (w, s) => ({ median: (w / s.median) * 1e-9, min: (w / s.max) * 1e-9, max: (w / s.min) * 1e-9 });
  const peakOf = (k) => {
    if (!peak) return { value: null, basis: null };
    if (k.kind === 'matmul') return tf32 && !ownSgemm ? { value: peak.tf32 * 1e3, basis: 'TF32 tensor-core peak' } : { value: peak.fp32 * 1e3, basis: 'FP32 peak' };
    if (k.metric === 'GFLOP/s') return { value: peak.fp32 * 1e3, basis: 'FP32 peak (lmkit attention: CUDA cores)' };
    return { value: peak.hbm_gbs, basis: 'HBM bandwidth (small cases run from L2 and can exceed it)' };
  };
  const rows = [];
  for (const k of cases) {
    const m = mine.find((x) => x.case === k.case);
    if (!m) continue;
    const w = k.metric === 'GFLOP/s' ? k.flops : k.bytes;
    const lr = rate(w, m.seconds);
    const pk = peakOf(k);
    const row = {
      case: k.case,
      family: k.family,
      desc: k.desc,
      metric: k.metric,
      threads: 1,
      gpu_case: !!k.gpu,
      lmkit: { ...lr, seconds: m.seconds, peak_fraction: pk.value ? lr.median / pk.value : null, peak_basis: pk.basis, calls_per_rep: m.calls_per_rep, ...(m.note ? { note: m.note } : {}) },
      peers: {},
    };
    if (o.peers !== 'none') {
      const hit = torch.ran ? torch.runs.flatMap((x) => x.results).find((x) => x.case === k.case) : undefined;
      if (hit) {
        const pr = rate(w, hit.seconds);
        row.peers.pytorch = { ...pr, ratio: lr.median / pr.median, seconds: hit.seconds, threads: 1 };
      } else {
        row.peers.pytorch = { skipped: torch.ran ? (torch.runs.flatMap((x) => x.skipped).find((x) => x.case === k.case)?.why ?? 'no result') : torch.why };
      }
    }
    rows.push(row);
  }
  const gemm = rows
    .filter((r) => r.family === 'matmul')
    .map((r) => {
      const k = cases.find((x) => x.case === r.case);
      const p = r.peers.pytorch;
      return {
        case: r.case,
        dims: k.dims,
        lmkit_tflops: r.lmkit.median / 1e3,
        pytorch_tflops: p && !p.skipped ? p.median / 1e3 : null,
        ratio: p && !p.skipped ? p.ratio : null,
        peak_tflops: r.lmkit.peak_fraction != null ? r.lmkit.median / 1e3 / r.lmkit.peak_fraction : null,
        peak_basis: r.lmkit.peak_basis,
        lmkit_peak_fraction: r.lmkit.peak_fraction,
        pytorch_peak_fraction: p && !p.skipped && r.lmkit.peak_fraction != null ? p.median / (r.lmkit.median / r.lmkit.peak_fraction) : null,
      };
    });

  const dry = o.device === 'cpu';
  const doc = {
    benchmark: dry ? 'kernels-cuda-dryrun-cpu' : 'kernels-cuda',
    title: dry ? 'DRY RUN on the CPU: the CUDA kernel benchmark harness on CPU storages (not a GPU measurement)' : 'lmkit CUDA kernels vs PyTorch CUDA on the same GPU',
    command: `node bench/scripts/kernels-gpu.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    mode: quick ? 'quick' : 'full',
    device: o.device,
    machine: {
      gpu: info
        ? {
            name: info.name,
            compute_capability: info.computeCapability,
            multiprocessors: info.multiprocessors,
            total_memory: info.totalMemory,
            driver: info.driverVersion,
            runtime: info.runtimeVersion,
            cublas: infoEnd.cublas,
            cublas_path: infoEnd.cublasPath ?? null,
            cublas_version: infoEnd.cublasVersion ?? null,
            cublas_error: infoEnd.cublasError ?? null,
            sgemm: infoEnd.sgemm ?? null,
          }
        : null,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      loadavgStart: load0,
      loadavgEnd: loadavg()[0],
      peak,
    },
    versions: { node: process.version, addon: relative(ROOT, path), torch: torch.version ?? null },
    settings: {
      threads: [1],
      reps,
      min_ms: minMs,
      cooldown_ms: cooldownMs,
      tf32,
      deadline_s: deadline || null,
      statistic: `median (min, max) of ${reps} samples; a sample is the mean time per call over calls lasting >= ${minMs} ms, after ${cooldownMs} ms idle, one untimed call and a device sync, ending with a device sync`,
      units:
        'GFLOP/s = nominal flops (2 per multiply-add; attention counts full T x T scores) / s; GB/s = bytes each kernel must read + write / s; ratio = lmkit / peer (> 1: lmkit faster); peak_fraction: of the basis named in peak_basis',
    },
    peers: { pytorch: { ran: torch.ran, why: torch.why, version: torch.version, threads: torch.threads, detail: torch.detail } },
    cases: cases.map(({ gpu, ...k }) => ({ ...k, gpu: !!gpu })),
    rows,
    gemm,
    skipped,
    wallSeconds: nowS() - t0,
  };
  const out = o.write === false ? null : (o.out ?? join(ROOT, dry ? 'build/bench/kernels-cuda-dryrun-cpu.json' : quick ? 'build/bench/kernels-cuda-quick.json' : 'bench/results/kernels-cuda.json'));
  if (out) {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
  }
  if (o.json) process.stdout.write(`${JSON.stringify(doc)}\n`);
  else printTable(doc, out);
  // Results are written either way; a case lmkit failed (not one the budget left out) fails the run.
  return rows.length === 0 || skipped.some((x) => x.why.startsWith('lmkit failed')) ? 1 : 0;
}

function printTable(doc, out) {
  const f = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  const g = doc.machine.gpu;
  const lines = [
    g ? `${g.name} (cc ${g.compute_capability}, ${g.multiprocessors} SMs), driver ${g.driver}, runtime ${g.runtime}, SGEMM ${g.sgemm ?? '?'}, cuBLAS ${g.cublas ? (g.cublas_version ?? 'loaded') : `not loaded (${g.cublas_error ?? '?'})`}, TF32 ${doc.settings.tf32 ? 'on' : 'off'}` : doc.title,
    '',
    ['case', 'unit', 'lmkit', '%peak', 'pytorch (lmkit/pytorch)'].join(' | '),
  ];
  for (const r of doc.rows) {
    const p = r.peers.pytorch;
    const pc = !p ? '-' : p.skipped ? `- (${p.skipped.slice(0, 60)})` : `${f(p.median)} (${p.ratio.toFixed(2)})`;
    const pk = r.lmkit.peak_fraction == null ? '-' : `${(100 * r.lmkit.peak_fraction).toFixed(0)}%`;
    lines.push([r.case, r.metric, f(r.lmkit.median), pk, pc].join(' | '));
  }
  for (const s of doc.skipped) lines.push(`skipped ${s.case}: ${s.why}`);
  lines.push('');
  for (const x of doc.gemm) {
    const pk = x.peak_tflops ? ` = ${(100 * x.lmkit_peak_fraction).toFixed(0)}% of ${x.peak_tflops.toFixed(0)} TFLOP/s (${x.peak_basis}, ${doc.machine.peak.name})` : '';
    const pt = x.pytorch_tflops != null ? `; PyTorch ${x.pytorch_tflops.toFixed(x.pytorch_tflops < 1 ? 3 : 1)} TFLOP/s (lmkit/PyTorch ${x.ratio.toFixed(2)})` : '';
    lines.push(`GEMM ${x.case} ${x.dims.M}x${x.dims.N}x${x.dims.K}: lmkit ${x.lmkit_tflops.toFixed(x.lmkit_tflops < 1 ? 3 : 1)} TFLOP/s${pk}${pt}`);
  }
  lines.push('', `${doc.wallSeconds.toFixed(0)} s${out ? `; wrote ${relative(process.cwd(), out)}` : ''}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().then(
  (code) => process.exit(code),
  (e) => {
    const code = e instanceof Usage ? 2 : e instanceof NoGpu ? 3 : 1;
    process.stderr.write(`kernels-gpu: ${String(e?.message ?? e).split('\n')[0]}\n`);
    if (code === 1 && process.env.LMKIT_DEBUG) process.stderr.write(`${e?.stack}\n`);
    process.exit(code);
  },
);
