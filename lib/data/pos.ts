// Part-of-speech tagging data from the tagged Brown corpus.
//
// Tags are simplified by `simplifyTag`: lower-cased; the title / headline / cited-word
// suffixes `-tl`, `-hl`, `-nc` are removed (wherever they occur, e.g. `nn-tl-hl` -> `nn`);
// the negation mark `*` is removed from compound tags (`bedz*` -> `bedz`, `md*` -> `md`),
// while the stand-alone tag `*` (the word "not"/"n't") is kept; the possessive `$`
// (`nn$`, `pp$`), the foreign-word prefix `fw-` and contractions joined by `+`
// (`ppss+ber`) are kept. The tag set is the training split's simplified tags, sorted; a tag
// that only occurs in valid/test maps to the training tag set's most frequent tag
// (`tagSet.unknownTag`), which counts as an error whenever it is wrong.
//
// Sentences end at a `.`-tagged token (`.`, `?`, `!`, `;` in some files) and are cut into
// pieces of at most `maxLength` tokens. Words keep their case. The vocabulary holds the
// training words seen at least `minCount` times, plus (with `unkClasses`) a few classes for
// the other words by their shape (capitalised, number, -ing, -ed, -s, -ly, hyphenated, ...),
// so an unknown word still tells the tagger something.
//
// Batches are right-padded: `ids` (B,T) with pad id 0, `tags` (B,T) with -100 (the
// crossEntropy ignoreIndex) at padded positions, and each row's true `lengths`.
import { makeRng } from '../tensor.js';
import { type BrownSplit, type TaggedToken, loadBrownTagged, splitBrown } from './brown.js';
import { UNK, Vocab } from './vocab.js';

export const PAD_TAG = -100;

/** The simplified Brown tag (see the header comment). */
export function simplifyTag(tag: string): string {
  let t = tag.toLowerCase();
  // Remove -tl / -hl / -nc wherever they appear (they may be stacked: nn-tl-hl).
  t = t.replace(/-(tl|hl|nc)(?=-|$|\+)/g, '');
  if (t !== '*' && t.includes('*')) t = t.replace(/\*/g, '');
  return t === '' ? tag.toLowerCase() : t;
}

export class TagSet {
  readonly tags: readonly string[];
  private readonly index: Map<string, number>;
  /** Id given to a tag not in the set (the most frequent training tag). */
  readonly unknownTag: number;

  constructor(tags: readonly string[], unknownTag: number) {
    this.tags = tags;
    this.index = new Map(tags.map((t, i) => [t, i]));
    if (this.index.size !== tags.length) throw new Error('TagSet: repeated tag');
    if (!(Number.isInteger(unknownTag) && unknownTag >= 0 && unknownTag < tags.length)) {
      throw new RangeError(`TagSet: unknownTag ${unknownTag} out of range`);
    }
    this.unknownTag = unknownTag;
  }

  /** From simplified training tags: sorted, unknown -> most frequent. */
  static build(simplifiedTags: readonly string[]): TagSet {
    const counts = new Map<string, number>();
    for (const t of simplifiedTags) counts.set(t, (counts.get(t) ?? 0) + 1);
    if (counts.size === 0) throw new RangeError('TagSet.build: no tags');
    const tags = [...counts.keys()].sort();
    let best = tags[0]!;
    for (const t of tags) if (counts.get(t)! > counts.get(best)!) best = t;
    return new TagSet(tags, tags.indexOf(best));
  }

  get size(): number {
    return this.tags.length;
  }

  id(tag: string): number {
    return this.index.get(tag) ?? this.unknownTag;
  }

  has(tag: string): boolean {
    return this.index.has(tag);
  }
}

/** The unknown-word classes (in vocabulary order, after `<unk>`). */
export const UNK_CLASSES = [
  '<unk-num>',
  '<unk-cap>',
  '<unk-caps>',
  '<unk-hyphen>',
  '<unk-ing>',
  '<unk-ed>',
  '<unk-ly>',
  '<unk-s>',
  '<unk-tion>',
  '<unk-able>',
  '<unk-al>',
] as const;

