#!/usr/bin/env node
// The Brown-corpus table of issue 3: every language model of lmkit trained by the CLI on the
// split of ANCHORS.md (800k train / 200k valid / rest test; vocabulary = train words seen at
// least 4 times + <unk>), with its command, training time, tokens/s, machine and the
// validation and test perplexities. Each row runs `lmkit train ... --json` in a child
// process; the results are merged into bench/results/brown-lm.json (rows run again replace
// their old entry), and bench/results/brown-lm.md is rewritten from the JSON.
//
//   npm run build:ts && node bench/scripts/brown-lm.mjs [--only lstm,transformer] [--recipe awd|awd-adam] [--list] [--dry] [--render] [--ckpt-dir DIR [--save-every N]]
//
// The full table takes hours on 2 cores; run rows one at a time with --only.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const cli = join(root, 'dist', 'cli', 'index.js');
const outJson = join(root, 'bench', 'results', 'brown-lm.json');
const outMd = join(root, 'bench', 'results', 'brown-lm.md');

const DYNEVAL_FLAGS = '--dynamic-lr 5,10,15 --dynamic-decay 0,0.002 --dynamic-window 20 --tune-tokens 50000';

/** The rows: an id, a label and the `lmkit train` flags. */
export const ROWS = [
  { id: 'kn3', label: 'KN 3-gram (interpolated modified Kneser-Ney)', flags: '--model ngram --context 2' },
  { id: 'kn5', label: 'KN 5-gram (interpolated modified Kneser-Ney)', flags: '--model ngram --context 4' },
  {
    id: 'loglinear',
    label: 'log-linear, hashed 1-4-gram features, 1 epoch',
    flags: '--model loglinear --context 3 --buckets 4096 --epochs 1 --lr 0.02 --schedule cosine',
  },
  {
    id: 'mlp1',
    label: 'feed-forward MLP1 (n=5, m=60, h=50, direct), 2 epochs',
    flags: '--model ffnn --context 4 --embed 60 --hidden 50 --direct --epochs 2 --lr 0.002 --schedule cosine',
  },
  {
    id: 'rnn',
    label: 'RNN (Elman tanh) 1 x 256, tied, dropout 0.3, 1 epoch',
    flags: '--model rnn --embed 256 --hidden 256 --layers 1 --dropout 0.3 --epochs 1 --lr 0.002 --schedule cosine --clip 1',
  },
  {
    id: 'lstm',
    label: 'LSTM 1 x 512, tied, dropout 0.5, 4 epochs',
    flags: '--model lstm --embed 512 --hidden 512 --layers 1 --dropout 0.5 --epochs 4 --lr 0.002 --schedule cosine --clip 1',
  },
  // Issue 19 (AWD-LSTM options; docs/recurrent.md): the regularised recipe and the same model
  // with plain dropout (the SGD twin: the same epochs; the Adam twin: the same time, measured at
  // 7,000 steps since plain dropout trains 17% more tokens/s). `--recipe awd` runs the pair. Sized for <= 3 h on
  // 2 cores: 2 x 650 (last 400, tied) trains at about 1100 tokens/s on the idle machine, so
  // 10 epochs (8M tokens) take about 2 h, plus 10 validations of about 45 s. For a budget this
  // short the SGD rate is annealed (cosine to 0) instead of waiting for NT-ASGD to trigger.
  // Run them with --ckpt-dir DIR --save-every 500: an interrupted row resumes from DIR/<id>.
  {
    id: 'awd-lstm',
    label: 'AWD-LSTM 2 x 650 (last 400, tied), weight drop 0.4, locked dropout 0.3/0.25/0.4, embedding dropout 0.1, AR 2 / TAR 1, random BPTT 70, SGD lr 30 cosine, 10 epochs',
    flags:
      '--model lstm --embed 400 --hidden 650 --last-hidden 400 --layers 2 --context 70 --batch 20 --bptt-jitter --weight-drop 0.4 --dropout-input 0.3 --dropout-hidden 0.25 --dropout-output 0.4 --embedding-dropout 0.1 --ar 2 --tar 1 --optimizer sgd --momentum 0 --lr 30 --schedule cosine --clip 0.25 --weight-decay 1.2e-6 --epochs 10',
  },
  {
    id: 'awd-lstm-plain',
    label: 'LSTM 2 x 650 (last 400, tied), plain dropout 0.4, BPTT 70, SGD lr 30 cosine, 10 epochs (the AWD row without its regularisation)',
    flags:
      '--model lstm --embed 400 --hidden 650 --last-hidden 400 --layers 2 --context 70 --batch 20 --dropout 0.4 --optimizer sgd --momentum 0 --lr 30 --schedule cosine --clip 0.25 --weight-decay 1.2e-6 --epochs 10',
  },
  // The same model and regularisation with Adam (cosine to 0): in a budget of 10 epochs SGD at
  // lr 30 converges slowly (242 / 194 / 174 validation perplexity after epochs 1 / 2 / 3 of the
  // awd-lstm row), and the plain-dropout twin of this row is its comparison at equal time.
  {
    id: 'awd-lstm-adam',
    label: 'AWD-LSTM 2 x 650 (last 400, tied), weight drop 0.4, locked dropout 0.3/0.25/0.4, embedding dropout 0.1, AR 2 / TAR 1, random BPTT 70, Adam lr 2e-3 cosine, 10 epochs',
    flags:
      '--model lstm --embed 400 --hidden 650 --last-hidden 400 --layers 2 --context 70 --batch 20 --bptt-jitter --weight-drop 0.4 --dropout-input 0.3 --dropout-hidden 0.25 --dropout-output 0.4 --embedding-dropout 0.1 --ar 2 --tar 1 --optimizer adam --lr 0.002 --schedule cosine --clip 1 --epochs 10',
  },
  {
    id: 'awd-lstm-adam-plain',
    // Equal time: plain dropout runs at 1,442 tokens/s here (60 steps) against the AWD row's
    // 1,234, so its 115 min are about 7,000 steps of 20 x 70 tokens (12.25 epochs of 800k).
    label: 'LSTM 2 x 650 (last 400, tied), plain dropout 0.4, BPTT 70, Adam lr 2e-3 cosine, 7,000 steps (the Adam AWD row without its regularisation, at its time)',
    flags:
      '--model lstm --embed 400 --hidden 650 --last-hidden 400 --layers 2 --context 70 --batch 20 --dropout 0.4 --optimizer adam --lr 0.002 --schedule cosine --clip 1 --steps 7000',
  },
  // Evaluation only: the awd-lstm row's checkpoint (--ckpt-dir) with a neural cache (Grave et
  // al. 2017; docs/recurrent.md), theta and lambda tuned on the validation split. Its train time
  // and tokens/s are the awd-lstm row's.
  {
    id: 'awd-lstm-cache',
    label: 'the AWD-LSTM row + neural cache (2000 positions; theta, lambda tuned on valid)',
    of: 'awd-lstm',
    evalFlags: '--cache 2000',
  },
  {
    id: 'awd-lstm-adam-cache',
    label: 'the Adam AWD-LSTM row + neural cache (2000 positions; theta, lambda tuned on valid)',
    of: 'awd-lstm-adam',
    evalFlags: '--cache 2000',
  },
  // Evaluation only: dynamic evaluation (Krause et al. 2018; docs/recurrent.md) of the same
  // checkpoints, lr and decay tuned on the first 50,000 valid tokens (one pass per pair).
  {
    id: 'awd-lstm-dyneval',
    label: 'the AWD-LSTM row + dynamic evaluation (SGD, window 20; lr, decay tuned on 50k valid tokens)',
    of: 'awd-lstm',
    evalFlags: DYNEVAL_FLAGS,
  },
  {
    id: 'awd-lstm-adam-dyneval',
    label: 'the Adam AWD-LSTM row + dynamic evaluation (SGD, window 20; lr, decay tuned on 50k valid tokens)',
    of: 'awd-lstm-adam',
    evalFlags: DYNEVAL_FLAGS,
  },
  // Both: the Adam row's checkpoint adapting (the lr and decay chosen by awd-lstm-adam-dyneval)
  // and mixed with the neural cache (theta, lambda tuned on the first 50,000 valid tokens).
  {
    id: 'awd-lstm-adam-dyneval-cache',
    label: 'the Adam AWD-LSTM row + dynamic evaluation + neural cache (2000 positions; theta, lambda tuned on 50k valid tokens)',
    of: 'awd-lstm-adam',
    evalFlags: '--dynamic-lr 5 --dynamic-decay 0.002 --dynamic-window 20 --cache 2000 --tune-tokens 50000',
  },
  {
    id: 'transformer',
    label: 'Transformer 4 layers x 256, 4 heads, context 128, dropout 0.2, 3 epochs',
    flags:
      '--model transformer --embed 256 --layers 4 --heads 4 --context 128 --batch 16 --dropout 0.2 --epochs 3 --lr 0.001 --schedule cosine --warmup 200 --clip 1',
  },
  {
    id: 'mamba',
    label: 'Mamba 2 blocks x 256 (d_state 16, expand 2, d_conv 4), context 128, 2 epochs',
    flags: '--model mamba --embed 256 --layers 2 --context 128 --batch 16 --epochs 2 --lr 0.002 --schedule cosine --warmup 200 --clip 1',
  },
  {
    id: 'mlm',
    label: 'masked LM 2 layers x 256 (15% masked, 80/10/10), 1 epoch — masked-token perplexity',
    flags: '--model mlm --embed 256 --layers 2 --heads 4 --context 128 --batch 16 --dropout 0.1 --epochs 1 --lr 0.001 --schedule cosine --warmup 200 --clip 1',
  },
];

