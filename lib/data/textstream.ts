// Reading a text corpus (a file or a folder, as ./corpus.ts's loadTextCorpus sees it) in
// bounded pieces, so that a corpus of many gigabytes can be tokenized without holding it.
//
// Bytes are read `chunkBytes` at a time and checked as strict UTF-8 (an error names the
// file and the byte offset, like loadTextCorpus); a multi-byte character cut by a chunk
// boundary is carried to the next chunk. The decoded text is cut only just before a run of
// whitespace that follows a non-space character: the word, BPE and GPT-2 pre-tokenizers
// never join tokens across such a point, and the char tokenizer never joins anything, so
// tokenizing the pieces one by one gives exactly the ids of tokenizing the whole text.
// Folder files are joined by "\n" (empty files skipped), a leading byte-order mark of each
// file dropped, as loadTextCorpus does.
import { closeSync, openSync, readSync, statSync } from 'node:fs';

import { findInvalidUtf8, listCorpusFiles } from './corpus.js';

export interface TextPiece {
  text: string;
  /** UTF-8 bytes of the corpus files read so far (for progress). */
  bytesRead: number;
}

export interface TextStreamOptions {
  /** Bytes read per system call; default 8 MiB. */
  chunkBytes?: number;
  /** Read only the first this many bytes of the corpus (the text up to there); default: all. */
  maxBytes?: number;
  /** Folder files that belong to the corpus; default *.txt. */
  match?: RegExp;
}

/** Total UTF-8 bytes of the corpus files at `path`. */
export function corpusBytes(path: string, match?: RegExp): number {
  let n = 0;
  for (const f of listCorpusFiles(path, match)) n += statSync(f).size;
  return n;
}

/** Length of the longest prefix of `b` that does not end inside a multi-byte UTF-8 sequence. */
function completePrefix(b: Uint8Array): number {
  const n = b.length;
  for (let k = 1; k <= Math.min(3, n); k++) {
    const c = b[n - k]!;
    if (c < 0x80) return n; // ASCII: complete
    if (c >= 0xc0) {
      const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      return k >= need ? n : n - k;
    }
  }
  return n;
}

/** Decoded text of each corpus file in turn, in bounded pieces (files separated by "\n"). */
function* decodedPieces(path: string, opts: TextStreamOptions): Generator<TextPiece> {
  const chunkBytes = opts.chunkBytes ?? 8 << 20;
  const maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY;
  let bytesRead = 0;
  let first = true;
  for (const file of listCorpusFiles(path, opts.match)) {
    const fd = openSync(file, 'r');
    try {
      const decoder = new TextDecoder('utf-8'); // drops a leading byte-order mark
      let carry: Uint8Array = new Uint8Array(0);
      let fileOffset = 0; // offset of carry[0] in the file
      let started = false;
      for (;;) {
        const buf = new Uint8Array(carry.length + chunkBytes);
        buf.set(carry);
        const want = Math.min(chunkBytes, Math.max(0, maxBytes - bytesRead));
        const got = want > 0 ? readSync(fd, buf, carry.length, want, null) : 0;
        const bytes = buf.subarray(0, carry.length + got);
        const eof = got === 0;
        const cut = eof ? bytes.length : completePrefix(bytes);
        const body = bytes.subarray(0, cut);
        const bad = findInvalidUtf8(body);
        if (bad >= 0) {
          throw new Error(`${file}: invalid UTF-8 at byte offset ${fileOffset + bad} (byte 0x${body[bad]!.toString(16).padStart(2, '0')})`);
        }
        let text = decoder.decode(body, { stream: !eof });
        bytesRead += got;
        if (text.length > 0) {
          if (!started && !first) text = `\n${text}`;
          started = true;
          first = false;
          yield { text, bytesRead };
        }
        if (eof || bytesRead >= maxBytes) break;
        carry = bytes.slice(cut);
        fileOffset += cut;
      }
    } finally {
      closeSync(fd);
    }
    if (bytesRead >= maxBytes) return;
  }
}

const SPACE = /\s/;

/** Index of the last point in `s` where a whitespace run starts after a non-space, or -1. */
function lastSafeCut(s: string): number {
  for (let i = s.length - 1; i > 0; i--) {
    if (SPACE.test(s[i]!) && !SPACE.test(s[i - 1]!)) return i;
  }
  return -1;
}

/**
 * The corpus text at `path` as a sequence of pieces that can be tokenized independently
 * (see the file header). A piece is at most about `chunkBytes` long unless the text has no
 * safe cut point for a long stretch (then the stretch is held until one comes, up to 64 Mi
 * characters, past which it is cut anyway).
 */
export function* textPieces(path: string, opts: TextStreamOptions = {}): Generator<TextPiece> {
  let pending = '';
  let bytesRead = 0;
  for (const p of decodedPieces(path, opts)) {
    bytesRead = p.bytesRead;
    const s = pending + p.text;
    const cut = lastSafeCut(s);
    if (cut > 0) {
      pending = s.slice(cut);
      yield { text: s.slice(0, cut), bytesRead };
    } else if (s.length > 64 << 20) {
      pending = '';
      yield { text: s, bytesRead };
    } else pending = s;
  }
  if (pending !== '') yield { text: pending, bytesRead };
}

/** The first ~`maxBytes` of the corpus text, as one string (for building a tokenizer). */
export function readTextSample(path: string, maxBytes: number, opts: TextStreamOptions = {}): string {
  const parts: string[] = [];
  for (const p of textPieces(path, { ...opts, maxBytes })) parts.push(p.text);
  return parts.join('');
}
