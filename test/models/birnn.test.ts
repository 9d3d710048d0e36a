import { describe, expect, it } from 'vitest';

import {
  PAD_TAG,
  TagSet,
  TaggingVocab,
  makePosBatch,
  mostFrequentTagBaseline,
  posBatches,
  simplifyTag,
  splitSentences,
  encodeSentences,
} from '../../lib/data/pos.js';
import {
  BiRecurrentTagger,
  evaluateTagger,
  reverseWithinLengths,
  taggerLoss,
  type BiRecurrentConfig,
} from '../../lib/models/birnn.js';
import type { RecurrentCell } from '../../lib/models/rnn.js';
import { AdamW } from '../../lib/optim/optimizer.js';
import { Tensor, noGrad, tidy } from '../../lib/index.js';
import { expectClose, gradCheck } from '../helpers.js';

// A tiny tagged corpus where the tag of "saw" / "can" depends on the NEXT word
// (only the backward direction sees it), and "the" on nothing.
const raw = [
  'I/ppss saw/vbd the/at dog/nn ./.',
  'the/at saw/nn cut/vbd wood/nn ./.',
  'we/ppss can/md go/vb ./.',
  'the/at can/nn fell/vbd ./.',
  'I/ppss can/md see/vb the/at saw/nn ./.',
  'dogs/nns saw/vbd cats/nns ./.',
];
const tokens = raw.flatMap((s) =>
  s.split(' ').map((p) => {
    const i = p.lastIndexOf('/');
    return { word: p.slice(0, i), tag: p.slice(i + 1) };
  }),
);
const tagSet = TagSet.build(tokens.map((t) => simplifyTag(t.tag)));
const vocab = TaggingVocab.build(
  tokens.map((t) => t.word),
  1,
  false,
);
const sentences = encodeSentences(tokens, vocab, tagSet);

function tagger(cell: RecurrentCell, extra: Partial<BiRecurrentConfig> = {}): BiRecurrentTagger {
  return new BiRecurrentTagger({ vocabSize: vocab.size, numTags: tagSet.size, cell, embed: 8, hidden: 12, seed: 3, ...extra });
}

function logitsOf(model: BiRecurrentTagger, ids: number[][], lengths?: number[]): number[][] {
  const B = ids.length;
  const T = ids[0]!.length;
  const out = noGrad(() =>
    tidy(() => model.forward(Tensor.fromArray(Int32Array.from(ids.flat()), [B, T], 'int32'), lengths).toArray()),
  );
  const V = tagSet.size;
  return Array.from({ length: B * T }, (_, r) => Array.from(out.subarray(r * V, (r + 1) * V)));
}

describe('pos data', () => {
  it('simplifies Brown tags', () => {
    expect(simplifyTag('NN-TL')).toBe('nn');
    expect(simplifyTag('nn-tl-hl')).toBe('nn');
    expect(simplifyTag('vbn-nc')).toBe('vbn');
    expect(simplifyTag('bedz*')).toBe('bedz');
    expect(simplifyTag('md*-hl')).toBe('md');
    expect(simplifyTag('*')).toBe('*');
    expect(simplifyTag('nn$-tl')).toBe('nn$');
    expect(simplifyTag('ppss+ber')).toBe('ppss+ber');
    expect(simplifyTag('--')).toBe('--');
  });

  it('splits sentences and pads batches with -100 targets', () => {
    expect(splitSentences(tokens).map((s) => s.length)).toEqual([5, 5, 4, 4, 6, 4]);
    expect(splitSentences(tokens, 3).every((s) => s.length <= 3)).toBe(true);
    const b = makePosBatch([sentences[2]!, sentences[4]!]);
    expect(b.T).toBe(6);
    expect(Array.from(b.lengths)).toEqual([4, 6]);
    expect(b.tokens).toBe(10);
    expect(Array.from(b.tags.slice(4, 6))).toEqual([PAD_TAG, PAD_TAG]);
    expect(Array.from(b.ids.slice(6))).toEqual(Array.from(sentences[4]!.ids));
    const all = [...posBatches(sentences, 4, { shuffleSeed: 1, sortPool: 2 })];
    expect(all.map((x) => x.batchSize).sort()).toEqual([2, 4]);
    expect(all.reduce((s, x) => s + x.tokens, 0)).toBe(tokens.length);
    expect(() => [...posBatches(sentences, 0)]).toThrow(/batchSize/);
  });

  it('maps unknown words to shape classes', () => {
    const v = TaggingVocab.build(['the', 'the', 'dog'], 2, true);
    expect(v.known('the')).toBe(true);
    expect(v.known('dog')).toBe(false);
    expect(v.vocab.tokens[v.id('Paris')]).toBe('<unk-cap>');
    expect(v.vocab.tokens[v.id('1961')]).toBe('<unk-num>');
    expect(v.vocab.tokens[v.id('running')]).toBe('<unk-ing>');
    expect(v.id('xyz')).toBe(0);
  });

  it('most-frequent-tag baseline', () => {
    const r = mostFrequentTagBaseline(sentences, sentences, tagSet.size);
    expect(r.tokens).toBe(tokens.length);
    // saw: vbd x2, nn x2 -> one of them wrong twice; can: md x2, nn x1 -> one wrong.
    expect(r.correct).toBe(tokens.length - 3);
  });
});

