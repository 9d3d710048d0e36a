#!/usr/bin/env node
// Combines several full runs of `lmkit bench kernels` (same cases, same machine) into one results
// file: every cell (lmkit and each peer, per case and thread count) becomes the median over the
// runs of that run's own median; min and max are the extremes over all runs; each ratio is the
// median of the runs' own lmkit/peer ratios (paired: within a run, lmkit and OpenBLAS are timed
// case by case in one process, PyTorch right after). On a shared machine whose load comes in
// phases, one run's medians can be off by tens of percent for a whole stretch of cases; the
// median of three runs is robust to one bad stretch.
//   node bench/scripts/median-runs.mjs OUT.json RUN1.json RUN2.json RUN3.json ...
import { readFileSync, writeFileSync } from 'node:fs';

const [out, ...inputs] = process.argv.slice(2);
if (!out || inputs.length < 2) {
  console.error('usage: node bench/scripts/median-runs.mjs OUT.json RUN1.json RUN2.json [RUN3.json ...]');
  process.exit(2);
}
const runs = inputs.map((f) => JSON.parse(readFileSync(f, 'utf8')));
for (const [i, r] of runs.entries()) {
  if (!Array.isArray(r.rows)) {
    console.error(`${inputs[i]}: not a kernels results file (no rows)`);
    process.exit(1);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const key = (r) => `${r.case}@${r.threads}`;
/** Combines one measured cell ({median, min, max, seconds, ...}) over runs. */
function combine(cells) {
  const ok = cells.filter((c) => c && typeof c.median === 'number');
  if (ok.length === 0) return cells.find(Boolean);
  const first = ok[0];
  const c = { ...first, median: median(ok.map((x) => x.median)), min: Math.min(...ok.map((x) => x.min)), max: Math.max(...ok.map((x) => x.max)), runs: ok.map((x) => x.median) };
  if (first.seconds) c.seconds = { median: median(ok.map((x) => x.seconds.median)), min: Math.min(...ok.map((x) => x.seconds.min)), max: Math.max(...ok.map((x) => x.seconds.max)) };
  if (typeof first.peak_fraction === 'number') c.peak_fraction = median(ok.map((x) => x.peak_fraction));
  return c;
}

const base = runs[0];
const maps = runs.map((r) => new Map(r.rows.map((row) => [key(row), row])));
const rows = [];
for (const row of base.rows) {
  const all = maps.map((m) => m.get(key(row)));
  if (all.some((x) => !x)) {
    console.error(`${key(row)} is missing from a run; every run must cover the same cases`);
    process.exit(1);
  }
  const lmkit = combine(all.map((x) => x.lmkit));
  const peers = {};
  for (const p of Object.keys(row.peers)) {
    const cell = combine(all.map((x) => x.peers[p]));
    // The ratio is the median of each run's own ratio: lmkit and the peer of one run were measured
    // close together (OpenBLAS in the same process, case by case), so a run's ratio is paired.
    const ratios = all.map((x) => x.peers[p]?.ratio).filter((r) => typeof r === 'number');
    if (cell && ratios.length > 0) cell.ratio = median(ratios);
    peers[p] = cell;
  }
  rows.push({ ...row, lmkit, peers });
}

const loads = runs.map((r) => r.machine?.loadavgStart).filter((x) => typeof x === 'number');
const loadsEnd = runs.map((r) => r.machine?.loadavgEnd).filter((x) => typeof x === 'number');
const result = {
  ...base,
  command: `${base.command} (x${runs.length}), combined by bench/scripts/median-runs.mjs`,
  date: runs.map((r) => r.date).join(', '),
  machine: { ...base.machine, loadavgStart: Math.min(...loads), loadavgEnd: Math.max(...loadsEnd) },
  settings: {
    ...base.settings,
    statistic: `median over ${runs.length} full runs (run one after another) of each run's ${base.settings.statistic}; min, max over all runs; ratio = median of the runs' ratios`,
  },
  runs: runs.map((r, i) => ({ file: inputs[i], date: r.date, loadavgStart: r.machine?.loadavgStart, loadavgEnd: r.machine?.loadavgEnd, wallSeconds: r.wallSeconds })),
  rows,
  wallSeconds: runs.reduce((s, r) => s + (r.wallSeconds ?? 0), 0),
};
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`median of ${runs.length} runs -> ${out} (${rows.length} rows)`);