/** The unknown-word class of a word (by its shape), or `<unk>`. */
export function unknownClass(word: string): string {
  if (/\d/.test(word)) return '<unk-num>';
  if (/^[A-Z]/.test(word)) return word.length > 1 && word === word.toUpperCase() ? '<unk-caps>' : '<unk-cap>';
  if (word.includes('-')) return '<unk-hyphen>';
  const w = word.toLowerCase();
  if (w.endsWith('ing')) return '<unk-ing>';
  if (w.endsWith('ed')) return '<unk-ed>';
  if (w.endsWith('ly')) return '<unk-ly>';
  if (/(tion|sion|ment|ness|ity)$/.test(w)) return '<unk-tion>';
  if (/(able|ible|ous|ive|ful|less)$/.test(w)) return '<unk-able>';
  if (/(al|ic)$/.test(w)) return '<unk-al>';
  if (w.endsWith('s')) return '<unk-s>';
  return UNK;
}

/** A word vocabulary for tagging: id 0 `<unk>`, then (optionally) the unknown classes, then the words. */
export class TaggingVocab {
  readonly vocab: Vocab;
  readonly unkClasses: boolean;

  constructor(vocab: Vocab, unkClasses: boolean) {
    this.vocab = vocab;
    this.unkClasses = unkClasses;
  }

  static build(trainWords: readonly string[], minCount = 2, unkClasses = true): TaggingVocab {
    const words = Vocab.build(trainWords, minCount).tokens.slice(1);
    const extra = unkClasses ? [...UNK_CLASSES] : [];
    const reserved = new Set<string>(extra);
    return new TaggingVocab(new Vocab([UNK, ...extra, ...words.filter((w) => !reserved.has(w))]), unkClasses);
  }

  get size(): number {
    return this.vocab.size;
  }

  /** True when the word is in the vocabulary itself (not mapped to an unknown class). */
  known(word: string): boolean {
    const id = this.vocab.id(word);
    return id !== 0 && id > (this.unkClasses ? UNK_CLASSES.length : 0);
  }

  id(word: string): number {
    const id = this.vocab.id(word);
    if (id !== 0 || word === UNK) return id;
    return this.unkClasses ? this.vocab.id(unknownClass(word)) : 0;
  }
}

/** One sentence: word ids and tag ids of the same length. */
export interface TaggedSentence {
  words: string[];
  ids: Int32Array;
  tags: Int32Array;
}

