// A word vocabulary: the tokens seen more than `minCount - 1` times in the training text,
// plus `<unk>` (id 0) for everything else.

export const UNK = '<unk>';

export interface VocabJSON {
  kind: 'word';
  tokens: string[];
}

export class Vocab {
  readonly tokens: readonly string[];
  private readonly index: Map<string, number>;

  constructor(tokens: readonly string[]) {
    if (tokens[0] !== UNK) throw new Error(`a vocabulary must start with ${UNK}`);
    this.tokens = tokens;
    this.index = new Map(tokens.map((t, i) => [t, i]));
    if (this.index.size !== tokens.length) throw new Error('a vocabulary must not repeat a token');
  }

  /** Tokens with count >= minCount in `train`, most frequent first (ties by first appearance). */
  static build(train: readonly string[], minCount = 1): Vocab {
    const counts = new Map<string, number>();
    for (const w of train) counts.set(w, (counts.get(w) ?? 0) + 1);
    const kept = [...counts.entries()].filter(([w, c]) => c >= minCount && w !== UNK);
    kept.sort((a, b) => b[1] - a[1]);
    return new Vocab([UNK, ...kept.map(([w]) => w)]);
  }

  get size(): number {
    return this.tokens.length;
  }

  id(token: string): number {
    return this.index.get(token) ?? 0;
  }

  encode(words: readonly string[]): Int32Array {
    const out = new Int32Array(words.length);
    for (let i = 0; i < words.length; i++) out[i] = this.index.get(words[i]!) ?? 0;
    return out;
  }

  decode(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (i) => this.tokens[i] ?? UNK);
  }

  toJSON(): VocabJSON {
    return { kind: 'word', tokens: [...this.tokens] };
  }

  static fromJSON(j: VocabJSON): Vocab {
    if (j.kind !== 'word' || !Array.isArray(j.tokens)) throw new Error('not a word vocabulary');
    return new Vocab(j.tokens);
  }
}
