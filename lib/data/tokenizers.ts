// Tokenizers: text <-> token ids. Five kinds share one interface (`Tokenizer`) and one JSON
// form each, told apart by `kind` (see `tokenizerFromJSON`):
//
//   char  CharTokenizer   Unicode code points seen >= minCount times, plus <unk> (id 0).
//   word  WordTokenizer   a word Vocab (./vocab.ts) over a letters/digits + punctuation split.
//   gpt2  Gpt2Tokenizer   the GPT-2 byte-level BPE (50,257 ids), ranks from `js-tiktoken`.
//   bpe   BpeTokenizer    a byte-level BPE trained here on the user's own corpus.
//   hf-bpe HfBpeTokenizer GPT-2-style byte-level BPE read from a Hugging Face vocab.json +
//                         merges.txt (lmkit import), with no other package.
//
// Byte-level tokenizers (gpt2, bpe, hf-bpe) reproduce any string exactly: decode(encode(s)) === s.
// The char tokenizer does too when every character of s is in its vocabulary. The word
// tokenizer normalises whitespace (see WordTokenizer).
import { createRequire } from 'node:module';

import type { TiktokenBPE } from 'js-tiktoken/lite';

import { UNK, Vocab } from './vocab.js';

export interface Tokenizer {
  /** Short name of the tokenizer family: 'char' | 'word' | 'gpt2' | 'bpe' | 'hf-bpe'. */
  readonly kind: TokenizerKind;
  /** Number of ids; every id produced by `encode` is in [0, vocabSize). */
  readonly vocabSize: number;
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
  toJSON(): TokenizerJSON;
}

export type TokenizerKind = 'char' | 'word' | 'gpt2' | 'bpe' | 'hf-bpe';

export interface CharTokenizerJSON {
  kind: 'char';
  /** chars[0] is '<unk>'; chars[i] is the single code point with id i. */
  chars: string[];
}

export interface WordTokenizerJSON {
  kind: 'word';
  /** tokens[0] is '<unk>' (the same layout as VocabJSON, which also loads as a WordTokenizer). */
  tokens: string[];
  lowercase?: boolean;
  /** 'whitespace': words are the text's whitespace-separated pieces (Brown models); default: splitWords. */
  split?: 'words' | 'whitespace';
}

export interface Gpt2TokenizerJSON {
  kind: 'gpt2';
  /** Whether '<|endoftext|>' in the text encodes to the special id 50256. */
  allowSpecial?: boolean;
}

export interface BpeTokenizerJSON {
  kind: 'bpe';
  /** Flattened merge list: merge r joins ids merges[2r], merges[2r+1] into id 256 + r. */
  merges: number[];
  /** Longest pre-token in code points (see BpeTokenizer). */
  maxChunk: number;
}

export interface HfBpeTokenizerJSON {
  kind: 'hf-bpe';
  /** Token string of each id, in the byte-to-unicode alphabet of GPT-2's vocab.json. */
  tokens: string[];
  /** Merges in rank order, each "left right" as in merges.txt. */
  merges: string[];
}

export type TokenizerJSON = CharTokenizerJSON | WordTokenizerJSON | Gpt2TokenizerJSON | BpeTokenizerJSON | HfBpeTokenizerJSON;

/** Rebuilds any tokenizer from its `toJSON()` form (a VocabJSON loads as a WordTokenizer). */
export function tokenizerFromJSON(json: TokenizerJSON): Tokenizer {
  if (json === null || typeof json !== 'object') throw new Error('tokenizerFromJSON: expected an object');
  switch (json.kind) {
    case 'char':
      return CharTokenizer.fromJSON(json);
    case 'word':
      return WordTokenizer.fromJSON(json);
    case 'gpt2':
      return Gpt2Tokenizer.fromJSON(json);
    case 'bpe':
      return BpeTokenizer.fromJSON(json);
    case 'hf-bpe':
      return HfBpeTokenizer.fromJSON(json);
    default:
      throw new Error(`tokenizerFromJSON: unknown tokenizer kind ${JSON.stringify((json as { kind?: unknown }).kind)}`);
  }
}

function checkMinCount(minCount: number, who: string): void {
  if (!Number.isInteger(minCount) || minCount < 1) throw new RangeError(`${who}: minCount must be a positive integer, got ${minCount}`);
}

// ---------------------------------------------------------------------------------------
// Characters.

