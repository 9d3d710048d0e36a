// `lmkit tokenize --corpus FILE|DIR --tokenizer KIND --out corpus.bin`: a text corpus of any
// size -> a binary token file (lib/data/tokenfile.ts), in two streamed passes:
//   1. the tokenizer is built on a sample: the first --sample-mb MB of text (default 64),
//      capped at the first 90% of the bytes so that it sees roughly only the training range
//      (the token file's last 5% + 5% of tokens are valid and test). word and char count
//      piece by piece (memory: the distinct words); bpe trains on the sample as one string;
//      gpt2 needs no sample.
//   2. the whole corpus is read again --chunk-mb at a time (lib/data/textstream.ts), each
//      piece tokenized and appended to the file, with a progress line on stderr.
// Memory stays bounded by the chunk size and the tokenizer, not the corpus size.
import { statSync } from 'node:fs';

import { buildTokenizerStreaming } from '../data/build-tokenizer.js';
import { corpusBytes, textPieces } from '../data/textstream.js';
import { TokenFileWriter } from '../data/tokenfile.js';
import type { TokenizerKind } from '../data/tokenizers.js';

export interface TokenizeFlags {
  corpus: string;
  out: string;
  tokenizer: TokenizerKind;
  bpeVocab: number;
  minCount: number;
  sampleMb: number;
  chunkMb: number;
}

const MB = 1 << 20;

function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(bytes < 10 * MB ? 2 : 0)} MB`;
}

function* texts(pieces: Iterable<{ text: string }>): Generator<string> {
  for (const p of pieces) yield p.text;
}

export function runTokenize(f: TokenizeFlags): void {
  const total = corpusBytes(f.corpus);
  if (total === 0) throw new Error(`corpus ${f.corpus} is empty`);
  const chunkBytes = f.chunkMb * MB;
  const sampleBytes = Math.max(1, Math.min(f.sampleMb * MB, Math.floor(total * 0.9)));
  const t0 = performance.now();
  process.stderr.write(
    `tokenize: ${f.corpus}, ${mb(total)}; building the ${f.tokenizer} tokenizer` +
      (f.tokenizer === 'gpt2' ? '' : ` on the first ${mb(sampleBytes)}`) +
      '\n',
  );
  const tokenizer = buildTokenizerStreaming(
    { kind: f.tokenizer, minCount: f.minCount, bpeVocab: f.bpeVocab },
    f.tokenizer === 'gpt2' ? [] : texts(textPieces(f.corpus, { chunkBytes: Math.min(chunkBytes, sampleBytes), maxBytes: sampleBytes })),
  );
  process.stderr.write(`tokenize: vocabulary ${tokenizer.vocabSize} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);

  const writer = new TokenFileWriter(f.out, tokenizer);
  const tty = process.stderr.isTTY === true;
  const t1 = performance.now();
  let lastReport = 0;
  let nextLine = 0.1;
  const report = (bytes: number, final: boolean): void => {
    const now = performance.now();
    const frac = bytes / total;
    if (!final && (tty ? now - lastReport < 250 : frac < nextLine)) return;
    lastReport = now;
    while (nextLine <= frac) nextLine += 0.1;
    const s = (now - t1) / 1000;
    const line =
      `tokenize: ${mb(bytes)} / ${mb(total)} (${(frac * 100).toFixed(0)}%), ${writer.length.toLocaleString('en-US')} tokens, ` +
      `${(bytes / MB / Math.max(s, 1e-9)).toFixed(1)} MB/s`;
    process.stderr.write(tty ? `\r${line}\x1b[K${final ? '\n' : ''}` : `${line}\n`);
  };
  try {
    for (const p of textPieces(f.corpus, { chunkBytes })) {
      writer.append(tokenizer.encode(p.text));
      report(p.bytesRead, false);
    }
    report(total, true);
    if (writer.length === 0) throw new Error(`corpus ${f.corpus} has no tokens (only whitespace?)`);
    writer.finish();
  } catch (e) {
    writer.abort();
    throw e;
  }
  const size = statSync(f.out).size;
  process.stdout.write(
    `wrote ${f.out}: ${writer.length} tokens (${writer.dtype}), ${size} bytes; ${f.tokenizer} tokenizer, vocabulary ` +
      `${tokenizer.vocabSize}; ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
}
