// `lmkit bench kernels|train|all`: the benchmarks of bench/ with their peers, from a source checkout.
//
//   kernels  builds and runs bench/native/bench_kernels (lmkit's kernels; OpenBLAS for GEMM in the
//            same process), gives its case list to bench/reference/torch_kernels.py (PyTorch, one
//            process per thread count, threads matched) and bench/reference/tfjs_kernels.mjs
//            (TensorFlow.js CPU and wasm backends, single-threaded), and prints per case lmkit's
//            figure, each peer's figure and the ratio. Writes bench/results/kernels-cpu.json
//            (--quick: build/bench/kernels-cpu-quick.json, never the committed results).
//   train    runs bench/train-cpu.mjs (end-to-end tokens/s, lmkit vs PyTorch).
//   kernels --device cuda
//            runs bench/scripts/kernels-gpu.mjs: lmkit's CUDA addon vs PyTorch on the same GPU, with
//            a device sync around each sample; writes bench/results/kernels-cuda.json (--quick:
//            build/bench/kernels-cuda-quick.json).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { nativeLoadInfo } from '../native/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PYTHON = '/usr/bin/python3';
export const KERNEL_PEERS = ['openblas', 'pytorch', 'tfjs-cpu', 'tfjs-wasm'] as const;
type Peer = (typeof KERNEL_PEERS)[number];

export interface BenchFlags {
  quick?: boolean;
  json?: boolean;
  cases?: string;
  threads?: string;
  reps?: number;
  peers?: string;
  out?: string;
  write?: boolean; // --no-write
  quiet?: boolean; // internal: no table on stdout (bench all --json)
  device?: 'cpu' | 'cuda'; // bench kernels only
}

interface Stat {
  median: number;
  min: number;
  max: number;
}
interface KernelCase {
  case: string;
  family: string;
  kind: string;
  desc: string;
  dims: Record<string, number>;
  flops: number;
  bytes: number;
  metric: 'GFLOP/s' | 'GB/s';
  quick: boolean;
}
interface Timing {
  case: string;
  impl: string;
  threads: number;
  seconds: Stat;
  reps: number;
  calls_per_rep: number;
}
interface PeerRun {
  results: Timing[];
  skipped: { case: string; why: string }[];
}
interface PeerStatus {
  ran: boolean;
  why?: string;
  version?: string;
  threads?: string;
  detail?: Record<string, unknown>;
  runs: PeerRun[];
}
export interface KernelRow {
  case: string;
  family: string;
  desc: string;
  metric: string;
  threads: number;
  lmkit: Stat & { seconds: Stat; peak_fraction: number | null };
  peers: Record<string, (Stat & { ratio: number; seconds: Stat; threads: number }) | { skipped: string }>;
}

function requireCheckout(): void {
  if (!existsSync(join(ROOT, 'bench', 'native', 'bench_kernels.cpp'))) {
    throw new Error(`lmkit bench needs a source checkout (${join(ROOT, 'bench')} not found): clone the repository and run npm ci`);
  }
}

const say = (s: string) => process.stderr.write(`${s}\n`);

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; capture?: boolean } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    maxBuffer: 1 << 26,
    // Children's progress goes to our stderr; stdout is captured when we need its JSON.
    stdio: ['ignore', opts.capture ? 'pipe' : 2, 2],
  });
}

function lastLine(s: string | null | undefined): string {
  return (s ?? '').trim().split('\n').pop() ?? '';
}

function newestMtime(paths: string[]): number {
  let t = 0;
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const st = statSync(p);
    if (st.isDirectory()) t = Math.max(t, newestMtime(readdirSync(p).map((f) => join(p, f))));
    else t = Math.max(t, st.mtimeMs);
  }
  return t;
}

/** Builds build/bench-native/bench_kernels with CMake when it is missing or older than its sources. */
export function ensureKernelBench(): string {
  requireCheckout();
  const dir = join(ROOT, 'build', 'bench-native');
  const exe = join(dir, 'bench_kernels');
  const sources = newestMtime([join(ROOT, 'bench', 'native'), join(ROOT, 'native', 'cpu')]);
  if (existsSync(exe) && statSync(exe).mtimeMs >= sources) return exe;
  say(`building ${relative(ROOT, exe)} (cmake -S bench/native -B build/bench-native; first time ~1 min)`);
  for (const args of [
    ['-S', join(ROOT, 'bench', 'native'), '-B', dir, '-DCMAKE_BUILD_TYPE=Release'],
    ['--build', dir, '--target', 'bench_kernels', `-j${Math.max(1, cpus().length)}`],
  ]) {
    const r = spawnSync('cmake', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.error) throw new Error(`cmake not runnable (${r.error.message}): the kernel benchmark needs cmake and a C++17 compiler`);
    if (r.status !== 0) throw new Error(`cmake ${args[0]} failed: ${lastLine(r.stderr) || lastLine(r.stdout)}`);
  }
  return exe;
}

