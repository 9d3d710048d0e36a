// The safetensors format, written and read by hand (F32 and I32 tensors, string metadata).
//
// Layout:  [8 bytes: N, little-endian u64] [N bytes: UTF-8 JSON header] [data section]
// Header:  { "<name>": { "dtype": "F32" | "I32", "shape": [..], "data_offsets": [begin, end] },
//            "__metadata__": { "<key>": "<string>" } }
// Offsets are relative to the start of the data section; data is little-endian. The writer
// pads the header with spaces so that the data section starts at a multiple of 8, and lays
// the tensors out back to back in the order given.
//
// The reader checks everything and throws a `SafetensorsError` naming the source and the
// problem: a file too short to hold the header length, a header length past the end of the
// file, a header that is not UTF-8 / JSON / an object, unknown or unsupported dtypes, bad
// shapes, offsets out of range, overlapping, leaving gaps, not matching the shape, and bytes
// after the last tensor. It never returns a tensor it could not fully validate.
import fs from 'node:fs';
import os from 'node:os';

import { Tensor, formatShape, type DType } from '../tensor.js';

/** Thrown for any malformed safetensors input; `source` is the file (or '<buffer>'). */
export class SafetensorsError extends Error {
  constructor(
    readonly source: string,
    readonly problem: string,
  ) {
    super(`invalid safetensors file ${source}: ${problem}`);
    this.name = 'SafetensorsError';
  }
}

/** dtype names of the safetensors format and the lmkit dtypes they map to. */
const TO_LMKIT: Readonly<Record<string, DType>> = { F32: 'float32', I32: 'int32' };
const FROM_LMKIT: Readonly<Record<DType, string>> = { float32: 'F32', int32: 'I32' };
/** dtypes the format defines that lmkit does not read (to tell 'unsupported' from 'unknown'). */
const OTHER_FORMAT_DTYPES = new Set(['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'U32', 'I64', 'U64', 'F64']);
const BYTES_PER_ELEMENT = 4; // both F32 and I32

/** Largest header accepted when reading (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
const LITTLE_ENDIAN_HOST = os.endianness() === 'LE';

/** One tensor entry of a parsed header. */
export interface SafetensorsEntry {
  name: string;
  dtype: 'F32' | 'I32';
  shape: number[];
  /** Byte range [begin, end) within the data section. */
  dataOffsets: [number, number];
}

/** A validated header, without the tensor data. */
export interface SafetensorsHeader {
  /** Tensor entries in the order of their data (by begin offset). */
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file (8 + header length). */
  dataStart: number;
}

export type TensorMapLike = Map<string, Tensor> | Record<string, Tensor>;

function entriesOf(tensors: TensorMapLike): [string, Tensor][] {
  return tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
}

// ---- writing ----------------------------------------------------------------------

/** Little-endian bytes of a tensor's data (a copy). */
function tensorBytes(t: Tensor): Uint8Array {
  const data = t.toArray();
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.length * BYTES_PER_ELEMENT);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) view.setFloat32(i * 4, data[i]!, true);
    else view.setInt32(i * 4, data[i]!, true);
  }
  return out;
}

/**
 * Encodes tensors (in the order given) and string metadata as a safetensors file image.
 * Throws a TypeError for a bad name, a non-string metadata value, an unsupported dtype or
 * a disposed tensor.
 */
export function encodeSafetensors(tensors: TensorMapLike, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new TypeError(`safetensors metadata '${k}' must be a string, got ${typeof v}`);
    meta[k] = v;
  }
  if (Object.keys(meta).length > 0) header[METADATA_KEY] = meta;

  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entriesOf(tensors)) {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('safetensors: tensor names must be non-empty strings');
    if (name === METADATA_KEY) throw new TypeError(`safetensors: '${METADATA_KEY}' is reserved and cannot name a tensor`);
    if (!(t instanceof Tensor)) throw new TypeError(`safetensors: '${name}' is not a Tensor`);
    const dtype = FROM_LMKIT[t.dtype];
    if (!dtype) throw new TypeError(`safetensors: '${name}' has unsupported dtype ${t.dtype}`);
    if (t.disposed) throw new TypeError(`safetensors: '${name}' (${t.describe()}) has been disposed`);
    const bytes = tensorBytes(t);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }

  let json = JSON.stringify(header);
  let headerBytes = Buffer.from(json, 'utf8');
  const padded = Math.ceil(headerBytes.byteLength / 8) * 8;
  if (padded !== headerBytes.byteLength) {
    json += ' '.repeat(padded - headerBytes.byteLength);
    headerBytes = Buffer.from(json, 'utf8');
  }
  const out = Buffer.allocUnsafe(8 + headerBytes.byteLength + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.byteLength), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.byteLength;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.byteLength;
  }
  return out;
}

