import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it, vi } from 'vitest';

import {
  CHECKPOINT_VERSION,
  loadCheckpoint,
  loadModuleState,
  saveCheckpoint,
  saveModuleState,
  type SaveStage,
} from '../../lib/io/checkpoint.js';
import {
  SafetensorsError,
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  writeSafetensors,
} from '../../lib/io/safetensors.js';
import { Embedding, Linear } from '../../lib/nn/layers.js';
import { Module } from '../../lib/nn/module.js';
import { Tensor } from '../../lib/index.js';
import { randomIds, randomTensor } from '../helpers.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lmkit-ckpt-test-'));
let dirCount = 0;
const freshDir = (): string => path.join(root, `d${dirCount++}`);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A file image from a raw header object and data bytes (for malformed inputs). */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): Buffer {
  const json = Buffer.from(headerText ?? JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(8 + json.byteLength + data.byteLength);
  out.writeBigUInt64LE(BigInt(json.byteLength), 0);
  json.copy(out, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

function bitsEqual(a: Float32Array | Int32Array, b: Float32Array | Int32Array): boolean {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function sampleTensors(): Record<string, Tensor> {
  const special = Float32Array.of(NaN, Infinity, -Infinity, -0, 1e-45, 3.4028234663852886e38, 1 / 3);
  return {
    'block.0.weight': randomTensor([3, 5, 7], 1),
    odd: Tensor.fromArray(special, [7]),
    scalar: Tensor.scalar(2.5),
    empty: Tensor.zeros([0, 4]),
    ids: Tensor.fromArray(Int32Array.of(-2147483648, 2147483647, 0, -1, 42, 7), [2, 1, 3], 'int32'),
    'unicode-é→名': randomIds([5], 100, 2),
  };
}

describe('safetensors', () => {
  it('round-trips float32 and int32 tensors of odd shapes bit-exactly, with metadata', () => {
    const src = sampleTensors();
    const meta = { note: 'héllo "quoted" \n 名', empty: '' };
    const file = path.join(freshDir() + '.safetensors');
    writeSafetensors(file, src, meta);
    const { tensors, metadata } = readSafetensors(file);
    expect(metadata).toEqual(meta);
    expect([...tensors.keys()]).toEqual(Object.keys(src));
    for (const [name, t] of Object.entries(src)) {
      const back = tensors.get(name)!;
      expect(back.dtype, name).toBe(t.dtype);
      expect(back.shape, name).toEqual(t.shape);
      expect(bitsEqual(back.toArray(), t.toArray()), name).toBe(true);
    }
  });

  it('writes a file that a minimal independent parser reads', () => {
    const src = sampleTensors();
    const buf = Buffer.from(encodeSafetensors(src, { a: 'b' }));
    const n = Number(buf.readBigUInt64LE(0));
    expect(n % 8).toBe(0); // header padded so data starts 8-aligned
    const text = buf.subarray(8, 8 + n).toString('utf8');
    expect(text.trimEnd().length).toBeGreaterThan(0);
    expect(/^\s*$/.test(text.slice(text.trimEnd().length))).toBe(true);
    const header = JSON.parse(text) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    expect(header.__metadata__).toEqual({ a: 'b' });
    const data = buf.subarray(8 + n);
    let end = 0;
    for (const [name, t] of Object.entries(src)) {
      const e = header[name]!;
      expect(e.dtype).toBe(t.dtype === 'float32' ? 'F32' : 'I32');
      expect(e.shape).toEqual([...t.shape]);
      expect(e.data_offsets[0]).toBe(end);
      end = e.data_offsets[1];
      const view = new DataView(data.buffer, data.byteOffset + e.data_offsets[0], e.data_offsets[1] - e.data_offsets[0]);
      const expected = t.toArray();
      for (let i = 0; i < t.size; i++) {
        const v = e.dtype === 'F32' ? view.getFloat32(4 * i, true) : view.getInt32(4 * i, true);
        expect(Object.is(v, expected[i]) || (Number.isNaN(v) && Number.isNaN(expected[i]!))).toBe(true);
      }
    }
    expect(end).toBe(data.byteLength);
  });

  it('reads data that is not 4-byte aligned (unpadded headers from other writers)', () => {
    const data = new Uint8Array(Float32Array.of(1.5, -2).buffer);
    const buf = rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data); // header length not a multiple of 4
    expect((8 + Number(buf.readBigUInt64LE(0))) % 4).not.toBe(0);
    expect(Array.from(decodeSafetensors(buf).tensors.get('x')!.toArray())).toEqual([1.5, -2]);
  });

  describe('rejects malformed files with a clear error naming the file', () => {
    const good = Buffer.from(encodeSafetensors({ w: Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3]), i: Tensor.fromArray(Int32Array.of(1, 2), [2], 'int32') }));
    const n = Number(good.readBigUInt64LE(0));
    const f32 = new Uint8Array(Float32Array.of(1, 2, 3).buffer);
    const cases: [string, Buffer, RegExp][] = [
      ['empty file', Buffer.alloc(0), /too short \(0 bytes\)/],
      ['truncated length field', good.subarray(0, 5), /too short \(5 bytes\)/],
      ['truncated inside the header', good.subarray(0, 8 + n - 3), /header length \d+ is larger than the rest of the file/],
      ['truncated inside the data', good.subarray(0, good.byteLength - 4), /run past the end of the data section/],
      [
        'tampered header length (too large)',
        (() => {
          const b = Buffer.from(good);
          b.writeBigUInt64LE(BigInt(good.byteLength), 0);
          return b;
        })(),
        /header length \d+ is larger than the rest of the file/,
      ],
      [
        'tampered header length (huge u64)',
        (() => {
          const b = Buffer.from(good);
          b.writeBigUInt64LE(0xffffffffffffffffn, 0);
          return b;
        })(),
        /header length 18446744073709551615 is larger/,
      ],
      [
        'tampered header length (too small)',
        (() => {
          const b = Buffer.from(good);
          b.writeBigUInt64LE(BigInt(n - 8), 0);
          return b;
        })(),
        /not valid JSON/,
      ],
      ['bad JSON', rawFile(null, new Uint8Array(0), '{"w": {"dtype": "F32",'), /header is not valid JSON/],
      ['invalid UTF-8', rawFile(null, new Uint8Array(0), '{"\udc80": 1}').fill(0xff, 10, 11), /not valid UTF-8/],
      ['JSON array', rawFile([1, 2]), /not an object/],
      ['offsets past the end', rawFile({ x: { dtype: 'F32', shape: [3], data_offsets: [4, 16] } }, f32), /'x'.*\[4, 16\] run past the end of the data section \(12 bytes\)/],
      ['offsets not matching the shape', rawFile({ x: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, f32), /'x'.*hold 12 bytes but F32\[2,2\] needs 16/],
      ['dtype of another element size', rawFile({ x: { dtype: 'I64', shape: [3], data_offsets: [0, 12] } }, f32), /unsupported dtype 'I64'/],
      ['half precision', rawFile({ x: { dtype: 'F16', shape: [6], data_offsets: [0, 12] } }, f32), /unsupported dtype 'F16' \(lmkit reads F32 and I32\)/],
      ['unknown dtype', rawFile({ x: { dtype: 'float', shape: [3], data_offsets: [0, 12] } }, f32), /unknown dtype 'float'/],
      ['inherited property as dtype', rawFile({ x: { dtype: 'toString', shape: [3], data_offsets: [0, 12] } }, f32), /unknown dtype 'toString'/],
      ['bad shape', rawFile({ x: { dtype: 'F32', shape: [3.5], data_offsets: [0, 12] } }, f32), /shape must be an array of non-negative integers/],
      ['negative shape', rawFile({ x: { dtype: 'F32', shape: [-3], data_offsets: [0, 12] } }, f32), /shape must be/],
      ['bad offsets', rawFile({ x: { dtype: 'F32', shape: [3], data_offsets: [0] } }, f32), /data_offsets must be \[begin, end\]/],
      ['reversed offsets', rawFile({ x: { dtype: 'F32', shape: [0], data_offsets: [12, 0] } }, f32), /end before they begin/],
      [
        'overlapping tensors',
        rawFile(
          { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
          f32,
        ),
        /'b'.*overlap tensor 'a'/,
      ],
      ['gap', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32), /gap in the data section: bytes \[0, 4\)/],
      ['trailing garbage', Buffer.concat([good, Buffer.from([1, 2, 3])]), /trailing data: 3 bytes after the last tensor/],
      ['missing field', rawFile({ x: { shape: [3], data_offsets: [0, 12] } }, f32), /missing or non-string dtype/],
      ['extra field', rawFile({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 12], extra: 1 } }, f32), /unexpected field 'extra'/],
      ['non-string metadata', rawFile({ __metadata__: { step: 3 } }), /metadata 'step' must be a string/],
    ];
    for (const [what, buf, pattern] of cases) {
      it(what, () => {
        const file = freshDir() + '.safetensors';
        fs.writeFileSync(file, buf);
        let caught: unknown;
        try {
          readSafetensors(file);
        } catch (err) {
          caught = err;
        }
        expect(caught, 'no error thrown').toBeInstanceOf(SafetensorsError);
        const msg = (caught as Error).message;
        expect(msg).toContain(file);
        expect(msg).toMatch(pattern);
      });
    }

    it('a missing file', () => {
      expect(() => readSafetensors(path.join(root, 'nope.safetensors'))).toThrow(/cannot read safetensors file .*nope\.safetensors.*ENOENT/);
    });
  });

  it('rejects bad input when writing', () => {
    expect(() => encodeSafetensors({ __metadata__: Tensor.zeros([1]) })).toThrow(/reserved/);
    expect(() => encodeSafetensors({ '': Tensor.zeros([1]) })).toThrow(/non-empty/);
    expect(() => encodeSafetensors({}, { n: 3 as unknown as string })).toThrow(/metadata 'n' must be a string/);
    const t = Tensor.zeros([2]);
    t.dispose();
    expect(() => encodeSafetensors({ t })).toThrow(/'t'.*disposed/);
  });

  const hasNumpy = (() => {
    try {
      execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  if (!hasNumpy) console.log('skipping the numpy interoperability test: python3 with numpy is not available');
  it.skipIf(!hasNumpy)('is read by an independent Python/numpy parser', () => {
    const src = sampleTensors();
    const file = freshDir() + '.safetensors';
    writeSafetensors(file, src, { who: 'lmkit' });
    const script = `
import json, struct, sys
import numpy as np
raw = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
header = json.loads(raw[8:8 + n].decode('utf-8'))
data = raw[8 + n:]
out = {'__metadata__': header.pop('__metadata__', None)}
for name, e in header.items():
    b, e2 = e['data_offsets']
    dt = {'F32': '<f4', 'I32': '<i4'}[e['dtype']]
    arr = np.frombuffer(data[b:e2], dtype=dt).reshape(e['shape'])
    out[name] = {'shape': list(arr.shape), 'bytes': arr.astype(dt).tobytes().hex()}
print(json.dumps(out))
`;
    const result = JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as Record<
      string,
      { shape: number[]; bytes: string }
    >;
    expect(result.__metadata__).toEqual({ who: 'lmkit' });
    for (const [name, t] of Object.entries(src)) {
      const a = t.toArray();
      expect(result[name]!.shape, name).toEqual([...t.shape]);
      expect(result[name]!.bytes, name).toBe(Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex'));
    }
  });
});

describe('checkpoints', () => {
  const metaOf = (step: number) => ({ config: { vocab: 10, layers: [1, 2] }, step, rng: { seed: 7 }, tokenizer: 'words' });
  const tensorsOf = (step: number) => ({
    w: Tensor.fromArray([step, step + 0.5, -step], [3]),
    'opt.step': Tensor.fromArray(Int32Array.of(step), [1], 'int32'),
  });
  const valuesOf = (dir: string): number[] => Array.from(loadCheckpoint(dir).tensors.get('w')!.toArray());
  const leftovers = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f !== 'model.safetensors' && f !== 'checkpoint.json');

  it('saves and loads tensors and meta; the JSON records version, size and hash', () => {
    const dir = freshDir();
    saveCheckpoint(dir, { tensors: tensorsOf(3), meta: metaOf(3) });
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint.json'), 'utf8'));
    expect(manifest.version).toBe(CHECKPOINT_VERSION);
    expect(manifest.weights.bytes).toBe(fs.statSync(path.join(dir, 'model.safetensors')).size);
    expect(manifest.weights.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.tensors.w).toEqual({ dtype: 'float32', shape: [3] });
    const loaded = loadCheckpoint(dir);
    expect(loaded.meta).toEqual(metaOf(3));
    expect(Array.from(loaded.tensors.get('w')!.toArray())).toEqual([3, 3.5, -3]);
    expect(Array.from(loaded.tensors.get('opt.step')!.toArray())).toEqual([3]);
    expect(leftovers(dir)).toEqual([]);
    // Overwrite with a newer checkpoint.
    saveCheckpoint(dir, { tensors: tensorsOf(4), meta: metaOf(4) });
    expect(valuesOf(dir)).toEqual([4, 4.5, -4]);
    expect(loadCheckpoint(dir).meta.step).toBe(4);
    expect(leftovers(dir)).toEqual([]);
  });

  it('rejects meta that JSON cannot hold', () => {
    const dir = freshDir();
    expect(() => saveCheckpoint(dir, { tensors: {}, meta: { lr: NaN } })).toThrow(/meta\.lr is NaN/);
    expect(() => saveCheckpoint(dir, { tensors: {}, meta: { a: [1, 2n] } })).toThrow(/meta\.a\[1\] is a bigint/);
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(() => saveCheckpoint(dir, { tensors: {}, meta: cyc })).toThrow(/circular/);
    expect(() => saveCheckpoint(dir, { tensors: {}, meta: { when: new Date() } })).toThrow(/meta\.when is a Date/);
    saveCheckpoint(dir, { tensors: {}, meta: { a: 1, b: undefined } });
    expect(loadCheckpoint(dir).meta).toEqual({ a: 1 });
    expect(loadCheckpoint(dir).tensors.size).toBe(0);
  });

  it('detects a weights file that does not match checkpoint.json, and bad JSON', () => {
    const dir = freshDir();
    saveCheckpoint(dir, { tensors: tensorsOf(1), meta: metaOf(1) });
    const wpath = path.join(dir, 'model.safetensors');
    const good = fs.readFileSync(wpath);
    // Same size, one byte flipped (e.g. dtype F32 -> I32 in the header): the hash catches it.
    const tampered = Buffer.from(good.toString('latin1').replace('"F32"', '"I32"'), 'latin1');
    expect(tampered.byteLength).toBe(good.byteLength);
    fs.writeFileSync(wpath, tampered);
    expect(() => loadCheckpoint(dir)).toThrow(/weights do not match checkpoint\.json.*SHA-256/);
    fs.writeFileSync(wpath, good.subarray(0, good.byteLength - 4));
    expect(() => loadCheckpoint(dir)).toThrow(/is \d+ bytes, checkpoint\.json records \d+/);
    fs.writeFileSync(wpath, good);
    const jpath = path.join(dir, 'checkpoint.json');
    const manifest = JSON.parse(fs.readFileSync(jpath, 'utf8'));
    fs.writeFileSync(jpath, JSON.stringify({ ...manifest, version: 99 }));
    expect(() => loadCheckpoint(dir)).toThrow(/version 99, newer than this lmkit reads/);
    fs.writeFileSync(jpath, JSON.stringify({ ...manifest, version: undefined }));
    expect(() => loadCheckpoint(dir)).toThrow(/no integer 'version'/);
    fs.writeFileSync(jpath, JSON.stringify({ ...manifest, weights: { ...manifest.weights, file: '../x' } }));
    expect(() => loadCheckpoint(dir)).toThrow(/not a plain file name/);
    fs.writeFileSync(jpath, '{"format": ');
    expect(() => loadCheckpoint(dir)).toThrow(/checkpoint\.json is not valid JSON/);
    expect(() => loadCheckpoint(freshDir())).toThrow(/no checkpoint in .*checkpoint\.json not found/);
  });

  it('ignores stale and half-written temporary files, and the next save removes them', () => {
    const dir = freshDir();
    saveCheckpoint(dir, { tensors: tensorsOf(1), meta: metaOf(1) });
    const half = encodeSafetensors(tensorsOf(2));
    fs.writeFileSync(path.join(dir, 'model.safetensors.tmp-123-dead'), half.subarray(0, half.byteLength >> 1));
    fs.writeFileSync(path.join(dir, 'checkpoint.json.tmp-123-dead'), '{"format": "lmkit-chec');
    expect(valuesOf(dir)).toEqual([1, 1.5, -1]);
    saveCheckpoint(dir, { tensors: tensorsOf(2), meta: metaOf(2) });
    expect(valuesOf(dir)).toEqual([2, 2.5, -2]);
    expect(leftovers(dir)).toEqual([]);
  });

  it.each<SaveStage>(['write-temp', 'preserve-previous', 'rename-weights', 'rename-meta'])(
    'a save interrupted before stage %s leaves the previous checkpoint loadable',
    (stage) => {
      const dir = freshDir();
      saveCheckpoint(dir, { tensors: tensorsOf(1), meta: metaOf(1) });
      const crash = (s: SaveStage): void => {
        if (s === stage) throw new Error(`simulated crash before ${s}`);
      };
      expect(() => saveCheckpoint(dir, { tensors: tensorsOf(2), meta: metaOf(2) }, { onStage: crash })).toThrow(/simulated crash/);
      const loaded = loadCheckpoint(dir);
      expect(loaded.meta.step).toBe(1);
      expect(Array.from(loaded.tensors.get('w')!.toArray())).toEqual([1, 1.5, -1]);
      // The next save recovers fully.
      saveCheckpoint(dir, { tensors: tensorsOf(3), meta: metaOf(3) });
      expect(valuesOf(dir)).toEqual([3, 3.5, -3]);
      expect(leftovers(dir)).toEqual([]);
    },
  );

  it('a failing rename of checkpoint.json (after the weights were replaced) leaves the previous checkpoint loadable', () => {
    const dir = freshDir();
    saveCheckpoint(dir, { tensors: tensorsOf(1), meta: metaOf(1) });
    const real = fs.renameSync;
    const spy = vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      if (String(to).endsWith('checkpoint.json')) throw Object.assign(new Error('EIO: simulated rename failure'), { code: 'EIO' });
      real(from, to);
    });
    try {
      expect(() => saveCheckpoint(dir, { tensors: tensorsOf(2), meta: metaOf(2) })).toThrow(/simulated rename failure/);
    } finally {
      spy.mockRestore();
    }
    // model.safetensors now holds the new weights, checkpoint.json the old meta: the mismatch
    // is detected and the preserved previous weights are read instead.
    expect(fs.readFileSync(path.join(dir, 'model.safetensors'))).toEqual(encodeSafetensors(tensorsOf(2), { format: 'lmkit', checkpoint_version: '1' }));
    const loaded = loadCheckpoint(dir);
    expect(loaded.meta.step).toBe(1);
    expect(loaded.weightsPath.endsWith('model.safetensors.prev')).toBe(true);
    expect(Array.from(loaded.tensors.get('w')!.toArray())).toEqual([1, 1.5, -1]);
  });

  it('repeated interrupted saves still keep the last committed checkpoint', () => {
    const dir = freshDir();
    saveCheckpoint(dir, { tensors: tensorsOf(1), meta: metaOf(1) });
    const crashAtCommit = (s: SaveStage): void => {
      if (s === 'rename-meta') throw new Error('simulated crash');
    };
    for (const step of [2, 3, 4]) {
      expect(() => saveCheckpoint(dir, { tensors: tensorsOf(step), meta: metaOf(step) }, { onStage: crashAtCommit })).toThrow();
      expect(valuesOf(dir)).toEqual([1, 1.5, -1]);
    }
    // A crash in cleanup (after the commit) keeps the new checkpoint.
    saveCheckpoint(dir, { tensors: tensorsOf(5), meta: metaOf(5) }, { onStage: (s) => { if (s === 'cleanup') throw new Error('x'); } });
    expect(valuesOf(dir)).toEqual([5, 5.5, -5]);
    expect(loadCheckpoint(dir).meta.step).toBe(5);
  });
});

class TinyLM extends Module {
  readonly embed: Embedding;
  readonly out: Linear;
  constructor(seed: number, dim = 4) {
    super();
    this.embed = this.module('embed', new Embedding(11, dim, { seed }));
    this.out = this.module('out', new Linear(dim, 11, { seed: seed + 10 }));
  }
  forward(ids: Tensor): Tensor {
    return this.out.forward(this.embed.forward(ids));
  }
}

describe('module state', () => {
  it('restores Linear and Embedding parameters exactly through a checkpoint', () => {
    const a = new TinyLM(1);
    const b = new TinyLM(2);
    const dir = freshDir();
    const state = saveModuleState(a);
    expect(Object.keys(state)).toEqual(['embed.weight', 'out.weight', 'out.bias']);
    saveCheckpoint(dir, { tensors: state, meta: { step: 1 } });
    const ids = Tensor.fromArray(Int32Array.of(1, 5, 10), [3], 'int32');
    expect(bitsEqual(a.forward(ids).toArray(), b.forward(ids).toArray())).toBe(false);
    const loaded = loadModuleState(b, loadCheckpoint(dir).tensors);
    expect(loaded).toEqual(['embed.weight', 'out.weight', 'out.bias']);
    for (const [[na, pa], [nb, pb]] of a.namedParameters().map((p, i) => [p, b.namedParameters()[i]!] as const)) {
      expect(nb).toBe(na);
      expect(bitsEqual(pa.toArray(), pb.toArray()), na).toBe(true);
    }
    expect(bitsEqual(a.forward(ids).toArray(), b.forward(ids).toArray())).toBe(true);
    // With a prefix (e.g. a checkpoint that also holds optimizer state).
    const c = new TinyLM(3);
    const prefixed = { ...saveModuleState(a, 'model.'), 'optim.m.0': Tensor.zeros([2]) };
    loadModuleState(c, prefixed, { prefix: 'model.' });
    expect(bitsEqual(c.out.weight.toArray(), a.out.weight.toArray())).toBe(true);
    a.dispose();
    b.dispose();
    c.dispose();
  });

  it('rejects missing, extra and mismatched tensors without changing the module', () => {
    const m = new TinyLM(1);
    const before = m.parameters().map((p) => p.toArray());
    const state = saveModuleState(new TinyLM(2));
    const bad = { ...state, 'out.weight': Tensor.zeros([11, 5]) };
    expect(() => loadModuleState(m, bad)).toThrow(/'out\.weight' is float32\[11,5\] but the parameter is float32\[11,4\]/);
    const wrongDtype = { ...state, 'out.bias': Tensor.zeros([11], 'int32') };
    expect(() => loadModuleState(m, wrongDtype)).toThrow(/'out\.bias' is int32\[11\] but the parameter is float32\[11\]/);
    const { 'out.bias': _dropped, ...missing } = state;
    expect(() => loadModuleState(m, missing)).toThrow(/missing 'out\.bias' \(float32\[11\]\)/);
    const extra = { ...state, 'head.weight': Tensor.zeros([2]) };
    expect(() => loadModuleState(m, extra)).toThrow(/unexpected 'head\.weight'/);
    expect(loadModuleState(m, extra, { strict: false })).toHaveLength(3);
    // A failed load copied nothing.
    const m2 = new TinyLM(1);
    expect(() => loadModuleState(m2, { ...state, 'out.weight': Tensor.zeros([11, 5]) })).toThrow();
    m2.parameters().forEach((p, i) => expect(bitsEqual(p.toArray(), before[i]!)).toBe(true));
    // Shape mismatch of the whole model (different width).
    expect(() => loadModuleState(new TinyLM(1, 6), state)).toThrow(/embed\.weight.*float32\[11,4\] but the parameter is float32\[11,6\]/);
  });
});