function parseThreads(s: string | undefined): number[] {
  const cores = Math.max(1, cpus().length);
  if (!s) return [...new Set([1, cores])];
  const t = s.split(',').map((x) => Number(x.trim()));
  if (t.length === 0 || t.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`--threads must be a list of integers >= 1 (got ${s})`);
  return [...new Set(t)];
}

function parsePeers(s: string | undefined): Peer[] {
  if (s === undefined || s === 'all') return [...KERNEL_PEERS];
  if (s === 'none' || s === '') return [];
  const list = s.split(',').map((x) => x.trim());
  for (const p of list) {
    if (!(KERNEL_PEERS as readonly string[]).includes(p)) throw new Error(`unknown peer ${p} (${KERNEL_PEERS.join(', ')}, all, none)`);
  }
  return list as Peer[];
}

const rate = (work: number, sec: Stat): Stat => ({ median: (work / sec.median) * 1e-9, min: (work / sec.max) * 1e-9, max: (work / sec.min) * 1e-9 });

function tfjsAvailable(): string | null {
  for (const p of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm']) {
    if (!existsSync(join(ROOT, 'node_modules', ...p.split('/'), 'package.json'))) return `${p} is not installed (a devDependency: npm ci in the checkout)`;
  }
  return null;
}

export async function runBenchKernels(o: BenchFlags): Promise<Record<string, unknown>> {
  const exe = ensureKernelBench();
  const quick = !!o.quick;
  const threads = parseThreads(o.threads);
  const peers = parsePeers(o.peers);
  const reps = o.reps ?? (quick ? 3 : 7);
  const minMs = quick ? 10 : 40;
  const cooldownMs = quick ? 20 : 100;
  const select = o.cases ? ['--cases', o.cases] : quick ? ['--quick'] : [];
  const timing = ['--reps', String(reps), '--min-ms', String(minMs), '--cooldown-ms', String(cooldownMs)];
  const load0 = loadavg()[0];
  const t0 = performance.now();

  const list = run(exe, ['--list', ...select], { capture: true });
  if (list.status !== 0) throw new Error(`bench_kernels --list failed: ${lastLine(list.stderr) || lastLine(list.stdout)}`);
  const cases = (JSON.parse(list.stdout) as { cases: KernelCase[] }).cases;
  const tmp = mkdtempSync(join(tmpdir(), 'lmkit-bench-kernels-'));
  try {
    const casesFile = join(tmp, 'cases.json');
    writeFileSync(casesFile, JSON.stringify({ cases }));

    // 1. lmkit (+ OpenBLAS for GEMM, same process).
    say(`lmkit: ${relative(ROOT, exe)} (${cases.length} cases, threads ${threads.join(',')})`);
    const lmJson = join(tmp, 'lmkit.json');
    const lm = run(exe, [...select, ...timing, '--threads', threads.join(','), '--json', lmJson]);
    if (lm.status !== 0) throw new Error(`bench_kernels failed (exit ${lm.status})`);
    const native = JSON.parse(readFileSync(lmJson, 'utf8')) as {
      cpu: string;
      compiler: string;
      lmkit_sgemm: string;
      avx2_fma: boolean;
      openblas_config: string | null;
      peak: { mhz: number; source: string; gflops_per_thread: number; formula: string };
      results: (Timing & { peak_fraction: number | null })[];
    };

    // 2. Peers.
    const status: Partial<Record<Peer, PeerStatus>> = {};
    if (peers.includes('openblas')) {
      const ob = native.results.filter((r) => r.impl === 'openblas');
      status.openblas = native.openblas_config
        ? { ran: true, version: native.openblas_config, threads: 'matched (openblas_set_num_threads)', runs: [{ results: ob, skipped: [] }] }
        : { ran: false, why: 'bench_kernels was built without OpenBLAS (libopenblas-dev not found by CMake)', runs: [] };
    }
    if (peers.includes('pytorch')) {
      const probe = existsSync(PYTHON) ? run(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { capture: true }) : null;
      if (!probe || probe.status !== 0) {
        status.pytorch = { ran: false, why: probe ? `${PYTHON} cannot import torch: ${lastLine(probe.stderr)}` : `${PYTHON} not found`, runs: [] };
      } else {
        const st: PeerStatus = { ran: true, version: probe.stdout.trim(), threads: 'OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = torch.set_num_threads = threads', runs: [] };
        for (const t of threads) {
          say(`pytorch: bench/reference/torch_kernels.py --threads ${t}`);
          const n = String(t);
          const r = run(PYTHON, ['bench/reference/torch_kernels.py', '--cases', casesFile, '--threads', n, ...timing], {
            capture: true,
            env: { OMP_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, MKL_NUM_THREADS: n },
          });
          if (r.status !== 0) {
            st.ran = st.runs.length > 0;
            st.why = `torch_kernels.py --threads ${t} failed: ${lastLine(r.stderr)}`;
            break;
          }
          const out = JSON.parse(lastLine(r.stdout)) as PeerRun & Record<string, unknown>;
          st.runs.push(out);
          st.detail = { parallel_info: out.parallel_info };
        }
        status.pytorch = st;
      }
    }
    for (const p of ['tfjs-cpu', 'tfjs-wasm'] as const) {
      if (!peers.includes(p)) continue;
      const missing = tfjsAvailable();
      if (missing) {
        status[p] = { ran: false, why: missing, runs: [] };
        continue;
      }
      const backend = p.slice('tfjs-'.length);
      say(`${p}: bench/reference/tfjs_kernels.mjs --backend ${backend} (single-threaded)`);
      const r = run(
        process.execPath,
        ['bench/reference/tfjs_kernels.mjs', '--cases', casesFile, '--backend', backend, ...timing, '--budget-s', quick ? '1' : '10'],
        { capture: true },
      );
      if (r.status !== 0) {
        status[p] = { ran: false, why: `tfjs_kernels.mjs --backend ${backend} failed: ${lastLine(r.stderr)}`, runs: [] };
        continue;
      }
      const out = JSON.parse(lastLine(r.stdout)) as PeerRun & { tfjs: string; wasm_simd?: boolean; wasm_multithread?: boolean };
      status[p] = {
        ran: true,
        version: out.tfjs,
        threads: 'always 1 (JavaScript main thread / single-threaded wasm in Node)',
        detail: backend === 'wasm' ? { simd: out.wasm_simd, multithread: out.wasm_multithread } : undefined,
        runs: [out],
      };
    }

    // 3. Merge: one row per (case, threads).
    const rows: KernelRow[] = [];
    for (const c of cases) {
      const work = c.metric === 'GFLOP/s' ? c.flops : c.bytes;
      for (const t of threads) {
        const mine = native.results.find((r) => r.case === c.case && r.impl === 'lmkit' && r.threads === t);
        if (!mine) continue;
        const lmRate = rate(work, mine.seconds);
        const row: KernelRow = {
          case: c.case,
          family: c.family,
          desc: c.desc,
          metric: c.metric,
          threads: t,
          lmkit: { ...lmRate, seconds: mine.seconds, peak_fraction: mine.peak_fraction ?? null },
          peers: {},
        };
        for (const p of peers) {
          const st = status[p];
          if (!st || !st.ran) {
            row.peers[p] = { skipped: st?.why ?? 'not run' };
            continue;
          }
          const all = st.runs.flatMap((x) => x.results).filter((x) => x.case === c.case);
          const hit = all.find((x) => x.threads === t);
          if (hit) {
            const pr = rate(work, hit.seconds);
            row.peers[p] = { ...pr, ratio: lmRate.median / pr.median, seconds: hit.seconds, threads: hit.threads };
            continue;
          }
          const why = st.runs.flatMap((x) => x.skipped).find((x) => x.case === c.case)?.why;
          row.peers[p] = {
            skipped: why ?? (all.length ? `single-threaded only (see the ${all[0].threads}-thread row)` : p === 'openblas' ? 'GEMM only' : 'no result'),
          };
        }
        rows.push(row);
      }
    }

    const doc = {
      benchmark: 'kernels-cpu',
      title: 'lmkit CPU kernels vs OpenBLAS, PyTorch and TensorFlow.js',
      command: `lmkit bench kernels ${process.argv.slice(4).join(' ')}`.trim(),
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      mode: quick ? 'quick' : 'full',
      machine: {
        cpu: native.cpu,
        cores: cpus().length,
        loadavgStart: load0,
        loadavgEnd: loadavg()[0],
        avx2_fma: native.avx2_fma,
        peak: native.peak,
      },
      versions: { node: process.version, compiler: native.compiler, lmkit_sgemm: native.lmkit_sgemm },
      settings: {
        threads,
        reps,
        min_ms: minMs,
        cooldown_ms: cooldownMs,
        statistic: `median (min, max) of ${reps} samples; a sample is the mean time per call over calls lasting >= ${minMs} ms, after ${cooldownMs} ms idle and one untimed call (TF.js: fewer reps, one call each, for calls slower than its budget)`,
        units: 'GFLOP/s = nominal flops (2 per multiply-add; attention counts full T x T scores) / s; GB/s = bytes each kernel must read + write / s; ratio = lmkit / peer (> 1: lmkit faster)',
      },
      peers: Object.fromEntries(Object.entries(status).map(([k, v]) => [k, { ran: v.ran, why: v.why, version: v.version, threads: v.threads, detail: v.detail }])),
      cases,
      rows,
      wallSeconds: (performance.now() - t0) / 1000,
    };
    const out = o.write === false ? null : (o.out ?? join(ROOT, quick ? 'build/bench/kernels-cpu-quick.json' : 'bench/results/kernels-cpu.json'));
    if (out) {
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
    }
    if (o.json) process.stdout.write(`${JSON.stringify(doc)}\n`);
    else if (!o.quiet) {
      printKernelTable(rows, peers, native.peak);
      process.stdout.write(`\n${doc.wallSeconds.toFixed(0)} s; load average ${load0.toFixed(2)} -> ${loadavg()[0].toFixed(2)}${out ? `; wrote ${relative(process.cwd(), out)}` : ''}\n`);
    }
    return doc;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * `lmkit bench kernels --device cuda`: bench/scripts/kernels-gpu.mjs times lmkit's kernels on the
 * CUDA addon this process loaded and PyTorch's on the same GPU (peers: pytorch or none).
 */
export function runBenchKernelsCuda(o: BenchFlags): void {
  requireCheckout();
  if (o.threads) throw new Error('--threads applies to the CPU benchmark only (the CUDA benchmark drives the GPU from one thread)');
  const peers = o.peers === undefined || o.peers === 'all' ? 'pytorch' : o.peers === '' ? 'none' : o.peers;
  if (peers !== 'pytorch' && peers !== 'none') throw new Error(`--device cuda: the only peer is pytorch (got --peers ${o.peers}; pytorch, all or none)`);
  if (nativeLoadInfo.backend !== 'cuda') throw new Error(`--device cuda: no usable CUDA device (${nativeLoadInfo.reason})`);
  const args = [join(ROOT, 'bench', 'scripts', 'kernels-gpu.mjs'), '--addon', nativeLoadInfo.path, '--peers', peers];
  if (o.quick) args.push('--quick');
  if (o.json) args.push('--json');
  if (o.cases) args.push('--cases', o.cases);
  if (o.reps) args.push('--reps', String(o.reps));
  if (o.out) args.push('--out', o.out);
  if (o.write === false) args.push('--no-write');
  // stdout passes through (the table, or the JSON with --json); progress goes to stderr.
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`bench/scripts/kernels-gpu.mjs failed (exit ${r.status ?? r.signal})`);
}

function printKernelTable(rows: KernelRow[], peers: Peer[], peak: { mhz: number; source: string; gflops_per_thread: number }): void {
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  const lines = [
    `peak ${peak.gflops_per_thread.toFixed(1)} GFLOP/s per thread (2 FMA x 8 floats x 2 flops x ${peak.mhz.toFixed(0)} MHz, ${peak.source})`,
    '',
    ['case', 'threads', 'unit', 'lmkit', '%peak', ...peers.map((p) => `${p} (ratio)`)].join(' | '),
  ];
  for (const r of rows) {
    const cells = peers.map((p) => {
      const x = r.peers[p];
      if (!x) return '-';
      return 'skipped' in x ? `- (${x.skipped.length > 40 ? `${x.skipped.slice(0, 37)}...` : x.skipped})` : `${f(x.median)} (${x.ratio.toFixed(2)})`;
    });
    const pk = r.lmkit.peak_fraction == null ? '-' : `${(100 * r.lmkit.peak_fraction).toFixed(0)}%`;
    lines.push([r.case, String(r.threads), r.metric, f(r.lmkit.median), pk, ...cells].join(' | '));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function runBenchTrain(o: BenchFlags): Promise<Record<string, unknown>> {
  requireCheckout();
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run npm run build:ts');
  const quick = !!o.quick;
  const threads = o.threads ? parseThreads(o.threads) : quick ? [Math.max(1, cpus().length)] : parseThreads(undefined);
  const out = o.write === false ? null : (o.out ?? join(ROOT, quick ? 'build/bench/train-cpu-quick.json' : 'bench/results/train-cpu.json'));
  const tmp = mkdtempSync(join(tmpdir(), 'lmkit-bench-train-'));
  try {
    const file = out ?? join(tmp, 'train-cpu.json');
    mkdirSync(dirname(file), { recursive: true });
    const args = ['bench/train-cpu.mjs', '--threads', threads.join(','), '--reps', String(o.reps ?? (quick ? 1 : 3)), '--out', file];
    if (quick) args.push('--quick');
    if (o.cases) args.push('--cases', o.cases);
    say(`node ${args.join(' ')}`);
    const r = run(process.execPath, args);
    if (r.status !== 0) throw new Error(`bench/train-cpu.mjs failed (exit ${r.status})`);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & {
      rows: { label: string; threads: number; lmkit: { tokens_per_s: Stat }; pytorch: { tokens_per_s: Stat }; ratio: number; tfjs?: { tokens_per_s?: Stat; skipped?: string } }[];
    };
    if (o.json) process.stdout.write(`${JSON.stringify(doc)}\n`);
    else if (!o.quiet) {
      const lines = ['case | threads | lmkit tok/s | PyTorch tok/s (ratio) | TF.js tok/s (ratio)'];
      for (const row of doc.rows) {
        const tf = row.tfjs?.tokens_per_s
          ? `${row.tfjs.tokens_per_s.median.toFixed(0)} (${(row.lmkit.tokens_per_s.median / row.tfjs.tokens_per_s.median).toFixed(2)})`
          : `- (${row.tfjs?.skipped ?? 'TF.js not run: its embedding gradient needs UnsortedSegmentSum, which tfjs-backend-wasm lacks and tfjs-backend-cpu runs as one pass per vocabulary word (14114 per step)'})`;
        lines.push(
          `${row.label} | ${row.threads} | ${row.lmkit.tokens_per_s.median.toFixed(0)} | ${row.pytorch.tokens_per_s.median.toFixed(0)} (${row.ratio.toFixed(2)}) | ${tf}`,
        );
      }
      if (out) lines.push(`wrote ${relative(process.cwd(), out)}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return doc;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export async function runBenchAll(o: BenchFlags): Promise<void> {
  if (o.json) {
    const kernels = await runBenchKernels({ ...o, json: false, quiet: true, cases: undefined });
    const train = await runBenchTrain({ ...o, json: false, quiet: true, cases: undefined });
    process.stdout.write(`${JSON.stringify({ kernels, train })}\n`);
    return;
  }
  process.stdout.write('## kernels\n');
  await runBenchKernels({ ...o, cases: undefined });
  process.stdout.write('\n## training (tokens/s)\n');
  await runBenchTrain({ ...o, cases: undefined });
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('--reps must be an integer >= 1');
  return n;
}

/** Adds `lmkit bench kernels|train|all` to the CLI. */
export function registerBench(program: Command): void {
  const bench = program
    .command('bench')
    .description('benchmarks with their peers (OpenBLAS, PyTorch, TensorFlow.js), from a source checkout')
    .showHelpAfterError(false);
  const common = (c: Command) =>
    c
      .option('--quick', 'fewer cases, reps and threads (a smoke run; results go to build/bench/, not bench/results/)')
      .option('--json', 'one JSON object on stdout (progress on stderr)')
      .option('--threads <list>', 'thread counts, e.g. 1,2 (default: 1 and all cores)')
      .option('--reps <n>', 'repetitions per measurement', positiveInt)
      .option('--out <file>', 'write the results JSON here')
      .option('--no-write', 'write no results file');
  common(bench.command('kernels').description('kernel GFLOP/s and GB/s: lmkit vs OpenBLAS (GEMM), PyTorch, TensorFlow.js'))
    .option('--cases <list>', 'only these cases (names as in bench/native/bench_kernels.cpp)')
    .option('--peers <list>', `peers to run: ${KERNEL_PEERS.join(',')}, all or none`, 'all')
    .addOption(
      new Option('--device <name>', 'cpu, or cuda: the CUDA addon vs PyTorch on the GPU (bench/scripts/kernels-gpu.mjs)')
        .choices(['cpu', 'cuda'])
        .default('cpu'),
    )
    .action(async (o: BenchFlags) => {
      if (o.device === 'cuda') runBenchKernelsCuda(o);
      else await runBenchKernels(o);
    });
  common(bench.command('train').description('end-to-end training tokens/s: lmkit vs PyTorch (bench/train-cpu.mjs)'))
    .option('--cases <list>', 'only these models: mlp1,lstm,transformer')
    .action(async (o: BenchFlags) => {
      await runBenchTrain(o);
    });
  common(bench.command('all').description('kernels, then training'))
    .option('--peers <list>', `kernel peers: ${KERNEL_PEERS.join(',')}, all or none`, 'all')
    .action(async (o: BenchFlags) => runBenchAll(o));
}