/** Splits tagged tokens into sentences ending at a `.`-tagged token, at most maxLength tokens each. */
export function splitSentences<T extends { tag: string }>(tokens: readonly T[], maxLength = 60): T[][] {
  if (!Number.isInteger(maxLength) || maxLength < 1) {
    throw new RangeError(`splitSentences: maxLength must be a positive integer, got ${maxLength}`);
  }
  const out: T[][] = [];
  let cur: T[] = [];
  for (const t of tokens) {
    cur.push(t);
    if (t.tag === '.' || cur.length >= maxLength) {
      out.push(cur);
      cur = [];
    }
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

export interface PosDataOptions {
  /** Words seen fewer times in train map to `<unk>` (or an unknown class). Default 2. */
  minCount?: number;
  /** Map unknown words to shape classes (see UNK_CLASSES). Default true. */
  unkClasses?: boolean;
  /** Sentences longer than this are cut. Default 60. */
  maxLength?: number;
}

export interface PosData {
  tagSet: TagSet;
  vocab: TaggingVocab;
  train: TaggedSentence[];
  valid: TaggedSentence[];
  test: TaggedSentence[];
}

/** Encodes tagged tokens (raw Brown tags) with a vocabulary and tag set. */
export function encodeSentences(
  tokens: readonly TaggedToken[],
  vocab: TaggingVocab,
  tagSet: TagSet,
  maxLength = 60,
): TaggedSentence[] {
  return splitSentences(tokens, maxLength).map((s) => ({
    words: s.map((t) => t.word),
    ids: Int32Array.from(s, (t) => vocab.id(t.word)),
    tags: Int32Array.from(s, (t) => tagSet.id(simplifyTag(t.tag))),
  }));
}

/** Builds tag set, vocabulary and encoded sentences from already split tagged tokens. */
export function buildPosData(split: BrownSplit<TaggedToken>, opts: PosDataOptions = {}): PosData {
  const { minCount = 2, unkClasses = true, maxLength = 60 } = opts;
  const tagSet = TagSet.build(split.train.map((t) => simplifyTag(t.tag)));
  const vocab = TaggingVocab.build(
    split.train.map((t) => t.word),
    minCount,
    unkClasses,
  );
  return {
    tagSet,
    vocab,
    train: encodeSentences(split.train, vocab, tagSet, maxLength),
    valid: encodeSentences(split.valid, vocab, tagSet, maxLength),
    test: encodeSentences(split.test, vocab, tagSet, maxLength),
  };
}

/** The Brown POS task: the standard train / valid / test token split (brown.ts), then buildPosData. */
export function loadBrownPos(opts: PosDataOptions = {}): PosData {
  return buildPosData(splitBrown(loadBrownTagged()), opts);
}

/** A right-padded batch: ids and tags row-major (B,T); tags are PAD_TAG (-100) past each length. */
export interface PosBatch {
  batchSize: number;
  T: number;
  ids: Int32Array;
  tags: Int32Array;
  lengths: Int32Array;
  /** Real (non-padded) tokens. */
  tokens: number;
}

/** Pads sentences into one batch (T = the longest). */
export function makePosBatch(sentences: readonly TaggedSentence[]): PosBatch {
  const B = sentences.length;
  if (B === 0) throw new RangeError('makePosBatch: no sentences');
  let T = 0;
  let tokens = 0;
  for (const s of sentences) {
    T = Math.max(T, s.ids.length);
    tokens += s.ids.length;
  }
  if (T === 0) throw new RangeError('makePosBatch: every sentence is empty');
  const ids = new Int32Array(B * T);
  const tags = new Int32Array(B * T).fill(PAD_TAG);
  const lengths = new Int32Array(B);
  sentences.forEach((s, b) => {
    ids.set(s.ids, b * T);
    tags.set(s.tags, b * T);
    lengths[b] = s.ids.length;
  });
  return { batchSize: B, T, ids, tags, lengths, tokens };
}

export interface PosBatchOptions {
  /** Shuffle sentences with this seed (undefined: keep the order). */
  shuffleSeed?: number;
  /**
   * Group sentences of similar length to cut padding: within consecutive pools of
   * `batchSize * sortPool` sentences, sort by length, then cut batches (whose order is
   * shuffled again when shuffleSeed is given). 0 = no sorting. Default 0.
   */
  sortPool?: number;
}

/** Batches of up to batchSize sentences (the last one may be smaller). */
export function* posBatches(
  sentences: readonly TaggedSentence[],
  batchSize: number,
  opts: PosBatchOptions = {},
): Generator<PosBatch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`posBatches: batchSize must be a positive integer, got ${batchSize}`);
  }
  const { shuffleSeed, sortPool = 0 } = opts;
  const order = sentences.filter((s) => s.ids.length > 0);
  const rng = shuffleSeed === undefined ? null : makeRng(shuffleSeed);
  const shuffle = <X>(a: X[]): void => {
    if (!rng) return;
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
  };
  shuffle(order);
  const groups: TaggedSentence[][] = [];
  const pool = sortPool > 0 ? batchSize * sortPool : order.length;
  for (let p = 0; p < order.length; p += pool) {
    const chunk = order.slice(p, p + pool);
    if (sortPool > 0) chunk.sort((a, b) => a.ids.length - b.ids.length);
    for (let i = 0; i < chunk.length; i += batchSize) groups.push(chunk.slice(i, i + batchSize));
  }
  if (sortPool > 0) shuffle(groups);
  for (const g of groups) yield makePosBatch(g);
}

/**
 * The most-frequent-tag baseline: each known training word gets its most frequent training
 * tag; other words get the most frequent tag of their unknown class (or overall).
 * Returns the accuracy over the tokens of `sentences`.
 */
export function mostFrequentTagBaseline(
  train: readonly TaggedSentence[],
  sentences: readonly TaggedSentence[],
  numTags: number,
): { accuracy: number; correct: number; tokens: number } {
  // Counts per word id (unknown classes included: they are ids too).
  const counts = new Map<number, Int32Array>();
  for (const s of train) {
    for (let i = 0; i < s.ids.length; i++) {
      let c = counts.get(s.ids[i]!);
      if (!c) counts.set(s.ids[i]!, (c = new Int32Array(numTags)));
      c[s.tags[i]!]!++;
    }
  }
  const overall = new Int32Array(numTags);
  for (const c of counts.values()) for (let k = 0; k < numTags; k++) overall[k]! += c[k]!;
  const best = (c: Int32Array): number => {
    let b = 0;
    for (let k = 1; k < c.length; k++) if (c[k]! > c[b]!) b = k;
    return b;
  };
  const bestOf = new Map<number, number>();
  for (const [id, c] of counts) bestOf.set(id, best(c));
  const fallback = best(overall);
  let correct = 0;
  let tokens = 0;
  for (const s of sentences) {
    for (let i = 0; i < s.ids.length; i++) {
      if ((bestOf.get(s.ids[i]!) ?? fallback) === s.tags[i]) correct++;
      tokens++;
    }
  }
  return { accuracy: tokens > 0 ? correct / tokens : Number.NaN, correct, tokens };
}