export function argValue(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function machine() {
  const c = cpus();
  let gitRev = null;
  try {
    gitRev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    /* not a checkout */
  }
  return { cpu: c[0]?.model ?? 'unknown', cores: c.length, memGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version, git: gitRev, loadavg1: +loadavg()[0].toFixed(2) };
}

/** True when DIR holds a resumable checkpoint of a run that has not finished (no final perplexity). */
function unfinished(dir) {
  const file = join(dir, 'checkpoint.json');
  if (!existsSync(file)) return false;
  const meta = JSON.parse(readFileSync(file, 'utf8')).meta ?? {};
  return meta.training !== undefined && meta.valid_ppl == null;
}

/** A row that evaluates another row's checkpoint (`of`) with `lmkit eval` flags. */
function runEvalRow(row, results) {
  const ckptDir = argValue('--ckpt-dir');
  if (ckptDir === undefined) throw new Error(`${row.id}: needs --ckpt-dir DIR (where the ${row.of} row saved its checkpoint)`);
  const dir = join(ckptDir, row.of);
  if (!existsSync(join(dir, 'checkpoint.json')) || unfinished(dir)) throw new Error(`${row.id}: no finished ${row.of} checkpoint in ${dir}: run --only ${row.of} --ckpt-dir ${ckptDir} first`);
  const base = results.rows.find((x) => x.id === row.of);
  const t0 = performance.now();
  const out = execFileSync(process.execPath, [cli, 'eval', '--checkpoint', dir, '--split', 'test', ...row.evalFlags.split(/\s+/), '--json'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const e = JSON.parse(out.trim().split('\n').pop());
  // The valid perplexity is the tuning's best when the tuning read the whole valid split.
  const wholeValid = !/--tune-tokens/.test(row.evalFlags);
  const validBest = e.grid && wholeValid ? Math.min(...e.grid.map((g) => g.ppl ?? Infinity)) : null;
  const chosen = [e.dynamic ? `lr ${e.dynamic.lr}, decay ${e.dynamic.decay}` : '', e.cache ? `theta ${e.cache.theta}, lambda ${e.cache.lambda}` : ''].filter(Boolean).join('; ');
  return {
    id: row.id,
    label: `${row.label}: ${chosen}`,
    command: `${base?.command ?? `(the ${row.of} row)`} --out DIR && npx lmkit eval --checkpoint DIR --split test ${row.evalFlags}`,
    validPpl: validBest,
    testPpl: e.ppl,
    testPplWithoutCache: e.base_ppl,
    ...(e.cache ? { cache: e.cache } : {}),
    ...(e.dynamic ? { dynamic: e.dynamic } : {}),
    ...(e.static_ppl !== undefined ? { testPplStatic: e.static_ppl } : {}),
    ...(e.grid ? { grid: e.grid } : {}),
    parameters: base?.parameters ?? null,
    trainSeconds: base?.trainSeconds ?? null,
    evalSeconds: (performance.now() - t0) / 1000,
    tokensPerSecond: base?.tokensPerSecond ?? null,
    machine: machine(),
    date: new Date().toISOString(),
  };
}

export function runRow(row) {
  // --ckpt-dir DIR: also save each neural model (DIR/<id>) for later use (e.g. mix-brown.mjs);
  // with --save-every N a resumable checkpoint every N steps. A row whose DIR/<id> holds an
  // unfinished run (interrupted, or killed after a save) continues it with --resume; each
  // process's part is listed in DIR/<id>.segments.json and the row's time is the whole run's.
  const ckptDir = argValue('--ckpt-dir');
  const saveEvery = argValue('--save-every');
  if (saveEvery !== undefined && ckptDir === undefined) throw new Error('--save-every needs --ckpt-dir DIR (where the rows are saved)');
  const neural = !/--model (ngram|mlm)/.test(row.flags);
  const out = ckptDir && neural ? join(ckptDir, row.id) : null;
  const segFile = out ? `${out}.segments.json` : null;
  const resume = out !== null && unfinished(out);
  const segments = resume && existsSync(segFile) ? JSON.parse(readFileSync(segFile, 'utf8')) : [];
  const args = resume ? [cli, 'train', '--resume', out, '--json'] : [cli, 'train', ...row.flags.split(/\s+/), '--json'];
  if (!resume && out) args.push('--out', out, ...(saveEvery ? ['--save-every', saveEvery] : []));
  if (resume) console.log(`  [${row.id}] resuming ${out} (${segments.length} earlier part${segments.length === 1 ? '' : 's'})`);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    // Ctrl-C reaches the child too (same process group): it saves a checkpoint and exits 130.
    const onSigint = () => console.log(`  [${row.id}] interrupted: waiting for lmkit to save its checkpoint`);
    process.on('SIGINT', onSigint);
    let buf = '';
    const events = [];
    let stderr = '';
    child.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        const e = JSON.parse(line);
        events.push(e);
        if (e.event === 'eval') console.log(`  [${row.id}] ${e.split} step ${e.step}: ppl ${e.ppl.toFixed(1)}`);
        if (e.event === 'step' && e.step % 500 === 0) console.log(`  [${row.id}] step ${e.step}: loss ${e.loss.toFixed(3)}, ${e.tokens_per_s.toFixed(0)} tok/s`);
      }
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      process.stderr.write(d);
    });
    child.on('close', (code) => {
      process.off('SIGINT', onSigint);
      const wall = (performance.now() - t0) / 1000;
      const end = events.find((e) => e.event === 'done' || e.event === 'interrupted');
      const from = Number(/resumed .* at step (\d+)/.exec(stderr)?.[1] ?? 0);
      if (segFile && end) {
        const steps = end.event === 'done' ? end.steps : end.step;
        segments.push({ from, to: steps, seconds: end.seconds ?? null, tokensPerSecond: end.tokens_per_s ?? null, wallSeconds: wall, machine: machine(), end: end.event });
        writeFileSync(segFile, `${JSON.stringify(segments, null, 1)}\n`);
      }
      if (end?.event === 'interrupted') {
        return reject(new Error(`${row.id}: interrupted at step ${end.step}; run the same command again to resume ${out ?? '(no --ckpt-dir: nothing saved)'}`));
      }
      if (code !== 0) return reject(new Error(`${row.id}: lmkit train exited ${code}\n${stderr.slice(-2000)}`));
      const done = end;
      // The validation curve: the whole run's from the checkpoint's history (a resumed row's too).
      const history = out ? JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')).meta?.training?.history : undefined;
      const curve = history?.valid?.map(([step, ppl]) => ({ step, ppl })) ?? events.filter((e) => e.event === 'eval' && e.split === 'valid').map((e) => ({ step: e.step, ppl: e.ppl }));
      // A resumed row: its time is the whole run's, its rate the parts' (weighted by their steps).
      const parts = segments.filter((g) => g.tokensPerSecond > 0 && g.to > g.from);
      const rate = parts.length > 1 ? parts.reduce((n, g) => n + (g.to - g.from), 0) / parts.reduce((t, g) => t + (g.to - g.from) / g.tokensPerSecond, 0) : done.tokens_per_s;
      // lmkit's whole-run time (absent only for a resume of a checkpoint that did not record it).
      const total = done.total_seconds ?? (segments.length > 1 ? null : done.seconds);
      resolve({
        id: row.id,
        label: row.label,
        command: `npx lmkit train ${row.flags}`,
        validPpl: done.valid_ppl,
        testPpl: done.test_ppl,
        steps: done.steps,
        parameters: done.parameters ?? null,
        vocab: done.vocab ?? null,
        trainSeconds: total ?? null,
        wallSeconds: segments.length > 1 ? segments.reduce((t, g) => t + g.wallSeconds, 0) : wall,
        tokensPerSecond: rate,
        ...(segments.length > 1 ? { parts: segments.length } : {}),
        validCurve: curve,
        machine: machine(),
        date: new Date().toISOString(),
      });
    });
  });
}

