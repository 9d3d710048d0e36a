#!/usr/bin/env node
// What each AWD-LSTM option buys on Brown (issue 19): the Adam AWD recipe of the README's Brown
// table (2 x 650, last 400, tied; Adam lr 2e-3 cosine to 0, clip 1), trained for the same number
// of epochs with every option on, with each option left out in turn, and with plain dropout 0.4
// instead of all of them. Each run is `lmkit train ... --json` in a child process (the runner of
// brown-lm.mjs); results go to bench/results/awd-ablation.json (a row already there is skipped,
// so an interrupted study continues) and are rendered into docs/recurrent.md between the
// AWD-ABLATION markers.
//
//   npm run build:ts && node bench/scripts/awd-ablation.mjs [--epochs 1] [--only ID,...] [--list] [--render]
//
// Run it alone on the machine: the tokens/s and times are part of the result.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROWS, argValue, runRow } from './brown-lm.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const outJson = join(root, 'bench', 'results', 'awd-ablation.json');
const doc = join(root, 'docs', 'recurrent.md');

/** The recipe: the README's awd-lstm-adam row. */
const RECIPE = ROWS.find((r) => r.id === 'awd-lstm-adam').flags;
/** The recipe's options, as the ablation removes them. */
export const PIECES = [
  { id: 'weight-drop', label: 'weight drop 0.4', flags: '--weight-drop 0.4' },
  { id: 'locked-dropout', label: 'locked dropout 0.3/0.25/0.4', flags: '--dropout-input 0.3 --dropout-hidden 0.25 --dropout-output 0.4' },
  { id: 'embedding-dropout', label: 'embedding dropout 0.1', flags: '--embedding-dropout 0.1' },
  { id: 'ar-tar', label: 'AR 2 / TAR 1', flags: '--ar 2 --tar 1' },
  { id: 'bptt-jitter', label: 'random BPTT length', flags: '--bptt-jitter' },
];

/** A command line as its options: "--flag value" or "--flag". */
const options = (flags) => flags.split(/\s+/).reduce((items, w) => (w.startsWith('--') ? [...items, w] : [...items.slice(0, -1), `${items.at(-1)} ${w}`]), []);
/** The recipe for E epochs without the options in `drop`, with `add` appended. */
function recipe(epochs, drop = [], add = '') {
  const gone = new Set(drop.flatMap((p) => options(p.flags)));
  for (const o of gone) if (!options(RECIPE).includes(o)) throw new Error(`awd-ablation: the recipe has no ${o}`);
  const kept = options(RECIPE).filter((o) => !gone.has(o) && !o.startsWith('--epochs '));
  return [...kept, ...(add ? [add] : []), `--epochs ${epochs}`].join(' ');
}

/** The runs for a budget of E epochs: everything, everything but one piece, plain dropout, nothing. */
export function ablationRows(epochs) {
  return [
    { id: 'all', label: 'every AWD option (the awd-lstm-adam recipe)', removed: null, flags: recipe(epochs) },
    ...PIECES.map((p) => ({ id: `no-${p.id}`, label: `without ${p.label}`, removed: p.id, flags: recipe(epochs, [p]) })),
    { id: 'plain', label: 'plain dropout 0.4 instead of every option (the awd-lstm-adam-plain twin)', removed: 'all', flags: recipe(epochs, PIECES, '--dropout 0.4') },
    { id: 'none', label: 'no regularisation at all', removed: 'all', flags: recipe(epochs, PIECES) },
  ];
}

function render(results) {
  const lines = [];
  for (const [epochs, runs] of Object.entries(results.budgets)) {
    const all = runs.find((r) => r.id === 'all');
    lines.push(
      `${epochs} epoch${epochs === '1' ? '' : 's'} of Brown's 800k training tokens per run (\`node bench/scripts/awd-ablation.mjs --epochs ${epochs}\`; ${all?.machine ? `${all.machine.cpu}, ${all.machine.cores} cores, Node ${all.machine.node}, ${all.date.slice(0, 10)}` : ''}). ` +
        '"vs all": test perplexity minus the full recipe\'s (negative: the run without the option is better, the option costs at this budget).',
      '',
      '| run | valid ppl | test ppl | vs all | time | tokens/s |',
      '|---|---:|---:|---:|---:|---:|',
    );
    for (const row of ablationRows(Number(epochs))) {
      const r = runs.find((x) => x.id === row.id);
      if (!r) continue;
      const d = all && r !== all ? `${r.testPpl - all.testPpl >= 0 ? '+' : ''}${(r.testPpl - all.testPpl).toFixed(1)}` : '';
      lines.push(`| ${row.label} | ${r.validPpl.toFixed(1)} | ${r.testPpl.toFixed(1)} | ${d} | ${(r.trainSeconds / 60).toFixed(1)} min | ${r.tokensPerSecond.toFixed(0)} |`);
    }
    lines.push('');
  }
  const text = readFileSync(doc, 'utf8');
  const begin = text.indexOf('<!-- AWD-ABLATION:BEGIN');
  const end = text.indexOf('<!-- AWD-ABLATION:END -->');
  if (begin < 0 || end < 0) throw new Error('docs/recurrent.md lacks the AWD-ABLATION markers');
  const open = text.indexOf('\n', begin) + 1;
  writeFileSync(doc, `${text.slice(0, open)}${lines.join('\n')}${text.slice(end)}`);
}

async function main() {
  const epochs = Number(argValue('--epochs') ?? 1);
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`--epochs must be a positive integer (got ${argValue('--epochs')})`);
  const results = existsSync(outJson) ? JSON.parse(readFileSync(outJson, 'utf8')) : { benchmark: 'awd-ablation', budgets: {} };
  if (process.argv.includes('--render')) return render(results);
  const rows = ablationRows(epochs);
  if (process.argv.includes('--list')) {
    for (const r of rows) console.log(`${r.id.padEnd(20)} npx lmkit train ${r.flags}`);
    return;
  }
  const only = argValue('--only')?.split(',');
  const unknown = only?.filter((id) => !rows.some((r) => r.id === id)) ?? [];
  if (unknown.length) throw new Error(`unknown run ${unknown.join(', ')} (runs: ${rows.map((r) => r.id).join(', ')})`);
  if (!existsSync(join(root, 'dist', 'cli', 'index.js'))) throw new Error('dist/ is missing: run `npm run build:ts` first');
  const key = String(epochs);
  results.budgets[key] ??= [];
  for (const row of rows.filter((r) => !only || only.includes(r.id))) {
    if (results.budgets[key].some((r) => r.id === row.id)) {
      console.log(`== ${row.id}: done already (delete it from ${outJson} to run it again)`);
      continue;
    }
    console.log(`== ${row.id}: npx lmkit train ${row.flags}`);
    const r = await runRow(row);
    console.log(`== ${row.id}: valid ${r.validPpl.toFixed(1)}, test ${r.testPpl.toFixed(1)}, ${(r.trainSeconds / 60).toFixed(1)} min, ${r.tokensPerSecond.toFixed(0)} tokens/s`);
    results.budgets[key].push({ ...r, removed: row.removed });
    writeFileSync(outJson, `${JSON.stringify(results, null, 1)}\n`);
    render(results);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