/** Writes a safetensors file (plainly, not atomically: see lib/io/checkpoint.ts for that). */
export function writeSafetensors(path: string, tensors: TensorMapLike, metadata: Record<string, string> = {}): void {
  fs.writeFileSync(path, encodeSafetensors(tensors, metadata));
}

// ---- reading ----------------------------------------------------------------------

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Parses and validates the header of a safetensors file image against the image's size.
 * `source` names the input in error messages.
 */
export function parseSafetensorsHeader(buf: Uint8Array, source = '<buffer>', fileBytes = buf.byteLength): SafetensorsHeader {
  const fail = (problem: string): never => {
    throw new SafetensorsError(source, problem);
  };
  if (fileBytes < 8 || buf.byteLength < 8) {
    fail(`file too short (${fileBytes} bytes): it must start with an 8-byte header length`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n64 = view.getBigUint64(0, true);
  const available = fileBytes - 8;
  if (n64 > BigInt(available)) {
    fail(`header length ${n64} is larger than the rest of the file (${available} bytes after the length field)`);
  }
  const n = Number(n64);
  if (n > MAX_HEADER_BYTES) fail(`header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  if (n < 2) fail(`header length ${n} is too small to hold a JSON object`);
  if (buf.byteLength < 8 + n) throw new RangeError(`parseSafetensorsHeader: ${source}: the buffer holds ${buf.byteLength} bytes, the header needs ${8 + n}`);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + n));
  } catch {
    return fail('header is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return fail(`header is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isPlainObject(parsed)) fail('header JSON is not an object');
  const header = parsed as Record<string, unknown>;

  const metadata: Record<string, string> = {};
  if (METADATA_KEY in header) {
    const m = header[METADATA_KEY];
    if (!isPlainObject(m)) fail(`'${METADATA_KEY}' must be an object of strings`);
    for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(`metadata '${k}' must be a string, got ${JSON.stringify(v)}`);
      metadata[k] = v as string;
    }
  }

  const dataLength = available - n;
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    const where = `tensor '${name}'`;
    if (name.length === 0) fail('a tensor has an empty name');
    if (!isPlainObject(raw)) fail(`${where}: entry must be an object with dtype, shape and data_offsets`);
    const e = raw as Record<string, unknown>;
    for (const k of Object.keys(e)) {
      if (k !== 'dtype' && k !== 'shape' && k !== 'data_offsets') fail(`${where}: unexpected field '${k}'`);
    }
    const dtype = e.dtype;
    if (typeof dtype !== 'string') fail(`${where}: missing or non-string dtype`);
    if (!Object.hasOwn(TO_LMKIT, dtype as string)) {
      if (OTHER_FORMAT_DTYPES.has(dtype as string)) fail(`${where}: unsupported dtype '${dtype}' (lmkit reads F32 and I32)`);
      fail(`${where}: unknown dtype '${dtype}'`);
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      fail(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isCount)) {
      fail(`${where}: data_offsets must be [begin, end] with non-negative integers, got ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (begin > end) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLength) {
      fail(`${where}: data_offsets [${begin}, ${end}] run past the end of the data section (${dataLength} bytes)`);
    }
    let numel = 1;
    for (const d of shape as number[]) numel *= d;
    if (!Number.isSafeInteger(numel * BYTES_PER_ELEMENT) || end - begin !== numel * BYTES_PER_ELEMENT) {
      fail(
        `${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype}${formatShape(shape as number[])} needs ` +
          `${numel * BYTES_PER_ELEMENT}`,
      );
    }
    entries.push({ name, dtype: dtype as 'F32' | 'I32', shape: [...(shape as number[])], dataOffsets: [begin, end] });
  }

  // The tensors must tile the data section exactly: no overlap, no gap, nothing after.
  entries.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let expected = 0;
  let previous: SafetensorsEntry | null = null;
  for (const e of entries) {
    const [begin, end] = e.dataOffsets;
    if (begin < expected) {
      fail(`tensor '${e.name}' data_offsets [${begin}, ${end}] overlap tensor '${previous!.name}' (which ends at ${expected})`);
    }
    if (begin > expected) fail(`gap in the data section: bytes [${expected}, ${begin}) belong to no tensor`);
    expected = end;
    previous = e;
  }
  if (expected !== dataLength) {
    fail(`trailing data: ${dataLength - expected} bytes after the last tensor (data section is ${dataLength} bytes, tensors end at ${expected})`);
  }
  return { entries, metadata, dataStart: 8 + n };
}

// The values of entry e (its bytes at start + e.dataOffsets in buf), as a typed array (a view of
// buf when it is aligned and the host is little-endian, else a copy).
function entryData(buf: Uint8Array, start: number, e: SafetensorsEntry): Float32Array | Int32Array {
  const dtype = TO_LMKIT[e.dtype]!;
  const bytes = e.dataOffsets[1] - e.dataOffsets[0];
  const count = bytes / BYTES_PER_ELEMENT;
  const abs = buf.byteOffset + start + e.dataOffsets[0];
  if (LITTLE_ENDIAN_HOST) {
    // Typed-array views need 4-byte alignment: copy when the data is not aligned.
    let src: ArrayBufferLike = buf.buffer;
    let off = abs;
    if (abs % 4 !== 0) {
      const copy = new Uint8Array(bytes);
      copy.set(buf.subarray(start + e.dataOffsets[0], start + e.dataOffsets[1]));
      src = copy.buffer;
      off = 0;
    }
    return dtype === 'float32' ? new Float32Array(src, off, count) : new Int32Array(src, off, count);
  }
  const view = new DataView(buf.buffer, abs, bytes);
  const data = dtype === 'float32' ? new Float32Array(count) : new Int32Array(count);
  for (let i = 0; i < count; i++) {
    data[i] = dtype === 'float32' ? view.getFloat32(i * 4, true) : view.getInt32(i * 4, true);
  }
  return data;
}

// A tensor of entry e holding `data` (its values), named after the entry.
function tensorOf(e: SafetensorsEntry, data: Float32Array | Int32Array): Tensor {
  const t = Tensor.empty(e.shape, TO_LMKIT[e.dtype]!);
  if (data.length > 0) t.storage.write(data);
  t.name = e.name;
  return t;
}

function readTensor(buf: Uint8Array, start: number, e: SafetensorsEntry): Tensor {
  return tensorOf(e, entryData(buf, start, e));
}

/** The decoded contents of a safetensors file: tensors in data order, and metadata. */
export interface SafetensorsContents {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** Decodes a safetensors file image (fully validated first; nothing is allocated on error). */
export function decodeSafetensors(buf: Uint8Array, source = '<buffer>'): SafetensorsContents {
  const header = parseSafetensorsHeader(buf, source);
  const tensors = new Map<string, Tensor>();
  for (const e of header.entries) tensors.set(e.name, readTensor(buf, header.dataStart, e));
  return { tensors, metadata: header.metadata };
}

/**
 * A safetensors file opened for reading one tensor at a time (a model's weights without holding
 * the whole file in memory): the header is read and validated against the file's size at open;
 * `read` reads one entry's bytes from the file into a new Tensor. `close()` when done.
 */
export class SafetensorsFile {
  private fd: number | null;
  private constructor(
    readonly path: string,
    fd: number,
    readonly header: SafetensorsHeader,
  ) {
    this.fd = fd;
  }

  /** Opens and validates `path` (a SafetensorsError names what is wrong; the file is closed then). */
  static open(path: string): SafetensorsFile {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (err) {
      throw new Error(`cannot read safetensors file ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      const size = fs.fstatSync(fd).size;
      const first = Buffer.alloc(Math.min(8, size));
      fs.readSync(fd, first, 0, first.length, 0);
      let headerBytes = first;
      if (size >= 8) {
        const n = Number(first.readBigUInt64LE(0));
        if (n <= MAX_HEADER_BYTES && 8 + n <= size) {
          headerBytes = Buffer.alloc(8 + n);
          fs.readSync(fd, headerBytes, 0, 8 + n, 0);
        }
      }
      return new SafetensorsFile(path, fd, parseSafetensorsHeader(headerBytes, path, size));
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /** The entry named `name`, or undefined. */
  entry(name: string): SafetensorsEntry | undefined {
    return this.header.entries.find((e) => e.name === name);
  }

  /** Reads one tensor (named after its entry) from the file. */
  read(e: SafetensorsEntry): Tensor {
    return tensorOf(e, this.readData(e));
  }

  /** Reads one entry's values from the file into host memory (no native storage). */
  readData(e: SafetensorsEntry): Float32Array | Int32Array {
    if (this.fd === null) throw new Error(`${this.path}: the safetensors file is closed`);
    const bytes = e.dataOffsets[1] - e.dataOffsets[0];
    const buf = new Uint8Array(bytes);
    let done = 0;
    while (done < bytes) {
      const got = fs.readSync(this.fd, buf, done, bytes - done, this.header.dataStart + e.dataOffsets[0] + done);
      if (got === 0) throw new SafetensorsError(this.path, `tensor '${e.name}': the file ended while reading its data (it changed after it was opened?)`);
      done += got;
    }
    return entryData(buf, 0, { ...e, dataOffsets: [0, bytes] });
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** Reads and validates a safetensors file. */
export function readSafetensors(path: string): SafetensorsContents {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read safetensors file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return decodeSafetensors(buf, path);
}