describe('BiRecurrentTagger', () => {
  it('reverseWithinLengths reverses real positions and keeps padding last', () => {
    expect(Array.from(reverseWithinLengths([3, 1], 4))).toEqual([2, 1, 0, 3, 4, 5, 6, 7]);
  });

  for (const cell of ['rnn', 'lstm'] as RecurrentCell[]) {
    it(`${cell}: overfits a tiny tagged corpus (100% train accuracy)`, () => {
      const model = tagger(cell, { dropout: 0.1, hidden: 16 });
      const opt = new AdamW(model.parameters(), { lr: 3e-2, weightDecay: 0 });
      const batch = makePosBatch(sentences);
      const before = evaluateTagger(model, [batch]);
      let last = Number.POSITIVE_INFINITY;
      for (let step = 0; step < 150; step++) {
        tidy(() => {
          opt.zeroGrad();
          const { loss } = taggerLoss(model, batch);
          loss.backward();
          opt.step();
          last = loss.item();
        });
      }
      const after = evaluateTagger(model, [batch]);
      expect(after.tokens).toBe(tokens.length);
      expect(before.accuracy).toBeLessThan(1);
      expect(after.accuracy).toBe(1);
      expect(last).toBeLessThan(0.1);
      model.dispose();
    });

    it(`${cell}: gradients match finite differences`, () => {
      const model = new BiRecurrentTagger({ vocabSize: 5, numTags: 3, cell, embed: 3, hidden: 4, layers: 2, seed: 7, initRange: 0.5 });
      const ids = Tensor.fromArray(Int32Array.of(1, 2, 3, 4, 0, 4, 1, 0), [2, 4], 'int32');
      const params = model.parameters();
      gradCheck(
        () => model.forward(ids, [4, 3]),
        params,
        { maxChecks: 8, eps: 1e-2 },
      );
      model.dispose();
    });

    it(`${cell}: earlier positions see later words; padding does not change real positions`, () => {
      const model = tagger(cell, { layers: 2 });
      const a = logitsOf(model, [[1, 2, 3, 4]]);
      const b = logitsOf(model, [[1, 2, 3, 5]]);
      // Changing the last word changes the first position's logits (backward direction)...
      expect(Math.max(...a[0]!.map((v, k) => Math.abs(v - b[0]![k]!)))).toBeGreaterThan(1e-6);
      // ...and the last position's own logits change as well.
      expect(Math.max(...a[3]!.map((v, k) => Math.abs(v - b[3]![k]!)))).toBeGreaterThan(1e-6);
      // The same sentence padded (with different pad ids) in a batch with a longer one.
      const padded = logitsOf(model, [[1, 2, 3, 4, 0, 0], [5, 4, 3, 2, 1, 6], [1, 2, 3, 4, 6, 2]], [4, 6, 4]);
      for (let t = 0; t < 4; t++) {
        expectClose(padded[t]!, a[t]!, { atol: 1e-6, what: `row0 t${t}` });
        expectClose(padded[12 + t]!, a[t]!, { atol: 1e-6, what: `row2 t${t}` });
      }
      const alone = logitsOf(model, [[5, 4, 3, 2, 1, 6]]);
      for (let t = 0; t < 6; t++) expectClose(padded[6 + t]!, alone[t]!, { atol: 1e-6, what: `row1 t${t}` });
      model.dispose();
    });
  }

  it('the loss ignores padded targets', () => {
    const model = tagger('lstm');
    const one = makePosBatch([sentences[2]!]);
    const two = makePosBatch([sentences[2]!, sentences[4]!]);
    const l1 = noGrad(() => tidy(() => taggerLoss(model, one, { reduction: 'sum' }).loss.item()));
    const l2 = noGrad(() => tidy(() => taggerLoss(model, two, { reduction: 'sum' }).loss.item()));
    const l3 = noGrad(() => tidy(() => taggerLoss(model, makePosBatch([sentences[4]!]), { reduction: 'sum' }).loss.item()));
    expect(l2).toBeCloseTo(l1 + l3, 4);
    model.dispose();
  });

  it('rejects bad configurations and inputs', () => {
    const base: BiRecurrentConfig = { vocabSize: 5, numTags: 3, cell: 'lstm', embed: 4, hidden: 4 };
    expect(() => new BiRecurrentTagger({ ...base, cell: 'gru' as RecurrentCell })).toThrow(/cell/);
    expect(() => new BiRecurrentTagger({ ...base, hidden: 0 })).toThrow(/hidden/);
    expect(() => new BiRecurrentTagger({ ...base, numTags: 1.5 })).toThrow(/numTags/);
    expect(() => new BiRecurrentTagger({ ...base, layers: 0 })).toThrow(/layers/);
    expect(() => new BiRecurrentTagger({ ...base, dropout: 1 })).toThrow(/dropout/);
    expect(() => new BiRecurrentTagger({ ...base, initRange: 0 })).toThrow(/initRange/);
    const m = new BiRecurrentTagger(base);
    const ids = Tensor.fromArray(Int32Array.of(1, 2, 3), [1, 3], 'int32');
    expect(() => m.forward(ids, [4])).toThrow(/lengths/);
    expect(() => m.forward(ids, [0])).toThrow(/lengths/);
    expect(() => m.forward(ids, [3, 3])).toThrow(/lengths/);
    expect(() => m.forward(Tensor.fromArray(Float32Array.of(1, 2), [1, 2]))).toThrow(/int32/);
    expect(() => m.forward(Tensor.fromArray(Int32Array.of(1, 9), [1, 2], 'int32'))).toThrow();
    m.dispose();
    ids.dispose();
  });
});
