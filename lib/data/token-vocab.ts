// A Vocab (token string per id) for any tokenizer, so that `lmkit embed` and the
// embeddings helpers can name tokens: the word tokenizer's own vocabulary; the char
// tokenizer's characters; for byte-level tokenizers (bpe, gpt2) the decoded text of each id
// (" the", "ing"), or "<0xNN>" / "<id:N>" when an id alone is not valid UTF-8 or its text
// repeats another's. A Vocab's id 0 is always named "<unk>" (byte 0x00 for bpe, "!" for
// gpt2 are thus left out of neighbour lists, which skip id 0).
import type { Tokenizer } from './tokenizers.js';
import { BpeTokenizer, CharTokenizer, WordTokenizer } from './tokenizers.js';
import { UNK, Vocab } from './vocab.js';

export function tokenVocab(t: Tokenizer): Vocab {
  if (t instanceof WordTokenizer) return t.vocab;
  if (t instanceof CharTokenizer) return new Vocab(t.chars);
  const labels: string[] = [UNK];
  const seen = new Set<string>(labels);
  for (let id = 1; id < t.vocabSize; id++) {
    let s = t.decode([id]);
    if (s === '' || s.includes('\uFFFD') || seen.has(s)) {
      s = t instanceof BpeTokenizer && id < 256 ? `<0x${id.toString(16).padStart(2, '0')}>` : `<id:${id}>`;
    }
    seen.add(s);
    labels.push(s);
  }
  return new Vocab(labels);
}
