// A check of a prompt before generation: a prompt whose tokens are all unknown to the
// model's vocabulary (<unk>) gives the model no context, and the user should hear so.
import type { Tokenizer } from '../data/tokenizers.js';

/**
 * A warning for `ids` (the prompt, encoded by `tokenizer`) when every token is the unknown
 * token (<unk>, id 0 of the word and char tokenizers), else null. Byte-level tokenizers
 * (gpt2, bpe) have no unknown token.
 */
export function unknownPromptWarning(tokenizer: Tokenizer, ids: ArrayLike<number>): string | null {
  if (tokenizer.kind !== 'word' && tokenizer.kind !== 'char') return null;
  if (ids.length === 0) return null;
  for (let i = 0; i < ids.length; i++) if (ids[i] !== 0) return null;
  const what = tokenizer.kind === 'word' ? 'word' : 'character';
  return `every ${what} of the prompt is unknown to the model (${ids.length === 1 ? 'it encodes' : `all ${ids.length} encode`} to <unk>): it gives the model no context; use ${what}s of its training vocabulary`;
}
