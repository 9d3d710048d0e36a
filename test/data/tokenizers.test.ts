import { describe, expect, it } from 'vitest';

import {
  BpeTokenizer,
  CharTokenizer,
  Gpt2Tokenizer,
  WordTokenizer,
  bpeChunks,
  splitWords,
  tokenizerFromJSON,
} from '../../lib/data/tokenizers.js';
import type { Tokenizer } from '../../lib/data/tokenizers.js';

const SAMPLES: Record<string, string> = {
  ascii: 'The quick brown fox jumps over the lazy dog.\n  Tabs\tand  double  spaces!  ',
  accented: 'Ça fait déjà l’été à Zürich — naïve façade, résumé, coöperate; e\u0301 (combining).',
  cjk: '日本語のテキストと中文文本，还有한국어 텍스트。',
  emoji: 'Emoji: 😀👍🏽 👨‍👩‍👧 🇫🇷 ❤️ end',
};
const ALL = Object.values(SAMPLES).join('\n');

function ids(t: Tokenizer, s: string): number[] {
  return Array.from(t.encode(s));
}

function expectInRange(t: Tokenizer, e: Int32Array): void {
  for (const id of e) {
    expect(id).toBeGreaterThanOrEqual(0);
    expect(id).toBeLessThan(t.vocabSize);
  }
}

function roundTripsJSON(t: Tokenizer, probe: string): Tokenizer {
  const u = tokenizerFromJSON(JSON.parse(JSON.stringify(t.toJSON())));
  expect(u.kind).toBe(t.kind);
  expect(u.vocabSize).toBe(t.vocabSize);
  expect(ids(u, probe)).toEqual(ids(t, probe));
  expect(u.decode(t.encode(probe))).toBe(t.decode(t.encode(probe)));
  return u;
}

describe('CharTokenizer', () => {
  const tok = CharTokenizer.build(ALL);

  it('round-trips ASCII, accented, CJK and emoji text by code point', () => {
    for (const [name, s] of Object.entries(SAMPLES)) {
      const e = tok.encode(s);
      expectInRange(tok, e);
      expect(tok.decode(e), name).toBe(s);
      expect(e.length).toBe([...s].length);
      expect(Array.from(e)).not.toContain(0);
    }
  });

  it('maps rare and unseen characters to <unk> (id 0) and orders by frequency', () => {
    const t = CharTokenizer.build('aaabbc', { minCount: 2 });
    expect(t.chars).toEqual(['<unk>', 'a', 'b']);
    expect(ids(t, 'abcz😀')).toEqual([1, 2, 0, 0, 0]);
    expect(t.decode([1, 0, 2])).toBe('a\uFFFDb');
    expect(ids(t, '<unk>')).toEqual([0, 0, 0, 0, 0]);
  });

  it('round-trips through JSON', () => {
    roundTripsJSON(tok, ALL);
    expect(() => CharTokenizer.fromJSON({ kind: 'char', chars: ['a'] })).toThrow(/<unk>/);
    expect(() => CharTokenizer.fromJSON({ kind: 'char', chars: ['<unk>', 'ab'] })).toThrow(/code point/);
  });
});

describe('WordTokenizer', () => {
  it('splits words, apostrophes and punctuation as documented', () => {
    expect(splitWords("Don't stop, l’été's 3.5 km!")).toEqual(["Don't", 'stop', ',', 'l’été\'s', '3', '.', '5', 'km', '!']);
    expect(splitWords('Hello  World', true)).toEqual(['hello', 'world']);
  });

  it('round-trips modulo whitespace normalisation, on all scripts', () => {
    const tok = WordTokenizer.build(ALL);
    for (const [name, s] of Object.entries(SAMPLES)) {
      const e = tok.encode(s);
      expectInRange(tok, e);
      expect(Array.from(e), name).not.toContain(0);
      const d = tok.decode(e);
      expect(d).toBe(splitWords(s).join(' '));
      expect(ids(tok, d)).toEqual(Array.from(e));
    }
    const hi = WordTokenizer.build('Hi,   you.');
    expect(hi.decode(hi.encode('Hi,   you.'))).toBe('Hi , you .');
  });

  it('uses <unk> below minCount and round-trips through JSON', () => {
    const tok = WordTokenizer.build('a b a c a b', { minCount: 2 });
    expect(tok.vocab.tokens).toEqual(['<unk>', 'a', 'b']);
    expect(ids(tok, 'a c b zz')).toEqual([1, 0, 2, 0]);
    expect(tok.decode([2, 0, 1])).toBe('b <unk> a');
    const lower = WordTokenizer.build('The the THE', { lowercase: true });
    expect(lower.vocabSize).toBe(2);
    const u = roundTripsJSON(lower, 'tHe cat');
    expect((u as WordTokenizer).lowercase).toBe(true);
    // A plain VocabJSON loads as a WordTokenizer.
    expect(tokenizerFromJSON({ kind: 'word', tokens: ['<unk>', 'x'] }).encode('x y')).toEqual(Int32Array.of(1, 0));
  });
});

