// The corpus of a training run (`lmkit train --corpus brown|FILE|DIR|FILE.bin`) as token
// sources, and the split of a corpus that `lmkit eval` scores a checkpoint on.
//
//   brown      the built-in Brown corpus, pre-split into words, with the ANCHORS.md split
//              (800,000 / 200,000 / rest) and a word Vocab (min count 4 by default); it has
//              no tokenizer object (tokenizer null): text is split on whitespace.
//   FILE, DIR  UTF-8 text (loadTextCorpus), split 90 / 5 / 5 by characters (splitCorpus);
//              the tokenizer (--tokenizer, default word) is built on the train part only;
//              every split is tokenized and held in memory.
//   { text }   text held in memory (the API: `corpus: { text: '...' }`), split 90 / 5 / 5 as a
//              text file; or { train, valid, test }: three texts split by the caller.
//   FILE.bin   a token file (./tokenfile.ts, recognised by its magic bytes, whatever its
//              name); the tokenizer is the one in its header; split by token ranges (the
//              last 5% + 5% are valid and test); read through a file descriptor, never whole.
import { loadBrown } from './brown.js';
import { buildTokenizer } from './build-tokenizer.js';
import { loadTextCorpus, splitCorpus } from './corpus.js';
import { TokenFile, hasTokenFileMagic } from './tokenfile.js';
import { ArrayTokenSource, RangeTokenSource, type TokenSource } from './tokensource.js';
import type { Tokenizer, TokenizerKind } from './tokenizers.js';
import { Vocab } from './vocab.js';

/** How text becomes ids for a model: a tokenizer, or (Brown) whitespace-split words and a Vocab. */
export interface TextCodec {
  tokenizer: Tokenizer | null;
  /** The word vocabulary when `tokenizer` is null. */
  vocab: Vocab | null;
}

export function encodeText(c: TextCodec, text: string): Int32Array {
  if (c.tokenizer) return c.tokenizer.encode(text);
  if (!c.vocab) throw new Error('encodeText: neither a tokenizer nor a vocabulary');
  return c.vocab.encode(text.split(/\s+/).filter((w) => w !== ''));
}

export function decodeIds(c: TextCodec, ids: ArrayLike<number>): string {
  if (c.tokenizer) return c.tokenizer.decode(ids);
  if (!c.vocab) throw new Error('decodeIds: neither a tokenizer nor a vocabulary');
  return c.vocab.decode(ids).join(' ');
}

/**
 * A corpus held in memory: one text (split 90 / 5 / 5 by characters, as a text file is), or
 * the three splits as texts. `name` labels it in logs and checkpoints (default 'in-memory text').
 */
export type InMemoryCorpus = { text: string; name?: string } | { train: string; valid: string; test: string; name?: string };

/** What a run trains on: 'brown', a path (text file, folder of *.txt, token file), or text in memory. */
export type CorpusSpec = string | InMemoryCorpus;

/** The label of a corpus: the path or 'brown', else the in-memory corpus's name. */
export function corpusName(c: CorpusSpec): string {
  return typeof c === 'string' ? c : (c.name ?? 'in-memory text');
}

/** Throws a clear error unless `c` is a non-empty path or an in-memory corpus of strings. */
export function checkCorpusSpec(c: unknown): asserts c is CorpusSpec {
  if (typeof c === 'string') {
    if (c === '') throw new Error("unknown corpus '' (use 'brown', a path or { text })");
    return;
  }
  if (typeof c !== 'object' || c === null || Array.isArray(c)) {
    throw new Error(`unknown corpus ${JSON.stringify(c) ?? String(c)}: use 'brown', a path, { text } or { train, valid, test }`);
  }
  const o = c as Record<string, unknown>;
  const keys = 'text' in o ? ['text'] : ['train', 'valid', 'test'];
  for (const k of keys) {
    if (typeof o[k] !== 'string') throw new Error(`corpus.${k} must be a string (an in-memory corpus is { text } or { train, valid, test })`);
  }
  if (o.name !== undefined && typeof o.name !== 'string') throw new Error('corpus.name must be a string');
  if ('text' in o && (o.text as string).trim() === '') throw new Error('corpus.text is empty');
}