/**
 * One id per Unicode code point (not per UTF-16 unit, so emoji are single tokens; a
 * multi-code-point grapheme such as a flag or an accent written as a combining mark is
 * several). Id 0 is <unk>, used for characters seen fewer than `minCount` times in the
 * training text; it decodes as U+FFFD. Other ids: most frequent first, ties by code point.
 */
export class CharTokenizer implements Tokenizer {
  readonly kind = 'char' as const;
  readonly chars: readonly string[];
  private readonly index: Map<string, number>;

  constructor(chars: readonly string[]) {
    if (chars[0] !== UNK) throw new Error(`CharTokenizer: id 0 must be ${UNK}`);
    for (let i = 1; i < chars.length; i++) {
      const c = chars[i]!;
      if (typeof c !== 'string' || c.length === 0 || c.codePointAt(0)! > 0xffff !== (c.length === 2) || c.length > 2) {
        throw new Error(`CharTokenizer: entry ${i} (${JSON.stringify(c)}) is not a single code point`);
      }
    }
    this.chars = chars;
    this.index = new Map(chars.map((c, i) => [c, i]));
    this.index.delete(UNK); // '<unk>' is not a character; its letters encode one by one.
    if (this.index.size !== chars.length - 1) throw new Error('CharTokenizer: a character is repeated');
  }

  static build(text: string, opts: { minCount?: number } = {}): CharTokenizer {
    const minCount = opts.minCount ?? 1;
    checkMinCount(minCount, 'CharTokenizer.build');
    const counts = new Map<string, number>();
    for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
    const kept = [...counts.entries()].filter(([, n]) => n >= minCount);
    kept.sort((a, b) => b[1] - a[1] || a[0].codePointAt(0)! - b[0].codePointAt(0)!);
    return new CharTokenizer([UNK, ...kept.map(([c]) => c)]);
  }

  get vocabSize(): number {
    return this.chars.length;
  }

  encode(text: string): Int32Array {
    const out: number[] = [];
    for (const c of text) out.push(this.index.get(c) ?? 0);
    return Int32Array.from(out);
  }

  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      s += id > 0 && id < this.chars.length ? this.chars[id]! : '\uFFFD';
    }
    return s;
  }

  toJSON(): CharTokenizerJSON {
    return { kind: 'char', chars: [...this.chars] };
  }

  static fromJSON(j: CharTokenizerJSON): CharTokenizer {
    if (j.kind !== 'char' || !Array.isArray(j.chars)) throw new Error('not a char tokenizer');
    return new CharTokenizer(j.chars);
  }
}

// ---------------------------------------------------------------------------------------
// Words.

/**
 * The word split: a word is a run of letters, combining marks, digits and underscores, with
 * internal apostrophes kept (don't, l’homme); every other non-space character (punctuation,
 * symbols, emoji) is a token on its own; whitespace only separates tokens.
 */