describe('Gpt2Tokenizer', () => {
  const tok = new Gpt2Tokenizer();

  it('has the GPT-2 vocabulary and known encodings', () => {
    expect(tok.vocabSize).toBe(50257);
    expect(ids(tok, 'Hello world')).toEqual([15496, 995]);
    expect(ids(tok, ' the')).toEqual([262]);
    expect(tok.decode([15496, 11, 995, 0])).toBe('Hello, world!');
    expect(tok.decode(tok.encode('\uFEFFhi'))).toBe('\uFEFFhi');
    expect(tok.decode([])).toBe('');
  });

  it('round-trips ASCII, accented, CJK and emoji text exactly', () => {
    for (const [name, s] of Object.entries(SAMPLES)) {
      const e = tok.encode(s);
      expectInRange(tok, e);
      expect(tok.decode(e), name).toBe(s);
    }
  });

  it('treats <|endoftext|> as text unless allowed, and round-trips through JSON', () => {
    const s = 'a<|endoftext|>b';
    expect(ids(tok, s)).not.toContain(50256);
    expect(tok.decode(tok.encode(s))).toBe(s);
    const special = new Gpt2Tokenizer({ allowSpecial: true });
    expect(ids(special, s)).toContain(50256);
    expect(special.decode(special.encode(s))).toBe(s);
    roundTripsJSON(tok, ALL);
    expect((roundTripsJSON(special, s) as Gpt2Tokenizer).allowSpecial).toBe(true);
    expect(() => tok.decode([50257])).toThrow(/range/);
  });
});

describe('BpeTokenizer (byte-level, trained)', () => {
  // Repetitive text with a handful of words, plus the multilingual samples.
  const words = ['lower', 'lowest', 'newer', 'wider', 'new', 'low', 'été', '日本語', '😀ok'];
  let state = 7;
  const rand = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const corpus = Array.from({ length: 3000 }, () => words[Math.floor(rand() * words.length)]!).join(' ') + '\n' + ALL;

  it('pre-splits on whitespace into chunks that tile the text', () => {
    expect(bpeChunks('a  b\nc d')).toEqual(['a', ' ', ' b', '\n', 'c', ' d']);
    expect(bpeChunks('x'.repeat(10), 4)).toEqual(['xxxx', 'xxxx', 'xx']);
    expect(bpeChunks('😀😀😀', 2)).toEqual(['😀😀', '😀']);
    for (const s of Object.values(SAMPLES)) expect(bpeChunks(s, 5).join('')).toBe(s);
  });

  it('learns merges that shrink repetitive text, deterministically', () => {
    const tok = BpeTokenizer.train(corpus, { vocabSize: 300 });
    expect(tok.vocabSize).toBe(300);
    const bytes = new TextEncoder().encode(corpus).length;
    const n = tok.encode(corpus).length;
    expect(n).toBeLessThan(bytes / 3);
    const again = BpeTokenizer.train(corpus, { vocabSize: 300 });
    expect(again.toJSON()).toEqual(tok.toJSON());
    // " lower" is frequent enough to become one token.
    expect(tok.encode(' lower').length).toBe(1);
    expect(new TextDecoder().decode(tok.tokenBytes(tok.encode(' lower')[0]!))).toBe(' lower');
  });

  it('stops at minFrequency and never crosses whitespace', () => {
    const tok = BpeTokenizer.train('ab ab ab cd', { vocabSize: 1000, minFrequency: 2 });
    // Only "ab" and " ab"-related pairs occur twice or more; "cd" occurs once.
    expect(tok.vocabSize).toBeLessThan(260);
    expect(tok.encode('cd').length).toBe(2);
    expect(tok.encode(' ab').length).toBe(1);
    const none = BpeTokenizer.train('abc', { vocabSize: 1000 });
    expect(none.vocabSize).toBe(256);
    // No learned token holds whitespace after a non-space character.
    const big = BpeTokenizer.train(corpus, { vocabSize: 400 });
    for (let id = 256; id < big.vocabSize; id++) {
      const text = new TextDecoder().decode(big.tokenBytes(id));
      expect(/\S\s/u.test(text), JSON.stringify(text)).toBe(false);
    }
  });

  it('counts overlapping pairs correctly (aaaa...)', () => {
    const tok = BpeTokenizer.train('aaaaaaaa aaaaaaaa aaa', { vocabSize: 260 });
    const s = 'aaaaaaaa aaa aaaaaaaaaaaaa';
    expect(tok.decode(tok.encode(s))).toBe(s);
    // merges: aa, aaaa, aaaaaaaa ...
    expect(tok.encode('aaaaaaaa').length).toBe(1);
  });

  it('round-trips arbitrary UTF-8 exactly (seen and unseen scripts)', () => {
    const tok = BpeTokenizer.train(corpus, { vocabSize: 400 });
    const extra = ['', ' ', '\n\n\t ', '\uFEFFbom', 'Ελληνικά', 'مرحبا بالعالم', 'a\u0000b', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'x'.repeat(500)];
    for (const s of [...Object.values(SAMPLES), ...extra, corpus.slice(0, 2000)]) {
      const e = tok.encode(s);
      expectInRange(tok, e);
      expect(tok.decode(e)).toBe(s);
    }
  });

  it('round-trips through JSON and rejects bad merge lists', () => {
    const tok = BpeTokenizer.train(corpus, { vocabSize: 320 });
    roundTripsJSON(tok, ALL + corpus.slice(0, 500));
    expect(() => BpeTokenizer.fromJSON({ kind: 'bpe', merges: [1, 300], maxChunk: 64 })).toThrow(/not yet defined/);
    expect(() => tokenizerFromJSON({ kind: 'nope' } as never)).toThrow(/unknown tokenizer kind/);
  });
});