/** Writes the table into README.md between the BROWN markers (when they are there). */
function renderReadme(table) {
  const readme = join(root, 'README.md');
  const text = readFileSync(readme, 'utf8');
  const begin = text.indexOf('<!-- BROWN:BEGIN');
  const end = text.indexOf('<!-- BROWN:END -->');
  if (begin < 0 || end < 0) return;
  const open = text.indexOf('\n', begin) + 1;
  const body = table.split('\n').slice(2).join('\n'); // without the markdown title
  writeFileSync(readme, `${text.slice(0, open)}${body.trim()}\n${text.slice(end)}`);
}

function render(results) {
  const kn5 = results.rows.find((r) => r.id === 'kn5')?.testPpl;
  const lines = [
    '# Brown corpus: test perplexity of every lmkit model',
    '',
    'Split and vocabulary of ANCHORS.md (first 800k tokens train, next 200k valid, rest test; words seen at least 4 times in train + `<unk>`).',
    `Written by \`node bench/scripts/brown-lm.mjs\` from \`brown-lm.json\`; each row ran the command shown with all the machine's cores; \"load\" is the 1-minute load average at the end of the run (above 2, other work shared the 2 cores and the time and tokens/s are pessimistic).`,
    '',
    '| model | valid ppl | test ppl | vs KN 5-gram | train time | tokens/s | params | machine | command |',
    '|---|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const row of ROWS) {
    const r = results.rows.find((x) => x.id === row.id);
    if (!r) continue;
    // The masked LM's perplexity is over masked tokens seen from both sides: not comparable.
    const rel = kn5 && r.testPpl && row.id !== 'mlm' ? `${(((r.testPpl - kn5) / kn5) * 100).toFixed(1)}%` : '';
    const evalTime = r.evalSeconds != null ? ` + ${(r.evalSeconds / 60).toFixed(1)} min evaluation` : '';
    const time = r.trainSeconds != null ? `${(r.trainSeconds / 60).toFixed(1)} min${r.parts > 1 ? ` (${r.parts} parts, resumed)` : ''}${evalTime}` : '';
    const load = r.machine.loadavg1 !== undefined ? `, load ${r.machine.loadavg1}` : '';
    const m = `${r.machine.cpu}, ${r.machine.cores} cores${load}, Node ${r.machine.node}`;
    lines.push(
      `| ${r.label} | ${r.validPpl?.toFixed(1) ?? ''} | ${r.testPpl?.toFixed(1) ?? ''} | ${rel} | ${time} | ${r.tokensPerSecond ? r.tokensPerSecond.toFixed(0) : ''} | ${r.parameters ?? ''} | ${m} | \`${r.command}\` |`,
    );
  }
  const mixFile = join(root, 'bench', 'results', 'mix-brown.json');
  if (existsSync(mixFile)) {
    const mix = JSON.parse(readFileSync(mixFile, 'utf8'));
    const m1 = results.rows.find((x) => x.id === 'mlp1');
    const t = mix.mlp1Training ?? (m1 ? { seconds: m1.trainSeconds, tokensPerSecond: m1.tokensPerSecond } : null);
    for (const r of mix.rows.filter((x) => x.weights)) {
      const rel = kn5 ? `${(((r.testPpl - kn5) / kn5) * 100).toFixed(1)}%` : '';
      const w = r.weights.map((x) => x.toFixed(2)).join('/');
      lines.push(
        `| ${r.model} (weights ${w}) | ${r.validPpl.toFixed(1)} | ${r.testPpl.toFixed(1)} | ${rel} | ${t ? `${(t.seconds / 60).toFixed(1)} min` : ''} | ${t ? t.tokensPerSecond.toFixed(0) : ''} | | ${mix.machine.cpu}, ${mix.machine.cores} cores, Node ${mix.node} | \`${mix.command}\` |`,
      );
    }
    lines.push('', `Mixture rows: ${mix.note}.`);
  }
  for (const extra of results.extra ?? []) lines.push('', extra);
  return `${lines.join('\n')}\n`;
}

