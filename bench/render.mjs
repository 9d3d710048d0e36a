#!/usr/bin/env node
// Renders the tables of bench/README.md from bench/results/*.json (never edit them by hand):
//   node bench/render.mjs            rewrites the block between the RESULTS markers
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const dir = new URL('./results/', import.meta.url);
const read = (f) => (existsSync(new URL(f, dir)) ? JSON.parse(readFileSync(new URL(f, dir), 'utf8')) : null);
const out = [];

const gemm = read('gemm-cpu.json');
if (gemm) {
  out.push(`### SGEMM: lmkit built-in vs system OpenBLAS (GFLOP/s, ${gemm.statistic})`, '');
  out.push(`Machine: ${gemm.cpu}, ${gemm.hardware_threads} threads; ${gemm.gxx_version}; ${gemm.openblas_config}; lmkit ${gemm.lmkit_backend}; ${gemm.date}.`, '');
  out.push('| case | M x N x K | op | threads | lmkit | OpenBLAS | lmkit / OpenBLAS |', '|---|---|---|---|---|---|---|');
  for (const r of gemm.results) {
    const op = `${r.transA ? 'T' : 'N'}${r.transB ? 'T' : 'N'}`;
    out.push(`| ${r.case} | ${r.M} x ${r.N} x ${r.K} | ${op} | ${r.threads} | ${r.lmkit_gflops.toFixed(1)} | ${r.openblas_gflops.toFixed(1)} | ${r.ratio.toFixed(2)} |`);
  }
  out.push('');
}
const xent = read('xent-cpu.json');
if (xent) {
  out.push(`### Fused softmax-cross-entropy vs separate passes (${xent.N} x ${xent.V}, ${xent.reduction}; ms, median of ${xent.reps})`, '');
  out.push(`Machine: ${xent.cpu}; ${xent.compiler} ${xent.flags}; ${xent.date}.`, '');
  out.push('| threads | fused | log-softmax + gather + backward | speed-up |', '|---|---|---|---|');
  for (const r of xent.results) {
    out.push(`| ${r.threads} | ${r.fused.median.toFixed(2)} | ${r.separate.median.toFixed(2)} | ${r.speedup.toFixed(2)}x |`);
  }
  out.push('');
}
const kernels = read('kernels-cpu.json');
if (kernels) {
  const k = kernels;
  const peers = Object.keys(k.peers);
  const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  const runsNote = Array.isArray(k.runs) ? `, ${k.runs.length} runs combined by \`node bench/scripts/median-runs.mjs\`` : '';
  out.push(`### CPU kernels: lmkit vs ${peers.join(', ')} (\`lmkit bench kernels\`, ${k.mode} run${runsNote})`, '');
  out.push(
    `Machine: ${k.machine.cpu}, ${k.machine.cores} cores (load ${k.machine.loadavgStart.toFixed(2)} -> ${k.machine.loadavgEnd.toFixed(2)}); ` +
      `peak ${k.machine.peak.gflops_per_thread.toFixed(1)} GFLOP/s per thread (${k.machine.peak.formula}; ${k.machine.peak.mhz.toFixed(0)} MHz from ${k.machine.peak.source}); ` +
      `node ${k.versions.node}; ${k.versions.compiler}; lmkit SGEMM ${k.versions.lmkit_sgemm}; ${k.date}.`,
    '',
  );
  const pv = peers.map((p) => `${p}: ${k.peers[p].ran ? `${k.peers[p].version ?? ''}, threads ${k.peers[p].threads}` : `not run (${k.peers[p].why})`}`);
  out.push(`Peers: ${pv.join('; ')}. ${k.settings.statistic}. ${k.settings.units}.`, '');
  out.push(`| case | shape | threads | unit | lmkit | % of peak | ${peers.map((p) => `${p} (lmkit / ${p})`).join(' | ')} |`);
  out.push(`|---|---|---|---|---|---|${peers.map(() => '---|').join('')}`);
  for (const r of k.rows) {
    const cells = peers.map((p) => {
      const x = r.peers[p];
      return !x || x.skipped ? '-' : `${fmt(x.median)} (${x.ratio.toFixed(2)})`;
    });
    const pk = r.lmkit.peak_fraction == null ? '-' : `${(100 * r.lmkit.peak_fraction).toFixed(0)}%`;
    out.push(`| ${r.case} | ${r.desc} | ${r.threads} | ${r.metric} | ${fmt(r.lmkit.median)} | ${pk} | ${cells.join(' | ')} |`);
  }
  const why = new Map();
  for (const r of k.rows) for (const [p, x] of Object.entries(r.peers)) if (x.skipped && !x.skipped.startsWith('single-threaded') && x.skipped !== 'GEMM only') why.set(`${p} ${r.case}`, x.skipped);
  if (why.size) out.push('', `Not run: ${[...why].map(([key, w]) => `${key}: ${w}`).join('; ')}.`);
  // Where lmkit is behind a peer (ratio < 0.95), said in words, from the same rows.
  const behind = [];
  for (const r of k.rows) {
    for (const [p, x] of Object.entries(r.peers)) if (!x.skipped && x.ratio < 0.95) behind.push(`${r.case} at ${r.threads} thread${r.threads > 1 ? 's' : ''} (${x.ratio.toFixed(2)}x ${p})`);
  }
  if (behind.length) out.push('', `**Where lmkit is behind** (lmkit / peer < 0.95): ${behind.join('; ')}.`);
  out.push('');
}
// kernels-cuda.json: `node bench/scripts/kernels-gpu.mjs` (or `lmkit bench kernels --device cuda`)
// on a GPU machine; scripts/gpu-session.sh writes it into its OUTDIR.
const kcuda = read('kernels-cuda.json');
if (kcuda && kcuda.benchmark === 'kernels-cuda') {
  const k = kcuda;
  const g = k.machine.gpu ?? {};
  const pk = k.machine.peak;
  const py = k.peers.pytorch ?? { ran: false, why: 'not run' };
  const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  // GFLOP/s cases are shown in TFLOP/s on a GPU.
  const show = (metric, x) => (metric === 'GFLOP/s' ? fmt(x / 1000) : fmt(x));
  out.push(`### CUDA kernels: lmkit vs PyTorch on ${g.name} (\`${k.command}\`, ${k.mode} run)`, '');
  out.push(
    `GPU: ${g.name}, compute capability ${g.compute_capability}, ${g.multiprocessors} SMs, ${(g.total_memory / 2 ** 30).toFixed(0)} GiB; ` +
      `driver ${g.driver}, CUDA runtime ${g.runtime}; lmkit SGEMM: ${g.sgemm}; TF32 ${k.settings.tf32 ? 'on' : 'off'}; ` +
      `PyTorch ${py.ran ? py.version : `not run (${py.why})`}; node ${k.versions.node}; host ${k.machine.cpu}, ${k.machine.cores} cores; ${k.date}.` +
      (pk ? ` Peaks (dense, ${pk.source}): TF32 ${pk.tf32}, FP32 ${pk.fp32} TFLOP/s, HBM ${pk.hbm_gbs} GB/s.` : ''),
    '',
  );
  out.push(`${k.settings.statistic}. ${k.settings.units}. GFLOP/s cases are shown in TFLOP/s.`, '');
  out.push('| case | shape | unit | lmkit | % of peak | PyTorch (lmkit / PyTorch) |', '|---|---|---|---|---|---|');
  for (const r of k.rows) {
    const p = r.peers.pytorch;
    const cell = !p || p.skipped ? '-' : `${show(r.metric, p.median)} (${p.ratio.toFixed(2)})`;
    const pf = r.lmkit.peak_fraction == null ? '-' : `${(100 * r.lmkit.peak_fraction).toFixed(0)}%`;
    out.push(`| ${r.case} | ${r.desc} | ${r.metric === 'GFLOP/s' ? 'TFLOP/s' : r.metric} | ${show(r.metric, r.lmkit.median)} | ${pf} | ${cell} |`);
  }
  const gemm = (k.gemm ?? []).filter((x) => x.peak_tflops);
  if (gemm.length) {
    const best = gemm.reduce((a, b) => (b.lmkit_tflops > a.lmkit_tflops ? b : a));
    out.push(
      '',
      `**GEMM**: lmkit's best, ${best.case} (${best.dims.M} x ${best.dims.N} x ${best.dims.K}), ${best.lmkit_tflops.toFixed(1)} TFLOP/s = ` +
        `${(100 * best.lmkit_peak_fraction).toFixed(0)}% of the ${best.peak_basis} of ${best.peak_tflops.toFixed(0)} TFLOP/s` +
        (best.pytorch_tflops != null ? `; PyTorch ${best.pytorch_tflops.toFixed(1)} TFLOP/s (${(100 * best.pytorch_peak_fraction).toFixed(0)}%).` : '.'),
    );
  }
  const behind = k.rows.filter((r) => r.peers.pytorch && !r.peers.pytorch.skipped && r.peers.pytorch.ratio < 0.95);
  if (behind.length) out.push('', `**Where lmkit is behind** (lmkit / PyTorch < 0.95): ${behind.map((r) => `${r.case} (${r.peers.pytorch.ratio.toFixed(2)}x)`).join('; ')}.`);
  if (k.skipped?.length) out.push('', `Not run: ${k.skipped.map((s) => `${s.case}: ${s.why}`).join('; ')}.`);
  out.push('');
}
const ngram = read('ngram-brown.json');
if (ngram) {
  out.push('### Brown corpus: interpolated modified Kneser-Ney n-gram (perplexity)', '');
  out.push(`Split of ANCHORS.md: ${ngram.corpus.train} / ${ngram.corpus.valid} / ${ngram.corpus.test} tokens, vocabulary ${ngram.corpus.vocabulary}. ${ngram.notes}`, '');
  out.push('| order | valid ppl | test ppl | train s |', '|---|---|---|---|');
  for (const r of ngram.results) {
    out.push(`| ${r.order} | ${r.validPpl.toFixed(1)} | ${r.testPpl.toFixed(1)} | ${r.trainSeconds.toFixed(2)} |`);
  }
}

