#!/usr/bin/env node
// TensorFlow.js peer of bench/native/bench_kernels.cpp: the cases that map cleanly onto TF.js ops,
// on the same shapes, with the pure-JS CPU backend (@tensorflow/tfjs-backend-cpu, part of
// @tensorflow/tfjs) or the WebAssembly backend (@tensorflow/tfjs-backend-wasm, its .wasm files
// loaded from node_modules: no network).
//
//   node bench/reference/tfjs_kernels.mjs --cases cases.json --backend cpu|wasm [--reps 7] [--min-ms 40] [--cooldown-ms 100]
//                                       [--budget-s 10]   (about how long one slow case may take)
//
// cases.json is `bench_kernels --list` output. Prints ONE JSON object on stdout:
//   {"tfjs": version, "backend", "threads", "results": [...], "skipped": [{case, why}]}
// Both backends run single-threaded here: the CPU backend is plain JavaScript on the main thread,
// and in Node the wasm backend loads its SIMD single-threaded binary (its threaded binary needs a
// browser with cross-origin isolation; `wasm_multithread` in the output says what TF.js detected).
// Both execute ops synchronously, so a call's time is the op's time; outputs are disposed each call.
//
// What runs:
//   matmul              tf.matMul(a, b, transposeA, transposeB) (+ c when beta = 1: a new tensor)
//   embedding_forward   tf.gather(table, ids)
//   embedding_backward  not run: TF.js's gradient of gather is UnsortedSegmentSum, which the wasm
//                       backend lacks and the CPU backend runs as one pass over the input per
//                       segment (V = 14114 passes)
//   lstm_cell_forward   split(4) -> sigmoid/sigmoid/tanh/sigmoid -> c = f*c_prev + i*g, h = o*tanh(c)
//   attention_forward   matMul(q, k^T) * scale, causal mask (add -inf), softmax, matMul(p, v)
//   crossentropy        tf.valueAndGrad of tf.losses.softmaxCrossEntropy (one-hot labels made once,
//                       mean over rows) + loss.dataSync()
// Not mapped (reported as skipped, with why): the backward-only cases (TF.js computes gradients
// only through tf.grads/valueAndGrad, which re-run the forward) and AdamW (TF.js has no AdamW).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i < 0 ? dflt : argv[i + 1];
};
const backend = opt('--backend', 'cpu');
const reps = Number(opt('--reps', '7'));
const minMs = Number(opt('--min-ms', '40'));
const cooldownMs = Number(opt('--cooldown-ms', '100'));
const budgetS = Number(opt('--budget-s', '10'));
const cases = JSON.parse(readFileSync(opt('--cases'), 'utf8')).cases;