async function main() {
  if (process.argv.includes('--render')) {
    const table = render(JSON.parse(readFileSync(outJson, 'utf8')));
    writeFileSync(outMd, table);
    renderReadme(table);
    return;
  }
  if (process.argv.includes('--list')) {
    for (const r of ROWS) console.log(`${r.id.padEnd(12)} ${r.of ? `(${r.of}'s checkpoint) npx lmkit eval ${r.evalFlags}` : `npx lmkit train ${r.flags}`}`);
    return;
  }
  if (!existsSync(cli)) throw new Error('dist/ is missing: run `npm run build:ts` first');
  // --recipe awd: the AWD-LSTM row and its plain-dropout twin (issue 19).
  const recipe = argValue('--recipe');
  const RECIPES = {
    awd: ['awd-lstm', 'awd-lstm-plain', 'awd-lstm-cache', 'awd-lstm-dyneval'],
    'awd-adam': ['awd-lstm-adam', 'awd-lstm-adam-plain', 'awd-lstm-adam-cache', 'awd-lstm-adam-dyneval', 'awd-lstm-adam-dyneval-cache'],
  };
  if (recipe !== undefined && !(recipe in RECIPES)) throw new Error(`unknown --recipe ${recipe} (known: ${Object.keys(RECIPES).join(', ')})`);
  const only = recipe !== undefined ? RECIPES[recipe] : argValue('--only')?.split(',');
  const rows = only ? only.map((id) => ROWS.find((r) => r.id === id)).filter(Boolean) : ROWS;
  if (only && rows.length !== only.length) throw new Error(`unknown row in --only ${only.join(',')} (rows: ${ROWS.map((r) => r.id).join(', ')})`);
  const results = existsSync(outJson) ? JSON.parse(readFileSync(outJson, 'utf8')) : { benchmark: 'brown-lm', rows: [] };
  for (const row of rows) {
    console.log(`== ${row.id}: ${row.of ? `lmkit eval of ${row.of}'s checkpoint ${row.evalFlags}` : `npx lmkit train ${row.flags}`}`);
    if (process.argv.includes('--dry')) continue;
    if (row.of && argValue('--ckpt-dir') === undefined && !only) {
      console.log(`== ${row.id}: skipped (evaluates the ${row.of} row's checkpoint: run with --ckpt-dir DIR)`);
      continue;
    }
    const r = row.of ? runEvalRow(row, results) : await runRow(row);
    console.log(`== ${row.id}: valid ${r.validPpl?.toFixed(1) ?? "-"}, test ${r.testPpl?.toFixed(1)}, ${((r.trainSeconds ?? 0) / 60).toFixed(1)} min`);
    results.rows = results.rows.filter((x) => x.id !== row.id).concat([r]);
    mkdirSync(dirname(outJson), { recursive: true });
    writeFileSync(outJson, `${JSON.stringify(results, null, 1)}\n`);
    const table = render(results);
    writeFileSync(outMd, table);
    renderReadme(table);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