const train = read('train-cpu.json');
if (train) {
  out.push(`### End-to-end training, lmkit vs PyTorch on the same CPU (tokens/s, median of ${train.reps}; \`${train.command}\`)`, '');
  out.push(`Machine: ${train.machine.cpu}, ${train.machine.cores} cores (load ${train.machine.loadavgStart} -> ${train.machine.loadavgEnd}); node ${train.node}; PyTorch ${train.torch} (${train.blas.pytorch}); lmkit SGEMM ${train.blas.lmkit}; ${train.date}. ${train.method}.`, '');
  out.push('| case | threads | lmkit | PyTorch | lmkit / PyTorch | peak RSS lmkit / PyTorch (MB) |', '|---|---|---|---|---|---|');
  for (const r of train.rows) {
    out.push(`| ${r.label} | ${r.threads} | ${r.lmkit.tokens_per_s.median.toFixed(0)} | ${r.pytorch.tokens_per_s.median.toFixed(0)} | ${r.ratio.toFixed(2)} | ${r.lmkit.peak_rss_mb.toFixed(0)} / ${r.pytorch.peak_rss_mb.toFixed(0)} |`);
  }
  out.push(
    '',
    'TensorFlow.js is not a training peer here: every model starts with an embedding, whose gradient TF.js computes with ' +
      'UnsortedSegmentSum, which tfjs-backend-wasm does not have and tfjs-backend-cpu runs as one pass per vocabulary word ' +
      '(14,114 per step); its kernel figures are in the table above.',
  );
  out.push('');
}
const gpt2 = read('gpt2-cpu.json');
if (gpt2) {
  const g = gpt2;
  const f = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  out.push(`### GPT-2 124M shape on this CPU, lmkit vs PyTorch (\`${g.command}\`)`, '');
  out.push(
    `${g.shape.label}, ${g.generation?.params ?? g.training?.lmkit.params} parameters; ${g.threads} threads, median of ${g.reps}. ` +
      `Machine: ${g.machine.cpu}, ${g.machine.cores} cores (load ${g.machine.loadavgStart.toFixed(2)} -> ${g.machine.loadavgEnd.toFixed(2)}); node ${g.node}; ` +
      `PyTorch ${g.training?.torch ?? g.generation?.torch} (${g.pytorchBlas}); ${g.date}. Peak memory: each child process's maximum resident set.`,
    '',
  );
  out.push('| measure | lmkit | PyTorch | lmkit / PyTorch |', '|---|---|---|---|');
  if (g.training) {
    const t = g.training;
    out.push(`| training tokens/s (batch ${t.batch}, context ${t.context}, AdamW) | ${f(t.lmkit.tokens_per_s.median)} | ${f(t.pytorch.tokens_per_s.median)} | ${t.ratio.toFixed(2)} |`);
    out.push(`| training peak RSS (MB) | ${t.lmkit.peak_rss_mb.toFixed(0)} | ${t.pytorch.peak_rss_mb.toFixed(0)} | ${(t.lmkit.peak_rss_mb / t.pytorch.peak_rss_mb).toFixed(2)} |`);
  }
  if (g.generation) {
    const x = g.generation;
    out.push(`| generation tokens/s (${x.decoding}; prompt ${x.prompt_tokens}, ${x.tokens} tokens) | ${f(x.lmkit.tokens_per_s.median)} | ${f(x.pytorch.tokens_per_s.median)} | ${x.ratio.toFixed(2)} |`);
    out.push(`| generation peak RSS (MB) | ${x.lmkit.peak_rss_mb.toFixed(0)} | ${x.pytorch.peak_rss_mb.toFixed(0)} | ${(x.lmkit.peak_rss_mb / x.pytorch.peak_rss_mb).toFixed(2)} |`);
    out.push('', `Both sides decode the same weights (written by lmkit's \`savePretrained\`, read by each): ${x.greedy_prefix_agreement}.`);
  }
  out.push('');
}
const init = read('init-study.json');
if (init) {
  const fmtV = (r) => (r ? (r.metric === 'ppl' ? r.value.toFixed(1) : r.value.toFixed(3)) : '-');
  const table = (runs, title) => {
    out.push(title, '');
    out.push('| corpus | family | metric | lmkit old default | PyTorch default | lmkit new default | new + forget bias 1 | new / PyTorch |', '|---|---|---|---|---|---|---|---|');
    const keys = [...new Set(runs.map((r) => `${r.corpus}|${r.family}|${r.steps}`))];
    for (const k of keys) {
      const [c, f, st] = k.split('|');
      const get = (s) => runs.find((r) => r.corpus === c && r.family === f && String(r.steps) === st && r.scheme === s && (r.seed ?? 1) === 1);
      const n = get('new');
      const t = get('torch');
      const old = f === 'transformer' || f === 'mamba' ? n : get('old');
      const ratio = n && t ? (n.value / t.value).toFixed(3) : '-';
      out.push(`| ${c} | ${f}${st === '500' ? '' : ` (${st} steps)`} | ${n?.metric ?? t?.metric} (V ${(n ?? t).V}) | ${fmtV(old)} | ${fmtV(t)} | ${fmtV(n)} | ${fmtV(get('new+fb1'))} | ${ratio} |`);
    }
    out.push('');
  };
  out.push('### Initialisation study: lmkit old default vs PyTorch default vs lmkit new default (`node bench/scripts/init-study.mjs`)', '');
  out.push(`Machine: ${init.machine}; lmkit ${init.versions.lmkit}, node ${init.versions.node}; ${init.date}. ${init.setup.optimizer}. Lower is better; "new / PyTorch" < 1: the new default wins.`, '');
  out.push(`Sizes: ${Object.entries(init.setup.sizes).map(([f, s]) => `${f} ${Object.entries(s).map(([k, v]) => `${k} ${v}`).join(', ')}`).join('; ')}. Evaluation: ${init.setup.eval}.`, '');
  out.push(`Schemes: PyTorch default = nn.Embedding N(0,1), nn.Linear/nn.RNN/nn.LSTM U(+-1/sqrt(fan_in)) incl. biases, emulated inside lmkit (same batches, optimizer, seed); transformer and mamba keep their GPT-2 style init (old = new). Rule chosen: lib/nn/init.ts.`, '');
  table(init.runs.filter((r) => r.steps === 500), '500 steps:');
  if (init.fullRuns?.length) {
    const full = init.fullRuns.some((r) => r.budget);
    table(init.fullRuns, full ? 'Longer runs (`--full`: 800,000 training tokens each, one Brown epoch, at the sizes above; the other step counts are earlier runs):' : 'Longer runs:');
  }
  const all = [...init.runs, ...(init.fullRuns ?? []), ...(init.seedRuns ?? [])];
  if (init.seedRuns?.length) {
    out.push('Seed spread (seed 1 is in the tables above; the seed changes the initial weights, not the batches):', '');
    out.push('| corpus | family | steps | scheme | values | mean |', '|---|---|---|---|---|---|');
    const keys = [...new Set(init.seedRuns.map((r) => `${r.corpus}|${r.family}|${r.scheme}|${r.steps}`))];
    for (const k of keys) {
      const [c, f, sc, st] = k.split('|');
      const rs = all.filter((r) => r.corpus === c && r.family === f && r.scheme === sc && String(r.steps) === st).sort((x, y) => (x.seed ?? 1) - (y.seed ?? 1));
      const mean = rs.reduce((t, r) => t + r.value, 0) / rs.length;
      out.push(`| ${c} | ${f} | ${st} | ${sc} | ${rs.map((r) => `${fmtV(r)} (seed ${r.seed ?? 1})`).join(', ')} | ${fmtV({ ...rs[0], value: mean })} |`);
    }
    out.push('');
  }
  if (init.seedRuns?.length) {
    out.push(
      "On the character corpora (V <= 256 here) the new rule and PyTorch's emulated default draw from the same distributions (embedding s = min(1, c/sqrt(V)) = 1: N(0,1); weights and biases U(+-1/sqrt(fan_in))), so their columns differ only by the random draws; the seed spread is the size of that difference.",
      '',
    );
  }
  const pyKeys = [...new Set((init.pytorch ?? []).map((p) => `${p.corpus}|${p.family}|${p.steps}`))];
  for (const k of pyKeys) {
    const py = init.pytorch.filter((p) => `${p.corpus}|${p.family}|${p.steps}` === k).sort((x, y) => (x.seed ?? 1) - (y.seed ?? 1));
    const p = py[0];
    const mine = (scheme) => all.filter((r) => r.corpus === p.corpus && r.family === p.family && r.scheme === scheme && r.steps === p.steps).sort((x, y) => (x.seed ?? 1) - (y.seed ?? 1));
    const list = (rs) => rs.map((r) => `${r.value.toFixed(3)} (seed ${r.seed ?? 1})`).join(', ');
    const twoB = mine('new+2b');
    out.push(
      `Cross-check against real PyTorch ${p.torch} (\`/usr/bin/python3 bench/reference/init-torch-lstm.py STEPS SEED\`: the same ${p.corpus} ${p.family}, batches and optimizer, PyTorch's own default init, ${p.steps} steps): ` +
        `${list(py)} ${p.metric}; lmkit emulating PyTorch's init: ${list(mine('torch'))}; lmkit's default: ${list(mine('new'))}` +
        (twoB.length ? `; lmkit's default with PyTorch's two recurrent biases (b_ih + b_hh, scheme new+2b): ${list(twoB)}` : '') +
        '.',
      '',
    );
  }
  const elsewhere = [...all, ...(init.pytorch ?? [])].filter((r) => r.machine && r.machine !== init.machine);
  for (const m of new Set(elsewhere.map((r) => r.machine))) {
    const here = elsewhere.filter((r) => r.machine === m);
    const groups = [...new Set(here.map((r) => `${r.corpus} ${r.scheme === 'pytorch' ? 'real PyTorch' : r.budget ? 'longer runs' : `${r.scheme} seeds`}`))];
    out.push(`Ran on ${m} (${[...new Set(here.map((r) => r.date?.slice(0, 10)))].join(', ')}), not the machine above: ${here.length} runs (${groups.join('; ')}); the study compares losses (the same on any machine up to rounding), not times.`, '');
  }
  for (const r of init.rejectedRuns ?? []) out.push(`Rejected candidate: ${r.note}: ${r.corpus} ${r.family}, ${r.steps} steps: ${fmtV(r)} ${r.metric}.`, '');
}
const pos = read('pos-brown.json');
if (pos) {
  out.push(`### Part-of-speech tagging on Brown, bidirectional LSTM (\`${pos.command}\`)`, '');
  out.push(`${pos.corpus.tags} simplified tags (${pos.tagRule}); ${pos.training.seconds.toFixed(0)} s of training (${pos.training.epochs.toFixed(2)} epochs, ${pos.training.tokensPerSecond.toFixed(0)} tokens/s) on ${pos.machine.cpu}, ${pos.machine.threads} threads; ${pos.date}.`, '');
  out.push('| split | BiLSTM accuracy | most-frequent-tag baseline |', '|---|---|---|');
  for (const k of ['valid', 'test']) {
    out.push(`| ${k} | ${(100 * pos.accuracy[k]).toFixed(2)}% | ${(100 * pos.baselineMostFrequentTag[k]).toFixed(2)}% |`);
  }
  out.push('');
}

const readme = new URL('./README.md', import.meta.url);
const text = readFileSync(readme, 'utf8');
const begin = '<!-- RESULTS:BEGIN (bench/render.mjs) -->';
const end = '<!-- RESULTS:END -->';
const i = text.indexOf(begin);
const j = text.indexOf(end);
if (i < 0 || j < 0) throw new Error('bench/README.md lacks the RESULTS markers');
writeFileSync(readme, `${text.slice(0, i + begin.length)}\n${out.join('\n')}\n${text.slice(j)}`);
console.log(`rendered ${out.length} lines into bench/README.md`);