const WORD_RE = /[\p{L}\p{M}\p{N}_]+(?:['’][\p{L}\p{M}\p{N}_]+)*|[^\s\p{L}\p{M}\p{N}_]/gu;

/** Splits text into word tokens (see WORD_RE above); optionally lower-cased first. */
export function splitWords(text: string, lowercase = false): string[] {
  return (lowercase ? text.toLowerCase() : text).match(WORD_RE) ?? [];
}

/**
 * A word-level tokenizer over a Vocab: text is split by `splitWords`, words seen fewer than
 * `minCount` times in the training text become <unk> (id 0). Decoding joins the tokens with
 * single spaces, so the round trip normalises text: whitespace runs become one space, a
 * space separates punctuation from words ("Hi, you." -> "Hi , you ."), and with
 * `lowercase` the case is folded. encode(decode(encode(s))) equals encode(s).
 */
export class WordTokenizer implements Tokenizer {
  readonly kind = 'word' as const;
  readonly vocab: Vocab;
  readonly lowercase: boolean;
  /** How text is cut into words: 'words' (splitWords, the default) or 'whitespace' (the pre-split Brown corpus). */
  readonly split: 'words' | 'whitespace';

  constructor(vocab: Vocab, opts: { lowercase?: boolean; split?: 'words' | 'whitespace' } = {}) {
    this.vocab = vocab;
    this.lowercase = opts.lowercase ?? false;
    this.split = opts.split ?? 'words';
  }

  static build(text: string, opts: { minCount?: number; lowercase?: boolean } = {}): WordTokenizer {
    const minCount = opts.minCount ?? 1;
    checkMinCount(minCount, 'WordTokenizer.build');
    const lowercase = opts.lowercase ?? false;
    return new WordTokenizer(Vocab.build(splitWords(text, lowercase), minCount), { lowercase });
  }

  get vocabSize(): number {
    return this.vocab.size;
  }

  private words(text: string): string[] {
    if (this.split === 'words') return splitWords(text, this.lowercase);
    return (this.lowercase ? text.toLowerCase() : text).split(/\s+/).filter((w) => w !== '');
  }

  encode(text: string): Int32Array {
    return this.vocab.encode(this.words(text));
  }

  decode(ids: ArrayLike<number>): string {
    return this.vocab.decode(ids).join(' ');
  }

  toJSON(): WordTokenizerJSON {
    return { kind: 'word', tokens: [...this.vocab.tokens], lowercase: this.lowercase, ...(this.split === 'whitespace' ? { split: 'whitespace' as const } : {}) };
  }

  static fromJSON(j: WordTokenizerJSON): WordTokenizer {
    if (j.kind !== 'word' || !Array.isArray(j.tokens)) throw new Error('not a word tokenizer');
    const bad = j.tokens.findIndex((t) => typeof t !== 'string');
    if (bad >= 0) throw new Error(`word tokenizer: tokens[${bad}] is not a string`);
    if (j.lowercase !== undefined && typeof j.lowercase !== 'boolean') {
      throw new Error('word tokenizer: lowercase must be a boolean');
    }
    if (j.split !== undefined && j.split !== 'words' && j.split !== 'whitespace') {
      throw new Error("word tokenizer: split must be 'words' or 'whitespace'");
    }
    return new WordTokenizer(new Vocab(j.tokens), { lowercase: j.lowercase ?? false, split: j.split ?? 'words' });
  }
}

// ---------------------------------------------------------------------------------------
// GPT-2.

interface TiktokenLike {
  encode(text: string, allowedSpecial?: string[] | 'all', disallowedSpecial?: string[] | 'all'): number[];
  decode(tokens: number[]): string;
}

let gpt2Encoder: TiktokenLike | null = null;

/** The GPT-2 encoder, loaded from the `js-tiktoken` package on first use (no downloads). */
function gpt2(): TiktokenLike {
  if (gpt2Encoder) return gpt2Encoder;
  const require = createRequire(import.meta.url);
  let lite: { Tiktoken: new (ranks: TiktokenBPE) => TiktokenLike };
  let ranks: TiktokenBPE;
  try {
    lite = require('js-tiktoken/lite');
    const r = require('js-tiktoken/ranks/gpt2');
    ranks = (r.default ?? r) as TiktokenBPE;
  } catch (e) {
    throw new Error(`the GPT-2 tokenizer needs the js-tiktoken package (\`npm install js-tiktoken\`): ${(e as Error).message}`);
  }
  gpt2Encoder = new lite.Tiktoken(ranks);
  return gpt2Encoder;
}

/**
 * GPT-2's tokenizer as Hugging Face files (vocab.json, merges.txt), derived from the ranks in
 * js-tiktoken (needs that package): token r's string is its bytes in GPT-2's byte-to-unicode
 * alphabet, and merge r - 256 is the pair that BPE with only the ranks below r leaves of token r.
 * An HfBpeTokenizer built from them encodes exactly as Gpt2Tokenizer (tested).
 */
export function gpt2TokenizerFiles(): { vocabJson: string; mergesTxt: string } {
  const require = createRequire(import.meta.url);
  let ranks: TiktokenBPE;
  try {
    const r = require('js-tiktoken/ranks/gpt2');
    ranks = (r.default ?? r) as TiktokenBPE;
  } catch (e) {
    throw new Error(`GPT-2's vocab.json / merges.txt are derived from the js-tiktoken package (\`npm install js-tiktoken\`): ${(e as Error).message}`);
  }
  const byRank: Uint8Array[] = [];
  for (const line of ranks.bpe_ranks.split('\n')) {
    if (!line) continue;
    const [, off, ...toks] = line.split(' ');
    toks.forEach((t, i) => (byRank[Number(off) + i] = Uint8Array.from(Buffer.from(t, 'base64'))));
  }
  const rankOf = new Map<string, number>();
  byRank.forEach((b, r) => rankOf.set(b.join(','), r));
  const str = (b: Uint8Array): string => Array.from(b, (x) => BYTE_TO_UNICODE[x]!).join('');
  const vocab: Record<string, number> = {};
  byRank.forEach((b, r) => (vocab[str(b)] = r));
  for (const [t, id] of Object.entries(ranks.special_tokens)) vocab[t] = id;
  const merges: string[] = [];
  for (let r = 256; r < byRank.length; r++) {
    let parts: number[][] = Array.from(byRank[r]!, (x) => [x]);
    for (;;) {
      let best = -1;
      let bestRank = r;
      for (let i = 0; i + 1 < parts.length; i++) {
        const k = rankOf.get([...parts[i]!, ...parts[i + 1]!].join(','));
        if (k !== undefined && k < bestRank) {
          bestRank = k;
          best = i;
        }
      }
      if (best < 0) break;
      parts = [...parts.slice(0, best), [...parts[best]!, ...parts[best + 1]!], ...parts.slice(best + 2)];
    }
    if (parts.length !== 2) throw new Error(`gpt2TokenizerFiles: token ${r} is not one merge of earlier tokens`);
    merges.push(`${str(Uint8Array.from(parts[0]!))} ${str(Uint8Array.from(parts[1]!))}`);
  }
  return { vocabJson: JSON.stringify(vocab), mergesTxt: ['#version: 0.2', ...merges].join('\n') + '\n' };
}

export const GPT2_VOCAB_SIZE = 50257;
export const GPT2_EOT = '<|endoftext|>';
export const GPT2_EOT_ID = 50256;

/**
 * The GPT-2 byte-level BPE (OpenAI's `gpt2` / `r50k_base` ranks, shipped in js-tiktoken).
 * By default '<|endoftext|>' in the text is ordinary text (several tokens); with
 * `allowSpecial` it encodes to id 50256. Decoding a whole encoding is exact; decoding a
 * slice that cuts a multi-byte character gives U+FFFD for the partial bytes.
 */
export class Gpt2Tokenizer implements Tokenizer {
  readonly kind = 'gpt2' as const;
  readonly vocabSize = GPT2_VOCAB_SIZE;
  readonly allowSpecial: boolean;

  constructor(opts: { allowSpecial?: boolean } = {}) {
    this.allowSpecial = opts.allowSpecial ?? false;
  }

  encode(text: string): Int32Array {
    const enc = gpt2();
    return Int32Array.from(this.allowSpecial ? enc.encode(text, [GPT2_EOT], []) : enc.encode(text, [], []));
  }

  decode(ids: ArrayLike<number>): string {
    const arr = Array.from(ids);
    for (const id of arr) {
      if (!Number.isInteger(id) || id < 0 || id >= GPT2_VOCAB_SIZE) throw new RangeError(`Gpt2Tokenizer.decode: id ${id} is out of range`);
    }
    // Id 0 is "!": decoding behind it keeps a leading byte-order mark, which the decoder
    // would otherwise drop.
    return gpt2().decode([0, ...arr]).slice(1);
  }

  toJSON(): Gpt2TokenizerJSON {
    return { kind: 'gpt2', allowSpecial: this.allowSpecial };
  }

  static fromJSON(j: Gpt2TokenizerJSON): Gpt2Tokenizer {
    if (j.kind !== 'gpt2') throw new Error('not a GPT-2 tokenizer');
    if (j.allowSpecial !== undefined && typeof j.allowSpecial !== 'boolean') {
      throw new Error('GPT-2 tokenizer: allowSpecial must be a boolean');
    }
    return new Gpt2Tokenizer({ allowSpecial: j.allowSpecial ?? false });
  }
}

// ---------------------------------------------------------------------------------------
// Byte-level BPE trained on the user's corpus.

/**
 * Pre-tokenization (GPT-2 style, whitespace only): a chunk is a run of non-space characters
 * with at most one leading space (" word"), or a run of whitespace (the last space before a
 * word goes with the word). Merges never cross chunks. The chunks tile the text exactly.
 */
const CHUNK_RE = / ?\S+|\s+(?!\S)|\s+/gu;

export const DEFAULT_MAX_CHUNK = 64;

/**
 * Splits text into BPE pre-tokens (CHUNK_RE); chunks longer than `maxChunk` code points
 * (long unspaced runs: CJK text, URLs, minified code) are cut into pieces of `maxChunk`
 * code points so training and encoding stay linear in the text length.
 */
export function bpeChunks(text: string, maxChunk = DEFAULT_MAX_CHUNK): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(CHUNK_RE)) {
    const s = m[0];
    if (s.length <= maxChunk) {
      out.push(s);
      continue;
    }
    let piece = '';
    let n = 0;
    for (const c of s) {
      piece += c;
      if (++n === maxChunk) {
        out.push(piece);
        piece = '';
        n = 0;
      }
    }
    if (piece !== '') out.push(piece);
  }
  return out;
}