export interface CorpusOptions {
  /** 'brown', a text file or folder, a token file, or text in memory. */
  corpus: CorpusSpec;
  /** Text corpora: the tokenizer to build (default 'word'); brown: only 'word'; token files: must match. */
  tokenizer?: TokenizerKind;
  /** bpe: target vocabulary size (default 1024). */
  bpeVocab?: number;
  /** word (and char) vocabularies: tokens seen at least this often in train (default 4). */
  minCount?: number;
  /** A given tokenizer (`lmkit train --init`: the checkpoint's) used instead of building one; token files must match it. */
  fixedTokenizer?: Tokenizer;
}

export type CorpusFormat = 'brown' | 'text' | 'tokens';

export interface TrainingCorpus extends TextCodec {
  name: string;
  format: CorpusFormat;
  vocabSize: number;
  train: TokenSource;
  valid: TokenSource;
  test: TokenSource;
  /** One line for the log: sizes, tokenizer, vocabulary. */
  summary: string;
  /** Closes a token file (no-op for in-memory corpora). */
  close(): void;
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

/** The format of `corpus` without reading it whole. */
export function corpusFormat(corpus: string): CorpusFormat {
  if (corpus === 'brown') return 'brown';
  return hasTokenFileMagic(corpus) ? 'tokens' : 'text';
}

/** Splits a token file by token ranges: train, then the last 5% + 5% for valid and test. */
function splitTokenFile(f: TokenFile): { train: TokenSource; valid: TokenSource; test: TokenSource } {
  const n = f.length;
  const nValid = Math.round(n * 0.05);
  const nTest = Math.round(n * 0.05);
  const a = n - nValid - nTest;
  const b = n - nTest;
  return { train: new RangeTokenSource(f, 0, a), valid: new RangeTokenSource(f, a, b), test: new RangeTokenSource(f, b, n) };
}

export function openTrainingCorpus(o: CorpusOptions): TrainingCorpus {
  const minCount = o.minCount ?? 4;
  if (typeof o.corpus !== 'string') {
    checkCorpusSpec(o.corpus);
    const c = o.corpus;
    const name = corpusName(c);
    const parts = 'text' in c ? splitCorpus(c.text) : { train: c.train, valid: c.valid, test: c.test };
    const chars = parts.train.length + parts.valid.length + parts.test.length;
    return textCorpus(name, 'text', o.tokenizer ?? 'word', parts, minCount, o.bpeVocab, `corpus ${name}: ${fmt(chars)} characters in memory`, o.fixedTokenizer);
  }
  const format = corpusFormat(o.corpus);
  if (format === 'brown') {
    if ((o.tokenizer !== undefined && o.tokenizer !== 'word') || o.fixedTokenizer) {
      // Character or subword models of Brown: the ANCHORS.md split's words joined by spaces,
      // the tokenizer built on the training part.
      const b = loadBrown();
      const parts = { train: b.train.join(' '), valid: b.valid.join(' '), test: b.test.join(' ') };
      return textCorpus('brown', format, o.tokenizer ?? 'word', parts, minCount, o.bpeVocab, 'corpus brown (words joined by spaces)', o.fixedTokenizer);
    }
    const corpus = loadBrown();
    const vocab = Vocab.build(corpus.train, minCount);
    const train = new ArrayTokenSource(vocab.encode(corpus.train));
    const valid = new ArrayTokenSource(vocab.encode(corpus.valid));
    const test = new ArrayTokenSource(vocab.encode(corpus.test));
    return {
      name: 'brown',
      format,
      tokenizer: null,
      vocab,
      vocabSize: vocab.size,
      train,
      valid,
      test,
      summary:
        `corpus brown: ${train.length} train / ${valid.length} valid / ${test.length} test tokens, ` +
        `vocabulary ${vocab.size} (min count ${minCount})`,
      close: () => {},
    };
  }
  if (format === 'tokens') {
    const f = TokenFile.open(o.corpus);
    if (o.tokenizer !== undefined && o.tokenizer !== f.tokenizer.kind) {
      f.close();
      throw new Error(`${o.corpus} was tokenized with the ${f.tokenizer.kind} tokenizer, not ${o.tokenizer} (leave out --tokenizer)`);
    }
    if (o.fixedTokenizer && JSON.stringify(o.fixedTokenizer.toJSON()) !== JSON.stringify(f.tokenizerJSON)) {
      f.close();
      throw new Error(`${o.corpus} was tokenized with a different tokenizer (${f.tokenizer.kind}, vocabulary ${f.tokenizer.vocabSize}) than the checkpoint's`);
    }
    const s = splitTokenFile(f);
    return {
      name: o.corpus,
      format,
      tokenizer: f.tokenizer,
      vocab: null,
      vocabSize: f.tokenizer.vocabSize,
      ...s,
      summary:
        `corpus ${o.corpus} (token file, ${f.dtype}, read from disk): ${fmt(s.train.length)} train / ${fmt(s.valid.length)} valid / ` +
        `${fmt(s.test.length)} test tokens, ${f.tokenizer.kind} tokenizer, vocabulary ${f.tokenizer.vocabSize}`,
      close: () => f.close(),
    };
  }
  const kind = o.tokenizer ?? 'word';
  const text = loadTextCorpus(o.corpus);
  const files = text.files.length === 1 ? '' : ` (${text.files.length} files)`;
  return textCorpus(o.corpus, format, kind, splitCorpus(text.text), minCount, o.bpeVocab, `corpus ${o.corpus}${files}: ${fmt(text.bytes)} bytes`, o.fixedTokenizer);
}

function textCorpus(
  name: string,
  format: CorpusFormat,
  kind: TokenizerKind,
  parts: { train: string; valid: string; test: string },
  minCount: number,
  bpeVocab: number | undefined,
  what: string,
  fixed?: Tokenizer,
): TrainingCorpus {
  const tokenizer = fixed ?? buildTokenizer({ kind, minCount, bpeVocab }, parts.train);
  const train = new ArrayTokenSource(tokenizer.encode(parts.train));
  const valid = new ArrayTokenSource(tokenizer.encode(parts.valid));
  const test = new ArrayTokenSource(tokenizer.encode(parts.test));
  return {
    name,
    format,
    tokenizer,
    vocab: null,
    vocabSize: tokenizer.vocabSize,
    train,
    valid,
    test,
    summary:
      `${what}; ${fmt(train.length)} train / ${fmt(valid.length)} valid / ` +
      `${fmt(test.length)} test tokens; ` +
      (fixed
        ? `the checkpoint's ${fixed.kind} tokenizer, vocabulary ${tokenizer.vocabSize}`
        : `${kind} tokenizer built on train, vocabulary ${tokenizer.vocabSize}` + (kind === 'word' || kind === 'char' ? ` (min count ${minCount})` : '')),
    close: () => {},
  };
}

/**
 * The `split` of `corpus` as ids of the model's codec: Brown's split, a text corpus's
 * 90/5/5 split encoded with the codec, or a token file's range (its tokenizer must be the
 * codec's). Call `close()` when done.
 */
export function openEvalSplit(corpus: string, split: 'valid' | 'test', codec: TextCodec): { source: TokenSource; close: () => void } {
  const format = corpusFormat(corpus);
  if (format === 'brown') {
    const words = loadBrown()[split];
    const ids = codec.tokenizer ? codec.tokenizer.encode(words.join(' ')) : codec.vocab!.encode(words);
    return { source: new ArrayTokenSource(ids), close: () => {} };
  }
  if (format === 'tokens') {
    const f = TokenFile.open(corpus);
    const theirs = JSON.stringify(f.tokenizerJSON);
    const ours = codec.tokenizer ? JSON.stringify(codec.tokenizer.toJSON()) : null;
    if (theirs !== ours) {
      f.close();
      throw new Error(`${corpus} was tokenized with a different tokenizer (${f.tokenizer.kind}, vocabulary ${f.tokenizer.vocabSize}) than the checkpoint's`);
    }
    return { source: splitTokenFile(f)[split], close: () => f.close() };
  }
  const text = loadTextCorpus(corpus);
  return { source: new ArrayTokenSource(encodeText(codec, splitCorpus(text.text)[split])), close: () => {} };
}
