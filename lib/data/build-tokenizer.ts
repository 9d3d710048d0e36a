// Building the tokenizer a training run (or `lmkit tokenize`) uses, from the kind named on
// the command line and the training text: `buildTokenizer` from one string,
// `buildTokenizerStreaming` from a sequence of pieces (word and char counts are
// accumulated piece by piece, so memory holds only the distinct words; BPE training needs
// its text as one string, so its pieces are joined). Both give the same tokenizer as
// building on the concatenated text.
import { BpeTokenizer, CharTokenizer, Gpt2Tokenizer, WordTokenizer, splitWords, type Tokenizer, type TokenizerKind } from './tokenizers.js';
import { UNK, Vocab } from './vocab.js';

export const TOKENIZER_KINDS: readonly TokenizerKind[] = ['word', 'char', 'gpt2', 'bpe'];

export interface TokenizerSpec {
  kind: TokenizerKind;
  /** word, char: keep tokens seen at least this often (default 1). */
  minCount?: number;
  /** bpe: target vocabulary size (default 1024). */
  bpeVocab?: number;
}

function checkKind(kind: unknown): TokenizerKind {
  if (!TOKENIZER_KINDS.includes(kind as TokenizerKind)) {
    throw new Error(`unknown tokenizer '${String(kind)}' (one of ${TOKENIZER_KINDS.join(', ')})`);
  }
  return kind as TokenizerKind;
}

/** The tokenizer `spec` describes, built on `text`. */
export function buildTokenizer(spec: TokenizerSpec, text: string): Tokenizer {
  const minCount = spec.minCount ?? 1;
  switch (checkKind(spec.kind)) {
    case 'word':
      return WordTokenizer.build(text, { minCount });
    case 'char':
      return CharTokenizer.build(text, { minCount });
    case 'gpt2':
      return new Gpt2Tokenizer();
    case 'bpe':
      return BpeTokenizer.train(text, { vocabSize: spec.bpeVocab ?? 1024 });
    case 'hf-bpe':
      throw new Error("the 'hf-bpe' tokenizer is read from a model's vocab.json + merges.txt (lmkit import), not built from text");
  }
}

/** Entries with count >= minCount, most frequent first, ties broken by `tie` (stable). */
function keep(counts: Map<string, number>, minCount: number, tie: (a: string, b: string) => number): string[] {
  const kept = [...counts.entries()].filter(([w, c]) => c >= minCount && w !== UNK);
  kept.sort((a, b) => b[1] - a[1] || tie(a[0], b[0]));
  return kept.map(([w]) => w);
}

/** The same tokenizer as `buildTokenizer(spec, pieces.join(''))`, counting piece by piece. */
export function buildTokenizerStreaming(spec: TokenizerSpec, pieces: Iterable<string>): Tokenizer {
  const minCount = spec.minCount ?? 1;
  const kind = checkKind(spec.kind);
  if (kind === 'gpt2') return new Gpt2Tokenizer();
  if (kind === 'bpe') return buildTokenizer(spec, [...pieces].join(''));
  if (!Number.isInteger(minCount) || minCount < 1) throw new RangeError(`minCount must be a positive integer, got ${minCount}`);
  const counts = new Map<string, number>();
  if (kind === 'word') {
    for (const p of pieces) for (const w of splitWords(p)) counts.set(w, (counts.get(w) ?? 0) + 1);
    // Vocab.build order: most frequent first, ties by first appearance (Map order).
    return new WordTokenizer(new Vocab([UNK, ...keep(counts, minCount, () => 0)]));
  }
  for (const p of pieces) for (const c of p) counts.set(c, (counts.get(c) ?? 0) + 1);
  const chars = [...counts.entries()].filter(([, n]) => n >= minCount);
  chars.sort((a, b) => b[1] - a[1] || a[0].codePointAt(0)! - b[0].codePointAt(0)!);
  return new CharTokenizer([UNK, ...chars.map(([c]) => c)]);
}