const utf8 = new TextEncoder();
const PAIR_BASE = 1 << 21; // ids < 2^21, so a * PAIR_BASE + b is an exact double

/** A max-heap of (count, pair) ordered by count, then by smaller pair key (determinism). */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private above(i: number, j: number): boolean {
    const ci = this.counts[i]!;
    const cj = this.counts[j]!;
    return ci > cj || (ci === cj && this.keys[i]! < this.keys[j]!);
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i]!;
    this.counts[i] = this.counts[j]!;
    this.counts[j] = c;
    const k = this.keys[i]!;
    this.keys[i] = this.keys[j]!;
    this.keys[j] = k;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): [number, number] {
    const top: [number, number] = [this.counts[0]!, this.keys[0]!];
    const last = this.counts.length - 1;
    this.swap(0, last);
    this.counts.pop();
    this.keys.pop();
    let i = 0;
    const n = this.counts.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.above(l, m)) m = l;
      if (r < n && this.above(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

export interface BpeTrainOptions {
  /** Target vocabulary size, at least 256 (the byte tokens); default 1024. */
  vocabSize?: number;
  /** Stop merging when the most frequent pair occurs fewer times than this; default 2. */
  minFrequency?: number;
  /** Longest pre-token in code points (see bpeChunks); default 64. */
  maxChunk?: number;
}

/**
 * Byte-level BPE (Sennrich et al., 2016, on UTF-8 bytes as in GPT-2). Ids 0..255 are the
 * bytes; id 256 + r is merge r. Training counts the chunks of `bpeChunks`, then repeatedly
 * merges the most frequent adjacent pair (ties: the pair with the smaller (left, right)
 * ids), with incremental pair-count updates over only the chunks that hold the pair.
 * Encoding applies the merges in rank order within each chunk; decoding concatenates the
 * bytes and reads them as UTF-8, so decode(encode(s)) === s for every string s (lone
 * surrogates aside, which UTF-8 cannot represent: they become U+FFFD).
 */
export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly maxChunk: number;
  /** merges[2r], merges[2r+1]: the pair joined into id 256 + r. */
  private readonly merges: Int32Array;
  /** pair key -> rank. */
  private readonly ranks: Map<number, number>;
  /** bytes of each id. */
  private readonly bytes: Uint8Array[];
  private readonly cache = new Map<string, Int32Array>();

  constructor(merges: ArrayLike<number>, opts: { maxChunk?: number } = {}) {
    if (merges.length % 2 !== 0) throw new Error('BpeTokenizer: the merge list must hold pairs');
    this.maxChunk = opts.maxChunk ?? DEFAULT_MAX_CHUNK;
    if (!Number.isInteger(this.maxChunk) || this.maxChunk < 1) throw new RangeError(`BpeTokenizer: maxChunk must be a positive integer, got ${this.maxChunk}`);
    this.merges = Int32Array.from(merges);
    this.ranks = new Map();
    this.bytes = [];
    for (let b = 0; b < 256; b++) this.bytes.push(Uint8Array.of(b));
    const n = this.merges.length / 2;
    for (let r = 0; r < n; r++) {
      const a = this.merges[2 * r]!;
      const b = this.merges[2 * r + 1]!;
      const id = 256 + r;
      if (!(a >= 0 && a < id && b >= 0 && b < id)) throw new Error(`BpeTokenizer: merge ${r} (${a}, ${b}) refers to an id not yet defined`);
      const key = a * PAIR_BASE + b;
      if (this.ranks.has(key)) throw new Error(`BpeTokenizer: merge ${r} (${a}, ${b}) is repeated`);
      this.ranks.set(key, r);
      const ba = this.bytes[a]!;
      const bb = this.bytes[b]!;
      const joined = new Uint8Array(ba.length + bb.length);
      joined.set(ba);
      joined.set(bb, ba.length);
      this.bytes.push(joined);
    }
  }

  static train(text: string, opts: BpeTrainOptions = {}): BpeTokenizer {
    const vocabSize = opts.vocabSize ?? 1024;
    const minFrequency = opts.minFrequency ?? 2;
    const maxChunk = opts.maxChunk ?? DEFAULT_MAX_CHUNK;
    if (!Number.isInteger(vocabSize) || vocabSize < 256 || vocabSize >= PAIR_BASE) {
      throw new RangeError(`BpeTokenizer.train: vocabSize must be an integer in [256, ${PAIR_BASE}), got ${vocabSize}`);
    }
    if (!Number.isInteger(minFrequency) || minFrequency < 1) throw new RangeError(`BpeTokenizer.train: minFrequency must be a positive integer, got ${minFrequency}`);

    // Distinct chunks with their counts, in first-appearance order (deterministic).
    const chunkCounts = new Map<string, number>();
    for (const c of bpeChunks(text, maxChunk)) chunkCounts.set(c, (chunkCounts.get(c) ?? 0) + 1);
    const words: Int32Array[] = [];
    const lens: number[] = [];
    const freqs: number[] = [];
    for (const [c, n] of chunkCounts) {
      const w = Int32Array.from(utf8.encode(c));
      words.push(w);
      lens.push(w.length);
      freqs.push(n);
    }
    chunkCounts.clear();

    const pairCount = new Map<number, number>();
    const where = new Map<number, Set<number>>();
    for (let wi = 0; wi < words.length; wi++) {
      const w = words[wi]!;
      const f = freqs[wi]!;
      for (let i = 0; i + 1 < w.length; i++) {
        const key = w[i]! * PAIR_BASE + w[i + 1]!;
        pairCount.set(key, (pairCount.get(key) ?? 0) + f);
        let s = where.get(key);
        if (!s) where.set(key, (s = new Set()));
        s.add(wi);
      }
    }
    const heap = new PairHeap();
    for (const [key, n] of pairCount) heap.push(n, key);

    const merges: number[] = [];
    const touched = new Set<number>();
    const add = (key: number, delta: number) => {
      pairCount.set(key, (pairCount.get(key) ?? 0) + delta);
      touched.add(key);
    };
    while (256 + merges.length / 2 < vocabSize && heap.size > 0) {
      const [n, key] = heap.pop();
      if (pairCount.get(key) !== n) continue; // stale entry
      if (n < minFrequency) break;
      const a = Math.floor(key / PAIR_BASE);
      const b = key - a * PAIR_BASE;
      const id = 256 + merges.length / 2;
      merges.push(a, b);
      const holders = where.get(key);
      where.delete(key);
      touched.clear();
      if (holders) {
        for (const wi of holders) {
          const w = words[wi]!;
          const f = freqs[wi]!;
          let len = lens[wi]!;
          // Merge left to right, non-overlapping, updating the neighbour pairs as we go.
          let i = 0;
          let o = 0; // write position (in-place compaction)
          while (i < len) {
            if (i + 1 < len && w[i] === a && w[i + 1] === b) {
              if (o > 0) {
                const prev = w[o - 1]!;
                add(prev * PAIR_BASE + a, -f);
                add(prev * PAIR_BASE + id, f);
              }
              if (i + 2 < len) {
                const next = w[i + 2]!;
                // If next starts another (a, b) occurrence, the pair (b, a) between them is
                // removed here and (id, a) is added; the following merge turns it into (id, id).
                add(b * PAIR_BASE + next, -f);
                add(id * PAIR_BASE + next, f);
              }
              add(key, -f);
              w[o++] = id;
              i += 2;
            } else {
              w[o++] = w[i++]!;
            }
          }
          len = o;
          lens[wi] = len;
          for (let j = 0; j + 1 < len; j++) {
            if (w[j] === id || w[j + 1] === id) {
              const k = w[j]! * PAIR_BASE + w[j + 1]!;
              let s = where.get(k);
              if (!s) where.set(k, (s = new Set()));
              s.add(wi);
            }
          }
        }
      }
      for (const k of touched) {
        const c = pairCount.get(k)!;
        if (c > 0) heap.push(c, k);
        else pairCount.delete(k);
      }
    }
    return new BpeTokenizer(merges, { maxChunk });
  }

  get vocabSize(): number {
    return 256 + this.merges.length / 2;
  }

  /** Number of merges learned. */
  get numMerges(): number {
    return this.merges.length / 2;
  }

  /** The bytes id stands for. */
  tokenBytes(id: number): Uint8Array {
    const b = this.bytes[id];
    if (!b) throw new RangeError(`BpeTokenizer: id ${id} is out of range [0, ${this.vocabSize})`);
    return b;
  }

  private encodeChunk(chunk: string): Int32Array {
    const cached = this.cache.get(chunk);
    if (cached) return cached;
    const w = Int32Array.from(utf8.encode(chunk));
    let len = w.length;
    for (;;) {
      // The adjacent pair with the lowest rank; merge all its occurrences.
      let best = -1;
      let bestKey = 0;
      for (let i = 0; i + 1 < len; i++) {
        const key = w[i]! * PAIR_BASE + w[i + 1]!;
        const r = this.ranks.get(key);
        if (r !== undefined && (best < 0 || r < best)) {
          best = r;
          bestKey = key;
        }
      }
      if (best < 0) break;
      const a = Math.floor(bestKey / PAIR_BASE);
      const b = bestKey - a * PAIR_BASE;
      const id = 256 + best;
      let o = 0;
      for (let i = 0; i < len; ) {
        if (i + 1 < len && w[i] === a && w[i + 1] === b) {
          w[o++] = id;
          i += 2;
        } else w[o++] = w[i++]!;
      }
      len = o;
    }
    const out = w.slice(0, len);
    if (this.cache.size >= 100_000) this.cache.clear();
    this.cache.set(chunk, out);
    return out;
  }

  encode(text: string): Int32Array {
    const parts: Int32Array[] = [];
    let total = 0;
    for (const c of bpeChunks(text, this.maxChunk)) {
      const ids = this.encodeChunk(c);
      parts.push(ids);
      total += ids.length;
    }
    const out = new Int32Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** The bytes of a sequence of ids (exact; a slice of an encoding may end mid-character). */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    let total = 0;
    for (let i = 0; i < ids.length; i++) total += this.tokenBytes(ids[i]!).length;
    const out = new Uint8Array(total);
    let o = 0;
    for (let i = 0; i < ids.length; i++) {
      const b = this.bytes[ids[i]!]!;
      out.set(b, o);
      o += b.length;
    }
    return out;
  }

  /** UTF-8 text of the ids; invalid byte sequences (from a cut slice) become U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(this.decodeBytes(ids));
  }

  toJSON(): BpeTokenizerJSON {
    return { kind: 'bpe', merges: Array.from(this.merges), maxChunk: this.maxChunk };
  }

  static fromJSON(j: BpeTokenizerJSON): BpeTokenizer {
    if (j.kind !== 'bpe' || !Array.isArray(j.merges)) throw new Error('not a BPE tokenizer');
    const bad = j.merges.findIndex((m) => typeof m !== 'number' || !Number.isInteger(m) || m < 0 || m > 0x7fffffff);
    if (bad >= 0) throw new Error(`BPE tokenizer: merges[${bad}] = ${JSON.stringify(j.merges[bad])} is not a token id`);
    return new BpeTokenizer(j.merges, { maxChunk: j.maxChunk ?? DEFAULT_MAX_CHUNK });
  }
}

// ---------------------------------------------------------------------------------------
// GPT-2-style byte-level BPE from a Hugging Face `vocab.json` + `merges.txt`.

/** GPT-2's reversible map of the 256 bytes onto printable code points (vocab.json's alphabet). */
function byteToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const map: string[] = new Array<string>(256);
  for (const b of bs) map[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (map[b] === undefined) map[b] = String.fromCodePoint(256 + n++);
  return map;
}

const BYTE_TO_UNICODE = byteToUnicode();
const UNICODE_TO_BYTE = new Map(BYTE_TO_UNICODE.map((c, b) => [c, b]));
/** GPT-2's pre-tokenizer. */
const GPT2_SPLIT_RE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * The byte-level BPE of GPT-2 as Hugging Face stores it: `vocab.json` (token string -> id,
 * over GPT-2's byte-to-unicode alphabet) and `merges.txt` (one "left right" merge a line, in
 * rank order, after an optional "#version" line). Encoding: GPT-2's pre-tokenizer regex, each
 * piece's UTF-8 bytes mapped to the alphabet, then repeatedly the lowest-ranked adjacent pair
 * is merged (every occurrence, left to right) until no pair has a rank. Special tokens such as
 * '<|endoftext|>' are ordinary text when encoding (as Gpt2Tokenizer's default); decoding maps
 * the token strings back to bytes (characters outside the alphabet as their UTF-8).
 */
export class HfBpeTokenizer implements Tokenizer {
  readonly kind = 'hf-bpe' as const;
  readonly vocabSize: number;
  private readonly tokens: string[];
  private readonly mergeList: string[];
  private readonly ids: Map<string, number>;
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, number[]>();

  constructor(tokens: readonly string[], merges: readonly string[]) {
    if (tokens.length === 0) throw new Error('HfBpeTokenizer: the vocabulary is empty');
    this.tokens = [...tokens];
    this.vocabSize = tokens.length;
    this.ids = new Map();
    tokens.forEach((t, i) => {
      if (typeof t !== 'string' || t === '') throw new Error(`HfBpeTokenizer: token ${i} is not a non-empty string`);
      if (this.ids.has(t)) throw new Error(`HfBpeTokenizer: token ${JSON.stringify(t)} appears twice`);
      this.ids.set(t, i);
    });
    for (const c of BYTE_TO_UNICODE) {
      if (!this.ids.has(c)) throw new Error(`HfBpeTokenizer: the vocabulary lacks the byte token ${JSON.stringify(c)} (not a byte-level BPE)`);
    }
    this.mergeList = [...merges];
    this.ranks = new Map();
    merges.forEach((m, r) => {
      const parts = typeof m === 'string' ? m.split(' ') : [];
      if (parts.length !== 2 || parts[0] === '' || parts[1] === '') throw new Error(`HfBpeTokenizer: merge ${r} ${JSON.stringify(m)} is not "left right"`);
      if (!this.ids.has(parts[0]! + parts[1]!)) throw new Error(`HfBpeTokenizer: merge ${r} ${JSON.stringify(m)} makes a token not in the vocabulary`);
      if (!this.ranks.has(m)) this.ranks.set(m, r);
    });
  }

  /** From the contents of vocab.json (an object token -> id, ids 0..n-1) and merges.txt. */
  static fromFiles(vocabJson: string, mergesTxt: string): HfBpeTokenizer {
    let vocab: unknown;
    try {
      vocab = JSON.parse(vocabJson);
    } catch (e) {
      throw new Error(`vocab.json is not JSON: ${(e as Error).message}`);
    }
    if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) throw new Error('vocab.json is not an object of token -> id');
    const entries = Object.entries(vocab as Record<string, unknown>);
    const tokens = new Array<string>(entries.length);
    for (const [tok, id] of entries) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= entries.length || tokens[id] !== undefined) {
        throw new Error(`vocab.json: the ids must be 0..${entries.length - 1}, each once; ${JSON.stringify(tok)} has ${JSON.stringify(id)}`);
      }
      tokens[id] = tok;
    }
    const lines = mergesTxt.split(/\r?\n/);
    if (lines[0]?.startsWith('#version')) lines.shift();
    const merges = lines.filter((l) => l.trim() !== '');
    return new HfBpeTokenizer(tokens, merges);
  }

  private bpe(piece: string): number[] {
    const hit = this.cache.get(piece);
    if (hit) return hit;
    let word = [...new TextEncoder().encode(piece)].map((b) => BYTE_TO_UNICODE[b]!);
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const a = word[best]!;
      const b = word[best + 1]!;
      const out: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
          out.push(a + b);
          i += 2;
        } else out.push(word[i++]!);
      }
      word = out;
    }
    const ids = word.map((t) => this.ids.get(t)!);
    if (this.cache.size < 100_000) this.cache.set(piece, ids);
    return ids;
  }

  encode(text: string): Int32Array {
    const out: number[] = [];
    for (const m of text.matchAll(GPT2_SPLIT_RE)) for (const id of this.bpe(m[0])) out.push(id);
    return Int32Array.from(out);
  }

  decode(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    const enc = new TextEncoder();
    for (const id of Array.from(ids)) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new RangeError(`HfBpeTokenizer.decode: id ${id} is out of range`);
      for (const ch of this.tokens[id]!) {
        const b = UNICODE_TO_BYTE.get(ch);
        if (b !== undefined) bytes.push(b);
        else bytes.push(...enc.encode(ch));
      }
    }
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(Uint8Array.from(bytes));
  }

  /** vocab.json's text (token -> id). */
  vocabJson(): string {
    const o: Record<string, number> = {};
    this.tokens.forEach((t, i) => (o[t] = i));
    return JSON.stringify(o);
  }

  /** merges.txt's text. */
  mergesTxt(): string {
    return ['#version: 0.2', ...this.mergeList].join('\n') + '\n';
  }

  toJSON(): HfBpeTokenizerJSON {
    return { kind: 'hf-bpe', tokens: [...this.tokens], merges: [...this.mergeList] };
  }

  static fromJSON(j: HfBpeTokenizerJSON): HfBpeTokenizer {
    if (j.kind !== 'hf-bpe' || !Array.isArray(j.tokens) || !Array.isArray(j.merges)) throw new Error('not a Hugging Face BPE tokenizer');
    return new HfBpeTokenizer(j.tokens, j.merges);
  }
}
