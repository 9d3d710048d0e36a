import { describe, expect, it } from 'vitest';

import { loadBrown } from '../../lib/data/brown.js';
import { UNK, Vocab } from '../../lib/data/vocab.js';

describe('Brown corpus', () => {
  it('has the token counts and split of ANCHORS.md', () => {
    const s = loadBrown();
    expect(s.train.length).toBe(800_000);
    expect(s.valid.length).toBe(200_000);
    expect(s.test.length).toBe(161_192);
    expect(s.train.slice(0, 4)).toEqual(['The', 'Fulton', 'County', 'Grand']);
    const v = Vocab.build(s.train, 4);
    expect(v.size).toBe(14_114);
    expect(v.tokens[0]).toBe(UNK);
  });

  it('vocabulary encodes unknown words as <unk> and round-trips through JSON', () => {
    const v = Vocab.build(['a', 'b', 'a', 'c', 'a', 'b'], 2);
    expect(v.tokens).toEqual([UNK, 'a', 'b']);
    expect(Array.from(v.encode(['a', 'c', 'b', 'zz']))).toEqual([1, 0, 2, 0]);
    expect(v.decode([2, 1, 0])).toEqual(['b', 'a', UNK]);
    const w = Vocab.fromJSON(JSON.parse(JSON.stringify(v.toJSON())));
    expect(w.tokens).toEqual(v.tokens);
    expect(() => new Vocab(['a'])).toThrow(/<unk>/);
    expect(() => new Vocab([UNK, 'a', 'a'])).toThrow(/repeat/);
  });
});