// TF.js prints a banner suggesting tfjs-node on stdout: keep stdout for the one JSON line.
const log = console.log;
console.log = (...a) => console.error(...a);
const tf = await import('@tensorflow/tfjs');
const require = createRequire(import.meta.url);
let wasmDir = null;
if (backend === 'wasm') {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
  wasm.setWasmPaths(wasmDir);
}
if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} failed to initialise`);
await tf.ready();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

// A slow case (the JS backend runs the LM-sized GEMMs at well under 1 GFLOP/s) gets fewer calls:
// when one call takes more than budget / (reps + 1), the warm-up call doubles as the calibration,
// and the reps shrink (>= 1) so the case stays near the budget; `reps` in the result says how many.
async function timeit(fn) {
  const call = () => tf.dispose(fn());
  let t0 = performance.now();
  call();
  let one = performance.now() - t0;
  let n = reps;
  if (one > (budgetS * 1000) / (reps + 1)) {
    n = Math.max(1, Math.floor((budgetS * 1000) / one) - 1);
    const per = [];
    for (let r = 0; r < n; r++) {
      t0 = performance.now();
      call();
      per.push((performance.now() - t0) / 1000);
    }
    return { seconds: { median: median(per), min: Math.min(...per), max: Math.max(...per) }, inner: 1, reps: n };
  }
  t0 = performance.now();
  call();
  one = Math.max(1e-4, performance.now() - t0);
  const inner = Math.max(1, Math.ceil(minMs / one));
  const per = [];
  for (let r = 0; r < n; r++) {
    if (cooldownMs) await sleep(cooldownMs);
    call();
    t0 = performance.now();
    for (let i = 0; i < inner; i++) call();
    per.push((performance.now() - t0) / 1000 / inner);
  }
  return { seconds: { median: median(per), min: Math.min(...per), max: Math.max(...per) }, inner, reps: n };
}

// Deterministic inputs (a small LCG), as the other sides use fixed seeds.
let seed = 7;
const rnd = (n, lo = -1, hi = 1) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    a[i] = lo + ((hi - lo) * seed) / 4294967296;
  }
  return a;
};
const ids = (n, V) => {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    a[i] = seed % V;
  }
  return a;
};

function make(c) {
  const d = c.dims;
  switch (c.kind) {
    case 'matmul': {
      const { M, N, K } = d;
      const a = tf.tensor2d(rnd(M * K), d.transA ? [K, M] : [M, K]);
      const b = tf.tensor2d(rnd(K * N), d.transB ? [N, K] : [K, N]);
      const cc = tf.zeros([M, N]);
      if (d.beta) return () => tf.tidy(() => tf.add(cc, tf.matMul(a, b, !!d.transA, !!d.transB)));
      return () => tf.matMul(a, b, !!d.transA, !!d.transB);
    }
    case 'embedding_forward': {
      const table = tf.tensor2d(rnd(d.V * d.C), [d.V, d.C]);
      const i = tf.tensor1d(ids(d.N, d.V), 'int32');
      return () => tf.gather(table, i);
    }
    case 'embedding_backward': {
      if (backend === 'wasm') return "the wasm backend has no UnsortedSegmentSum kernel (TF.js's gradient of gather)";
      if (backend === 'cpu')
        return "tfjs-backend-cpu's UnsortedSegmentSum (TF.js's gradient of gather) makes one masked pass over the whole (N x C) input per segment: V = 14114 passes, minutes per call";
      const dout = tf.tensor2d(rnd(d.N * d.C), [d.N, d.C]);
      const i = tf.tensor1d(ids(d.N, d.V), 'int32');
      return () => tf.unsortedSegmentSum(dout, i, d.V);
    }
    case 'lstm_cell_forward': {
      const { B, H } = d;
      const pre = tf.tensor2d(rnd(B * 4 * H, -2, 2), [B, 4 * H]);
      const cPrev = tf.tensor2d(rnd(B * H), [B, H]);
      return () =>
        tf.tidy(() => {
          const [i, f, g, o] = tf.split(pre, 4, 1);
          const c = tf.add(tf.mul(tf.sigmoid(f), cPrev), tf.mul(tf.sigmoid(i), tf.tanh(g)));
          return [tf.mul(tf.sigmoid(o), tf.tanh(c)), c];
        });
    }
    case 'attention_forward': {
      const { B, T, C, NH } = d;
      const hs = C / NH;
      const scale = 1 / Math.sqrt(hs);
      const heads = (x) => tf.transpose(tf.reshape(x, [B, T, NH, hs]), [0, 2, 1, 3]);
      const q = tf.tensor3d(rnd(B * T * C), [B, T, C]);
      const k = tf.tensor3d(rnd(B * T * C), [B, T, C]);
      const v = tf.tensor3d(rnd(B * T * C), [B, T, C]);
      const m = new Float32Array(T * T);
      for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -Infinity;
      const mask = tf.tensor2d(m, [T, T]);
      return () =>
        tf.tidy(() => {
          const s = tf.add(tf.mul(tf.matMul(heads(q), heads(k), false, true), scale), mask);
          const out = tf.matMul(tf.softmax(s), heads(v));
          return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [B, T, C]);
        });
    }
    case 'crossentropy': {
      const { N, V } = d;
      const x = tf.tensor2d(rnd(N * V, -4, 4), [N, V]);
      const onehot = tf.oneHot(tf.tensor1d(ids(N, V), 'int32'), V).toFloat();
      const vg = tf.valueAndGrad((z) => tf.losses.softmaxCrossEntropy(onehot, z));
      return () => {
        const { value, grad } = vg(x);
        value.dataSync();
        return [value, grad];
      };
    }
    case 'lstm_cell_backward':
    case 'attention_backward':
      return 'TF.js computes gradients only through tf.grads/valueAndGrad, which re-run the forward: no backward-only op to time';
    case 'adamw':
      return 'TF.js has no AdamW (tf.train.adam has no decoupled weight decay)';
    default:
      return `no TF.js mapping for kind ${c.kind}`;
  }
}

const results = [];
const skipped = [];
for (const c of cases) {
  const fn = make(c);
  if (typeof fn === 'string') {
    skipped.push({ case: c.case, why: fn });
    continue;
  }
  const { seconds, inner, reps: n } = await timeit(fn);
  results.push({ case: c.case, impl: `tfjs-${backend}`, threads: 1, seconds, reps: n, calls_per_rep: inner });
  console.error(`tfjs-${backend} ${c.case}: ${(seconds.median * 1e3).toFixed(3)} ms`);
}
log(
  JSON.stringify({
    tfjs: tf.version.tfjs,
    backend,
    threads: 1,
    wasm_dir: wasmDir,
    wasm_simd: backend === 'wasm' ? tf.env().getBool('WASM_HAS_SIMD_SUPPORT') : undefined,
    wasm_multithread: backend === 'wasm' ? tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') : undefined,
    results,
    skipped,
  }),
);
