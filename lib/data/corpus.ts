// User text corpora: a plain-text file or a folder of them, strictly validated as UTF-8,
// and a contiguous train / valid / test split.
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export interface TextCorpus {
  /** The text: the files' contents, in `files` order, joined by `separator`. */
  text: string;
  /** Absolute paths of the files read (empty files skipped), in the order joined. */
  files: string[];
  /** Total UTF-8 bytes read. */
  bytes: number;
}

export interface LoadTextCorpusOptions {
  /** Put between the texts of consecutive files of a folder; default '\n'. */
  separator?: string;
  /** File names a folder contributes; default /\.txt$/i. */
  match?: RegExp;
}

/**
 * Where in `bytes` the first invalid UTF-8 sequence starts (overlong forms, surrogates,
 * code points above U+10FFFF, stray continuation bytes and truncated sequences are all
 * invalid, as for TextDecoder's fatal mode), or -1 when the bytes are valid UTF-8.
 */
export function findInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b0 = bytes[i]!;
    if (b0 < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
    else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      if (b0 === 0xe0) lo = 0xa0; // overlong
      if (b0 === 0xed) hi = 0x9f; // surrogates
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      if (b0 === 0xf0) lo = 0x90; // overlong
      if (b0 === 0xf4) hi = 0x8f; // > U+10FFFF
    } else return i;
    if (i + need >= n) return i; // truncated at the end
    const b1 = bytes[i + 1]!;
    if (b1 < lo || b1 > hi) return i;
    for (let k = 2; k <= need; k++) {
      const b = bytes[i + k]!;
      if (b < 0x80 || b > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/**
 * Decodes `bytes` as strict UTF-8 (a leading byte-order mark is dropped). Throws an Error
 * naming `file` and the byte offset of the first invalid sequence.
 */
export function decodeUtf8Strict(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = findInvalidUtf8(bytes);
    throw new Error(`${file}: invalid UTF-8 at byte offset ${at < 0 ? '?' : at}${at < 0 ? '' : ` (byte 0x${bytes[at]!.toString(16).padStart(2, '0')})`}`);
  }
}

function statOrThrow(path: string): Stats {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`corpus not found: ${path} does not exist`);
    throw new Error(`cannot read corpus ${path}: ${(e as Error).message}`);
  }
}

/** Files under `dir` whose name matches, recursively; hidden entries (".name") skipped. */
function listFiles(dir: string, match: RegExp, seen: Set<string>, out: string[]): void {
  const real = realpathSync(dir);
  if (seen.has(real)) return; // a symbolic-link cycle
  seen.add(real);
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const p = join(dir, name);
    let st: Stats;
    try {
      st = statSync(p);
    } catch {
      continue; // a dangling symbolic link
    }
    if (st.isDirectory()) listFiles(p, match, seen, out);
    else if (st.isFile() && match.test(name)) out.push(p);
  }
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Loads a text corpus from `path`:
 * - a regular file: its whole content (any name), which must not be empty;
 * - a folder: every file whose name matches `match` (default *.txt, case-insensitive) in it
 *   and its sub-folders, recursively, skipping hidden files and folders (names starting
 *   with "."), read in order of their path relative to the folder (plain code-unit
 *   comparison, "a/x.txt" < "b.txt" < "b/y.txt"; not locale-dependent), empty files
 *   skipped, joined by `separator` (default "\n"). At least one non-empty file is required.
 * Every file must be valid UTF-8 (checked strictly; the error names the file and the byte
 * offset); a byte-order mark at the start of a file is dropped.
 */
