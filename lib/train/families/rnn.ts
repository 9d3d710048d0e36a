// The recurrent families (Elman RNN here, LSTM in lstm.ts): truncated BPTT over parallel
// streams, the hidden state carried from batch to batch; the output layer is tied to the
// embeddings when their sizes agree.
import { generateAll } from '../../generate/generate.js';
import { RecurrentLM, type RecurrentCell, type RecurrentConfig } from '../../models/rnn.js';
import type { NeuralFamily, RecurrentRegularization, ShapeOption } from '../family.js';
import { flagName } from '../flag-name.js';
import { streamEvaluator, streamJob } from '../jobs.js';

/** The AWD-LSTM regularisation options of the recurrent families (docs/recurrent.md). */
export const RECURRENT_REGULARIZATION = [
  'weightDrop',
  'dropoutInput',
  'dropoutHidden',
  'dropoutOutput',
  'embeddingDropout',
  'lastHidden',
  'adaptiveSoftmax',
  'ar',
  'tar',
  'bpttJitter',
] as const satisfies readonly ShapeOption[];

const PROBABILITIES = ['weightDrop', 'dropoutInput', 'dropoutHidden', 'dropoutOutput', 'embeddingDropout'] as const;

/** The regularisation options given (undefined when none), validated with the flags' names. */
export function recurrentRegularization(
  given: Readonly<Partial<Record<ShapeOption, number | boolean | readonly number[]>>>,
  c: { dropout: number; layers: number; hidden: number },
): RecurrentRegularization | undefined {
  const r: RecurrentRegularization = {};
  for (const k of PROBABILITIES) {
    const v = given[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new Error(`${flagName(k)} must be a probability in [0, 1), got ${String(v)}`);
    if (v > 0) r[k] = v;
  }
  for (const k of ['ar', 'tar'] as const) {
    const v = given[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(Number.isFinite(v) && v >= 0)) throw new Error(`${flagName(k)} must be a number >= 0, got ${String(v)}`);
    if (v > 0) r[k] = v;
  }
  const last = given.lastHidden;
  if (last !== undefined) {
    if (typeof last !== 'number' || !Number.isSafeInteger(last) || last < 1) throw new Error(`--last-hidden must be a positive integer, got ${String(last)}`);
    if (c.layers === 1 && last !== c.hidden) throw new Error(`--last-hidden ${last} needs --layers >= 2 (with one layer, give --hidden ${last})`);
    r.lastHidden = last;
  }
  const cut = given.adaptiveSoftmax;
  if (cut !== undefined) {
    const ok = Array.isArray(cut) && cut.length > 0 && cut.every((x, i) => Number.isSafeInteger(x) && x >= 1 && (i === 0 || x > cut[i - 1]!));
    if (!ok) throw new Error(`--adaptive-softmax must be increasing positive integers (word ids where the head and each cluster end), got ${String(cut)}`);
    r.adaptiveSoftmax = [...(cut as readonly number[])];
  }
  if (given.bpttJitter === true) r.bpttJitter = true;
  if (Object.keys(r).length === 0) return undefined;
  if (c.dropout > 0 && (r.dropoutInput || r.dropoutHidden || r.dropoutOutput)) {
    throw new Error('--dropout (a fresh mask per element) and --dropout-input/--dropout-hidden/--dropout-output (locked masks) are alternatives: give one kind');
  }
  return r;
}

/** The regularisation part of the model line ('' when none). */
function describeRegularization(r: RecurrentRegularization | undefined): string {
  if (!r) return '';
  const parts = Object.entries(r).map(([k, v]) => (v === true ? k : `${k} ${String(v)}`));
  return ` (${parts.join(', ')})`;
}

/** The family of RecurrentLM with `cell`. */
export function recurrentFamily<N extends RecurrentCell>(cell: N, summary: string): NeuralFamily<N, RecurrentLM, RecurrentConfig> {
  return {
    name: cell,
    summary,
    context: 'sequence',
    uses: ['embed', 'hidden', 'layers', 'dropout', 'initRange', ...RECURRENT_REGULARIZATION],
    describe: (c) => `${c.layers} x ${c.hidden} (embed ${c.embed}), BPTT ${c.context}, dropout ${c.dropout}${describeRegularization(c.recurrent)}`,
    generate: (model, ids, opts) => generateAll(model, ids, opts),
    neural: {
      defaults: { batch: 20, context: 35, embed: 200, hidden: 200, layers: 1, heads: 1, lr: 2e-3, clip: 1 },
      batches: 'streams',
      jobOptions: (given, c) => {
        const recurrent = recurrentRegularization(given, c);
        return recurrent ? { recurrent } : {};
      },
      config: (c) => {
        // Only the options given, so that older checkpoints' configs compare equal on resume.
        const r = c.recurrent ?? {};
        const extra: Partial<RecurrentConfig> = {};
        for (const k of [...PROBABILITIES, 'lastHidden'] as const) {
          if (r[k] !== undefined) extra[k] = r[k];
        }
        if (r.adaptiveSoftmax) {
          const last = r.adaptiveSoftmax[r.adaptiveSoftmax.length - 1]!;
          if (last >= c.V) throw new Error(`--adaptive-softmax ${r.adaptiveSoftmax.join(',')}: every cutoff must be below the vocabulary size (${c.V})`);
          extra.adaptiveCutoffs = [...r.adaptiveSoftmax];
        }
        return {
          vocabSize: c.V,
          cell,
          embed: c.embed,
          hidden: c.hidden,
          layers: c.layers,
          dropout: c.dropout,
          seed: c.seed,
          tieWeights: c.embed === (r.lastHidden ?? c.hidden),
          ...extra,
          ...(c.initRange !== undefined ? { initRange: c.initRange } : {}),
        };
      },
      build: (config) => new RecurrentLM(config),
      evaluator: (model, c) => streamEvaluator(model, c),
      job: (model, c, train, shard) => streamJob(model, c, train, streamEvaluator(model, c), shard),
      embedding: (m) => m.embeddingWeight,
    },
  };
}

export const rnn = recurrentFamily('rnn', 'Elman RNN LM (tanh), truncated BPTT');
