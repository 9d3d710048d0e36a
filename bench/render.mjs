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
const ngram = read('ngram-brown.json');
if (ngram) {
  out.push('### Brown corpus: interpolated modified Kneser-Ney n-gram (perplexity)', '');
  out.push(`Split of ANCHORS.md: ${ngram.corpus.train} / ${ngram.corpus.valid} / ${ngram.corpus.test} tokens, vocabulary ${ngram.corpus.vocabulary}. ${ngram.notes}`, '');
  out.push('| order | valid ppl | test ppl | train s |', '|---|---|---|---|');
  for (const r of ngram.results) {
    out.push(`| ${r.order} | ${r.validPpl.toFixed(1)} | ${r.testPpl.toFixed(1)} | ${r.trainSeconds.toFixed(2)} |`);
  }
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
