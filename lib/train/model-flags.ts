// Which `lmkit train` options each model family uses, and its defaults: for the warning on a
// flag that does not apply to the chosen model (`--heads` for lstm, `--lr` for ngram) and for
// the table of defaults in `lmkit train --help`. What each family uses is its descriptor's
// (registry.ts: `uses`, `flags`, and gradient training for the training options).
import { RECURRENT_REGULARIZATION } from './families/rnn.js';
import { flagName } from './flag-name.js';
import type { TrainRunOptions } from './options.js';
import { families, familyOf, type ModelKind } from './registry.js';

type Option = keyof TrainRunOptions;

/** Options every model uses (the corpus, its tokenizer, evaluation, saving). */
const COMMON: readonly Option[] = ['model', 'corpus', 'tokenizer', 'bpeVocab', 'minCount', 'seed', 'test', 'evalTokens', 'out', 'context'];
/** Options of the gradient-trained (neural) models. */
const TRAINING: readonly Option[] = [
  'epochs', 'steps', 'batch', 'optimizer', 'lr', 'weightDecay', 'schedule', 'warmup', 'clip', 'saveEvery',
  'resume', 'accumulate', 'evalEvery', 'patience', 'restoreBest', 'skipNonfinite', 'momentum', 'ntasgd',
];

/** The model-shape options of a family: the shared ones it uses, then its own. */
function shapeOf(model: ModelKind): readonly Option[] {
  const f = familyOf(model);
  return [...f.uses, ...(f.flags ?? []).map((x) => x.option)];
}

/** True when `model` uses option `name`. */
export function appliesTo(model: ModelKind, name: Option): boolean {
  return COMMON.includes(name) || shapeOf(model).includes(name) || (familyOf(model).neural !== undefined && TRAINING.includes(name));
}

/** The options among `given` (TrainRunOptions keys) that `model` does not use. */
export function inapplicableOptions(model: ModelKind, given: readonly string[]): Option[] {
  const known = new Set<string>([...COMMON, ...TRAINING, ...families().flatMap((f) => shapeOf(f.name))]);
  return given.filter((k): k is Option => known.has(k) && !appliesTo(model, k as Option));
}

/** `--weight-decay` for 'weightDecay'. */
export { flagName };

/** The table of each model's defaults for `lmkit train --help` ('-': the flag does not apply). */
export function modelDefaultsTable(): string {
  const cols = ['batch', 'context', 'embed', 'hidden', 'layers', 'heads', 'dropout', 'lr', 'clip'] as const;
  const rows: string[][] = [['model', ...cols, 'also']];
  for (const f of families()) {
    const kind = f.name;
    if (f.counts) {
      rows.push([kind, '-', f.counts.contextLabel(f.counts.defaultContext), ...cols.slice(2).map(() => '-'), '(counts; no steps, lr or batch)']);
      continue;
    }
    const d = f.neural!.defaults as unknown as Record<string, number | undefined>;
    const cell = (c: (typeof cols)[number]): string => {
      if (c !== 'context' && c !== 'batch' && c !== 'lr' && c !== 'clip' && !appliesTo(kind, c)) return '-';
      if (c === 'dropout') return '0';
      if (c === 'clip') return d.clip === undefined ? 'none' : String(d.clip);
      return String(d[c]);
    };
    const also = (f.flags ?? []).map((x) => (typeof x.default === 'number' ? `${flagName(x.option)} ${x.default}` : flagName(x.option)));
    if (f.uses.some((o) => (RECURRENT_REGULARIZATION as readonly string[]).includes(o))) also.push('AWD-LSTM regularisation (the rnn, lstm flags above; off by default)');
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
