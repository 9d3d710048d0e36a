// Which `lmkit train` options each model family uses, and its defaults: for the warning on a
// flag that does not apply to the chosen model (`--heads` for lstm, `--lr` for ngram) and for
// the table of defaults in `lmkit train --help`.
import { MODEL_DEFAULTS } from './model-defaults.js';
import type { ModelKind, TrainRunOptions } from './run.js';

type Option = keyof TrainRunOptions;

/** Options every model uses (the corpus, its tokenizer, evaluation, saving). */
const COMMON: readonly Option[] = ['model', 'corpus', 'tokenizer', 'bpeVocab', 'minCount', 'seed', 'test', 'evalTokens', 'out', 'context'];
/** Options of the gradient-trained (neural) models. */
const TRAINING: readonly Option[] = [
  'epochs', 'steps', 'batch', 'optimizer', 'lr', 'weightDecay', 'schedule', 'warmup', 'clip', 'saveEvery',
  'resume', 'accumulate', 'evalEvery', 'patience', 'restoreBest', 'skipNonfinite',
];
/** The model-shape options of each family. */
const SHAPE: Record<ModelKind, readonly Option[]> = {
  ngram: [],
  loglinear: ['buckets', 'initRange'],
  ffnn: ['embed', 'hidden', 'direct', 'initRange'],
  rnn: ['embed', 'hidden', 'layers', 'dropout', 'initRange'],
  lstm: ['embed', 'hidden', 'layers', 'dropout', 'initRange'],
  transformer: ['embed', 'layers', 'heads', 'dropout'],
  mlm: ['embed', 'layers', 'heads', 'dropout'],
  mamba: ['embed', 'layers'],
};

/** True when `model` uses option `name`. */
export function appliesTo(model: ModelKind, name: Option): boolean {
  return COMMON.includes(name) || SHAPE[model].includes(name) || (model !== 'ngram' && TRAINING.includes(name));
}

/** The options among `given` (TrainRunOptions keys) that `model` does not use. */
export function inapplicableOptions(model: ModelKind, given: readonly string[]): Option[] {
  const known = new Set<string>([...COMMON, ...TRAINING, ...Object.values(SHAPE).flat()]);
  return given.filter((k): k is Option => known.has(k) && !appliesTo(model, k as Option));
}

/** `--weight-decay` for 'weightDecay'. */
export function flagName(option: string): string {
  return `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** The table of each model's defaults for `lmkit train --help` ('-': the flag does not apply). */
export function modelDefaultsTable(): string {
  const cols = ['batch', 'context', 'embed', 'hidden', 'layers', 'heads', 'dropout', 'lr', 'clip'] as const;
  const rows: string[][] = [['model', ...cols, 'also']];
  for (const kind of ['ngram', 'loglinear', 'ffnn', 'rnn', 'lstm', 'transformer', 'mlm', 'mamba'] as const) {
    if (kind === 'ngram') {
      rows.push([kind, '-', '4 (order 5)', ...cols.slice(2).map(() => '-'), '(counts; no steps, lr or batch)']);
      continue;
    }
    const d = MODEL_DEFAULTS[kind] as unknown as Record<string, number | undefined>;
    const cell = (c: (typeof cols)[number]): string => {
      if (c !== 'context' && c !== 'batch' && c !== 'lr' && c !== 'clip' && !appliesTo(kind, c)) return '-';
      if (c === 'dropout') return '0';
      if (c === 'clip') return d.clip === undefined ? 'none' : String(d.clip);
      return String(d[c]);
    };
    const also = SHAPE[kind].filter((o) => !(cols as readonly string[]).includes(o)).map((o) => (o === 'buckets' ? '--buckets 2048' : flagName(o)));
    rows.push([kind, ...cols.map(cell), also.join(' ')]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  return (
    'Model defaults (a flag marked - does not apply to that model; giving it prints a warning):\n' +
    lines.map((l) => `  ${l}`).join('\n') +
    '\n  lr is the adamw/adam/sophia default; sgd: 0.5 (momentum 0.9), adafactor: 1e-2. ' +
    'Epochs: 1 unless --steps. Schedule: constant.\n'
  );
}
