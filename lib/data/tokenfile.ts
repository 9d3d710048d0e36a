// Binary token files (`lmkit tokenize --out corpus.bin`): a tokenized corpus on disk that
// training reads window by window through a file descriptor, never whole.
//
// Layout (all integers little-endian):
//
//   offset  size  field
//   0       8     magic "LMKITTOK"
//   8       4     version (1)
//   12      4     bytes per token: 2 (uint16, vocabularies up to 65,536) or 4 (uint32)
//   16      8     token count N (uint64)
//   24      4     tokenizer JSON length L in bytes
//   28      4     CRC-32 of the tokenizer JSON bytes
//   32      L     the tokenizer's toJSON(), UTF-8 (the file is self-contained: no sidecar)
//   ...           zero padding to a multiple of 8
//   D       N*w   the token ids, D = 32 + L rounded up to 8
//
// The file size must be exactly D + N*w: a truncated or extended file is refused. A bad
// magic, version, token width, JSON length, checksum or tokenizer is refused with a message
// naming the file and the field. Token ids are checked against the vocabulary size as they
// are read (a tampered id gives an error naming its position). Writes go to a temporary
// file that is renamed into place when complete, so a killed `tokenize` leaves no partial
// .bin behind.
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { crc32 } from 'node:zlib';

import { tokenizerFromJSON, type Tokenizer, type TokenizerJSON } from './tokenizers.js';
import { checkRange, type TokenSource } from './tokensource.js';

export const TOKEN_FILE_MAGIC = 'LMKITTOK';
export const TOKEN_FILE_VERSION = 1;
const HEADER_BYTES = 32;
const MAX_JSON_BYTES = 1 << 30;

export type TokenDtype = 'uint16' | 'uint32';

/** The narrowest dtype that holds every id of a vocabulary of `vocabSize`. */
export function dtypeFor(vocabSize: number): TokenDtype {
  return vocabSize <= 65536 ? 'uint16' : 'uint32';
}

function widthOf(dtype: TokenDtype): number {
  return dtype === 'uint16' ? 2 : 4;
}

function checkHost(): void {
  if (endianness() !== 'LE') throw new Error('token files are little-endian; this host is big-endian (not supported)');
}

/** Whether `path` is a readable file that starts with the token-file magic. */
export function hasTokenFileMagic(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const b = Buffer.alloc(8);
    return readSync(fd, b, 0, 8, 0) === 8 && b.toString('latin1') === TOKEN_FILE_MAGIC;
  } catch {
    return false; // a folder (EISDIR) or an unreadable file: not a token file
  } finally {
    closeSync(fd);
  }
}