/** Reference trainer: recounts every pair from scratch before each merge. */
function naiveMerges(text: string, vocabSize: number, minFrequency: number): number[] {
  const counts = new Map<string, number>();
  for (const c of bpeChunks(text)) counts.set(c, (counts.get(c) ?? 0) + 1);
  const words = [...counts.entries()].map(([c, f]) => ({ w: Array.from(new TextEncoder().encode(c)), f }));
  const merges: number[] = [];
  while (256 + merges.length / 2 < vocabSize) {
    const pc = new Map<number, number>();
    for (const { w, f } of words) for (let i = 0; i + 1 < w.length; i++) pc.set(w[i]! * 2097152 + w[i + 1]!, (pc.get(w[i]! * 2097152 + w[i + 1]!) ?? 0) + f);
    let best = -1;
    let bestN = 0;
    for (const [k, n] of pc) if (n > bestN || (n === bestN && k < best)) [best, bestN] = [k, n];
    if (best < 0 || bestN < minFrequency) break;
    const a = Math.floor(best / 2097152);
    const b = best % 2097152;
    const id = 256 + merges.length / 2;
    merges.push(a, b);
    for (const o of words) {
      const out: number[] = [];
      for (let i = 0; i < o.w.length; ) {
        if (i + 1 < o.w.length && o.w[i] === a && o.w[i + 1] === b) {
          out.push(id);
          i += 2;
        } else out.push(o.w[i++]!);
      }
      o.w = out;
    }
  }
  return merges;
}

describe('BpeTokenizer training matches a from-scratch reference', () => {
  it('on random texts over a small alphabet (overlaps, repeats, multibyte)', () => {
    let state = 12345;
    const rand = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
    const alphabet = ['a', 'a', 'b', 'a', ' ', 'é', '😀', '\n'];
    for (let trial = 0; trial < 8; trial++) {
      const text = Array.from({ length: 400 + trial * 50 }, () => alphabet[Math.floor(rand() * alphabet.length)]!).join('');
      const tok = BpeTokenizer.train(text, { vocabSize: 320, minFrequency: 2 });
      expect(tok.toJSON().merges).toEqual(naiveMerges(text, 320, 2));
      expect(tok.decode(tok.encode(text))).toBe(text);
    }
  });
});
