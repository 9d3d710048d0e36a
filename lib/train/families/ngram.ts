// The n-gram family: interpolated modified Kneser-Ney, counted in one pass over the training
// split (no gradient steps; --context is order - 1).
// Checkpoint: no weights but the Kneser-Ney tables: for each order k = 1..n the tensors
// `ngram.<k>.parent`, `ngram.<k>.word` and `ngram.<k>.count`, each the level's int32 array
// bit-packed (lib/io/bitpack.ts) into I32 words at the width of its largest value; the metadata
// field `ngram` = { order, vocabSize, discounts, levels: [{ size, bits: { parent, word, count } }] }
// (checkpointing.ts writes it with the vocabulary; moved here from there with the registry).
import { generateNgram } from '../../generate/ngram.js';
import { bitsFor, packBits, unpackBits } from '../../io/bitpack.js';
import { KneserNeyLM, type Discounts } from '../../models/ngram.js';
import { Tensor } from '../../tensor.js';
import type { CountsFamily } from '../family.js';

/** `meta.ngram` of an n-gram checkpoint. */
export interface NgramCheckpointMeta {
  order: number;
  vocabSize: number;
  discounts: Discounts[];
  levels: { size: number; bits: { parent: number; word: number; count: number } }[];
}

const NGRAM_FIELDS = ['parent', 'word', 'count'] as const;

/** The bit-packed tables of `model` and their description. */
function toCheckpoint(model: KneserNeyLM): { tensors: Record<string, Tensor>; meta: NgramCheckpointMeta } {
  const a = model.toArrays();
  const tensors: Record<string, Tensor> = {};
  const levels: NgramCheckpointMeta['levels'] = [];
  try {
    a.levels.forEach((l, k) => {
      const bits = { parent: bitsFor(l.parent), word: bitsFor(l.word), count: bitsFor(l.count) };
      for (const f of NGRAM_FIELDS) {
        let packed = packBits(l[f], bits[f]);
        if (packed.length === 0) packed = new Int32Array(1); // no empty tensors
        tensors[`ngram.${k + 1}.${f}`] = Tensor.fromArray(packed, [packed.length], 'int32');
      }
      levels.push({ size: l.parent.length, bits });
    });
  } catch (err) {
    for (const x of Object.values(tensors)) x.dispose();
    throw err;
  }
  return { tensors, meta: { order: a.order, vocabSize: a.vocabSize, discounts: a.discounts, levels } };
}

function fromCheckpoint(tensors: ReadonlyMap<string, Tensor>, meta: unknown, vocabSize: number): KneserNeyLM {
  const g = meta as Partial<NgramCheckpointMeta> | undefined;
  if (typeof g !== 'object' || g === null || !Array.isArray(g.levels)) throw new Error('no n-gram tables in the metadata');
  if (g.vocabSize !== vocabSize) throw new Error(`the model has ${String(g.vocabSize)} words but the vocabulary ${vocabSize}`);
  try {
    const levels = g.levels.map((l, k) => {
      const get = (f: (typeof NGRAM_FIELDS)[number]): Int32Array => {
        const name = `ngram.${k + 1}.${f}`;
        const x = tensors.get(name);
        if (!x || x.dtype !== 'int32') throw new Error(`missing int32 tensor '${name}'`);
        const words = Math.ceil((l.size * l.bits[f]) / 32);
        const packed = x.toArray() as Int32Array;
        return unpackBits(packed.length === 1 && words === 0 ? new Int32Array(0) : packed, l.size, l.bits[f]);
      };
      return { parent: get('parent'), word: get('word'), count: get('count') };
    });
    return KneserNeyLM.fromArrays({ order: g.order!, vocabSize: g.vocabSize!, discounts: g.discounts!, levels });
  } catch (err) {
    throw new Error(`bad n-gram tables: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export const ngram: CountsFamily<'ngram', KneserNeyLM> = {
  name: 'ngram',
  summary: 'interpolated modified Kneser-Ney n-gram LM, counted in one pass (order = --context + 1)',
  context: 'previous',
  uses: [],
  describe: (c) => `interpolated modified Kneser-Ney, order ${c.context + 1}`,
  generate: async (model, ids, opts) => generateNgram(model, ids, opts),
  counts: {
    defaultContext: 4,
    contextLabel: (context) => `${context} (order ${context + 1})`,
    settings: (context) => ({ context, order: context + 1 }),
    train: (ids, c) => KneserNeyLM.train(ids, { order: c.context + 1, vocabSize: c.vocabSize }),
    trained: (model, seconds) => `model ngram: interpolated modified Kneser-Ney, order ${model.order}; trained in ${seconds.toFixed(1)} s`,
    evaluate: (model, ids) => model.evaluate(ids),
    contextOf: (model) => model.order - 1,
    toCheckpoint,
    fromCheckpoint,
  },
};