function readFully(fd: number, buf: Uint8Array, position: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * A token file opened for reading: a TokenSource whose `read` does one positioned read
 * (pread) of exactly the requested tokens. Memory use does not grow with the file. Call
 * `close()` when done.
 */
export class TokenFile implements TokenSource {
  readonly length: number;
  readonly dtype: TokenDtype;
  readonly tokenizer: Tokenizer;
  readonly tokenizerJSON: TokenizerJSON;
  /** Byte offset of the first token. */
  readonly dataOffset: number;
  /** Token bytes read by `read` so far (a data-parallel rank reads its shard: tested). */
  bytesRead = 0;
  private fd: number | null;
  private readonly width: number;
  private readonly vocabSize: number;

  private constructor(
    readonly path: string,
    fd: number,
    h: { length: number; dtype: TokenDtype; dataOffset: number; tokenizer: Tokenizer; json: TokenizerJSON },
  ) {
    this.fd = fd;
    this.length = h.length;
    this.dtype = h.dtype;
    this.width = widthOf(h.dtype);
    this.dataOffset = h.dataOffset;
    this.tokenizer = h.tokenizer;
    this.tokenizerJSON = h.json;
    this.vocabSize = h.tokenizer.vocabSize;
  }

  /** Opens and validates `path` (header, tokenizer, exact size). Throws an Error naming the problem. */
  static open(path: string): TokenFile {
    checkHost();
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(code === 'ENOENT' ? `token file ${path} does not exist` : `cannot open token file ${path}: ${(e as Error).message}`);
    }
    try {
      return new TokenFile(path, fd, TokenFile.readHeader(path, fd));
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  private static readHeader(path: string, fd: number) {
    const where = `token file ${path}`;
    const size = fstatSync(fd).size;
    const h = Buffer.alloc(HEADER_BYTES);
    if (readFully(fd, h, 0) < HEADER_BYTES) throw new Error(`${where}: truncated header (${size} bytes, need ${HEADER_BYTES})`);
    if (h.toString('latin1', 0, 8) !== TOKEN_FILE_MAGIC) throw new Error(`${where}: not an lmkit token file (bad magic)`);
    const version = h.readUInt32LE(8);
    if (version !== TOKEN_FILE_VERSION) throw new Error(`${where}: unsupported version ${version} (this lmkit reads version ${TOKEN_FILE_VERSION})`);
    const width = h.readUInt32LE(12);
    if (width !== 2 && width !== 4) throw new Error(`${where}: bad token width ${width} (2 or 4 bytes)`);
    const count = h.readBigUInt64LE(16);
    if (count > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${where}: bad token count ${count}`);
    const length = Number(count);
    const jsonBytes = h.readUInt32LE(24);
    const crc = h.readUInt32LE(28);
    if (jsonBytes === 0 || jsonBytes > MAX_JSON_BYTES || HEADER_BYTES + jsonBytes > size) {
      throw new Error(`${where}: bad tokenizer length ${jsonBytes} (file has ${size} bytes)`);
    }
    const jb = Buffer.alloc(jsonBytes);
    readFully(fd, jb, HEADER_BYTES);
    if (crc32(jb) !== crc) throw new Error(`${where}: the tokenizer does not match its checksum (file damaged or edited)`);
    let json: TokenizerJSON;
    let tokenizer: Tokenizer;
    try {
      json = JSON.parse(jb.toString('utf8')) as TokenizerJSON;
      tokenizer = tokenizerFromJSON(json);
    } catch (e) {
      throw new Error(`${where}: bad tokenizer: ${(e as Error).message}`);
    }
    const dtype: TokenDtype = width === 2 ? 'uint16' : 'uint32';
    if (width === 2 && tokenizer.vocabSize > 65536) throw new Error(`${where}: uint16 tokens cannot hold a vocabulary of ${tokenizer.vocabSize}`);
    const dataOffset = Math.ceil((HEADER_BYTES + jsonBytes) / 8) * 8;
    const expected = dataOffset + length * width;
    if (size !== expected) {
      const have = Math.max(0, size - dataOffset);
      throw new Error(
        `${where}: ${size < expected ? 'truncated' : 'has trailing bytes'}: the header says ${length} tokens ` +
          `(${length * width} bytes of ${dtype}) but the file holds ${have} bytes of token data`,
      );
    }
    return { length, dtype, dataOffset, tokenizer, json };
  }

  read(offset: number, n: number): Int32Array {
    checkRange(`token file ${this.path}`, this.length, offset, n);
    if (this.fd === null) throw new Error(`token file ${this.path} is closed`);
    const bytes = new Uint8Array(n * this.width);
    const got = readFully(this.fd, bytes, this.dataOffset + offset * this.width);
    if (got !== bytes.length) throw new Error(`token file ${this.path}: short read at token ${offset} (the file changed while open?)`);
    this.bytesRead += got;
    const out = this.width === 2 ? Int32Array.from(new Uint16Array(bytes.buffer)) : new Int32Array(bytes.buffer);
    const V = this.vocabSize;
    for (let i = 0; i < n; i++) {
      const id = out[i]!;
      if (id < 0 || id >= V) {
        throw new Error(`token file ${this.path}: token ${offset + i} has id ${id >>> 0}, outside the vocabulary (${V}); the file is damaged`);
      }
    }
    return out;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * Writes a token file in chunks: `append` ids as they are produced, then `finish()`. The
 * data goes to `<path>.tmp-<pid>` and is renamed to `path` by `finish()`; `abort()` removes
 * the temporary file.
 */
export class TokenFileWriter {
  readonly dtype: TokenDtype;
  private fd: number | null;
  private readonly tmp: string;
  private readonly width: number;
  private readonly vocabSize: number;
  private count = 0;

  constructor(
    readonly path: string,
    tokenizer: Tokenizer,
  ) {
    checkHost();
    this.vocabSize = tokenizer.vocabSize;
    this.dtype = dtypeFor(this.vocabSize);
    this.width = widthOf(this.dtype);
    const json = Buffer.from(JSON.stringify(tokenizer.toJSON()), 'utf8');
    const dataOffset = Math.ceil((HEADER_BYTES + json.length) / 8) * 8;
    const head = Buffer.alloc(dataOffset);
    head.write(TOKEN_FILE_MAGIC, 0, 'latin1');
    head.writeUInt32LE(TOKEN_FILE_VERSION, 8);
    head.writeUInt32LE(this.width, 12);
    head.writeBigUInt64LE(0n, 16);
    head.writeUInt32LE(json.length, 24);
    head.writeUInt32LE(crc32(json), 28);
    json.copy(head, HEADER_BYTES);
    this.tmp = `${path}.tmp-${process.pid}`;
    this.fd = openSync(this.tmp, 'w');
    writeSync(this.fd, head);
  }

  /** Tokens written so far. */
  get length(): number {
    return this.count;
  }

  append(ids: Int32Array): void {
    if (this.fd === null) throw new Error(`token file ${this.path}: already finished`);
    const V = this.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!(id >= 0 && id < V)) throw new RangeError(`TokenFileWriter.append: id ${id} is outside the vocabulary (${V})`);
    }
    const arr = this.width === 2 ? Uint16Array.from(ids) : ids;
    const buf = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    this.count += ids.length;
  }

  /** Writes the token count into the header, syncs and renames into place. */
  finish(): void {
    if (this.fd === null) throw new Error(`token file ${this.path}: already finished`);
    const n = Buffer.alloc(8);
    n.writeBigUInt64LE(BigInt(this.count));
    writeSync(this.fd, n, 0, 8, 16);
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
    renameSync(this.tmp, this.path);
  }

  abort(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    try {
      unlinkSync(this.tmp);
    } catch {
      // already gone
    }
  }
}