export function loadTextCorpus(path: string, opts: LoadTextCorpusOptions = {}): TextCorpus {
  const separator = opts.separator ?? '\n';
  const match = opts.match ?? /\.txt$/i;
  const root = resolve(path);
  const st = statOrThrow(root);
  if (st.isFile()) {
    const bytes = readFileSync(root);
    if (bytes.length === 0) throw new Error(`corpus file ${root} is empty`);
    const text = decodeUtf8Strict(bytes, root);
    if (text.length === 0) throw new Error(`corpus file ${root} is empty (only a byte-order mark)`);
    return { text, files: [root], bytes: bytes.length };
  }
  if (!st.isDirectory()) throw new Error(`corpus ${root} is neither a file nor a folder`);
  const rel = listCorpusFiles(root, match);
  const texts: string[] = [];
  const files: string[] = [];
  let bytes = 0;
  for (const f of rel) {
    const buf = readFileSync(f);
    const text = decodeUtf8Strict(buf, f);
    if (text.length === 0) continue;
    texts.push(text);
    files.push(f);
    bytes += buf.length;
  }
  if (files.length === 0) throw new Error(`corpus folder ${root} has only empty files (${rel.length} matching ${match})`);
  return { text: texts.join(separator), files, bytes };
}

/**
 * The files a corpus at `path` is read from, in the order `loadTextCorpus` joins them: the
 * file itself, or a folder's matching files (recursive, hidden entries skipped, sorted by
 * relative path). Throws when the path does not exist or a folder has no matching file.
 */
export function listCorpusFiles(path: string, match: RegExp = /\.txt$/i): string[] {
  const root = resolve(path);
  const st = statOrThrow(root);
  if (st.isFile()) return [root];
  if (!st.isDirectory()) throw new Error(`corpus ${root} is neither a file nor a folder`);
  const found: string[] = [];
  listFiles(root, match, new Set(), found);
  const rel = found.map((f) => ({ f, r: relative(root, f).split('\\').join('/') }));
  rel.sort((x, y) => compareCodeUnits(x.r, y.r));
  if (rel.length === 0) throw new Error(`corpus folder ${root} has no files matching ${match}`);
  return rel.map((x) => x.f);
}

export interface SplitOptions {
  /** Fraction for validation; default 0.05. */
  valid?: number;
  /** Fraction for test; default 0.05. */
  test?: number;
}

export interface CorpusSplit<T> {
  train: T;
  valid: T;
  test: T;
}

/**
 * Splits a text or a token-id stream into contiguous train / valid / test parts, in that
 * order: valid and test get round(n * fraction) items each (90 / 5 / 5 by default), train
 * the rest. n counts UTF-16 code units for a string; a boundary that would cut a surrogate
 * pair moves one unit later, so no character is split. Id arrays are split as views
 * (subarray), not copies.
 */
export function splitCorpus(data: string, opts?: SplitOptions): CorpusSplit<string>;
export function splitCorpus(data: Int32Array, opts?: SplitOptions): CorpusSplit<Int32Array>;
export function splitCorpus(data: string | Int32Array, opts: SplitOptions = {}): CorpusSplit<string> | CorpusSplit<Int32Array> {
  const valid = opts.valid ?? 0.05;
  const test = opts.test ?? 0.05;
  for (const [name, f] of [['valid', valid], ['test', test]] as const) {
    if (!(typeof f === 'number' && f >= 0 && f < 1)) throw new RangeError(`splitCorpus: ${name} must be a fraction in [0, 1), got ${f}`);
  }
  if (valid + test >= 1) throw new RangeError(`splitCorpus: valid + test must be below 1, got ${valid + test}`);
  const n = data.length;
  const nValid = Math.round(n * valid);
  const nTest = Math.round(n * test);
  let a = n - nValid - nTest; // end of train
  let b = n - nTest; // end of valid
  if (typeof data === 'string') {
    const fix = (i: number) => {
      const c = data.charCodeAt(i - 1);
      return i > 0 && i < n && c >= 0xd800 && c <= 0xdbff ? i + 1 : i;
    };
    a = fix(a);
    b = Math.max(a, fix(b));
    return { train: data.slice(0, a), valid: data.slice(a, b), test: data.slice(b) };
  }
  if (!(data instanceof Int32Array)) throw new TypeError('splitCorpus: data must be a string or an Int32Array');
  return { train: data.subarray(0, a), valid: data.subarray(a, b), test: data.subarray(b) };
}
