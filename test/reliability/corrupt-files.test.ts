// Corrupt inputs on disk: every truncation and seeded byte flips of a safetensors file,
// damaged checkpoint.json files and corrupt tokenizer JSON give a clear error (or, where
// the format cannot tell, a checkpoint's hash does) — never a crash, a non-Error throw, or a
// model loaded silently wrong. Complements test/io/checkpoint.test.ts (hand-made cases).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  BpeTokenizer,
  CharTokenizer,
  SafetensorsError,
  SafetensorsFile,
  Tensor,
  WordTokenizer,
  decodeSafetensors,
  encodeSafetensors,
  loadCheckpoint,
  makeRng,
  memory,
  saveCheckpoint,
  tokenizerFromJSON,
} from '../../lib/index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lmkit-corrupt-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => path.join(root, `d${dirs++}`);

function sampleTensors(): Record<string, Tensor> {
  return {
    'layer.weight': Tensor.fromArray([1, -2, 3.5, 4, 5, 6], [2, 3]),
    'layer.bias': Tensor.fromArray([0.25, -0.5, 1]),
    ids: Tensor.fromArray(Int32Array.of(7, -8), [2], 'int32'),
    empty: Tensor.zeros([0, 4]),
  };
}

/** Runs fn; returns what it threw (null when it returned). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
    return null;
  } catch (err) {
    return err;
  }
}

describe('safetensors: truncations and byte flips', () => {
  const tensors = sampleTensors();
  const good = Buffer.from(encodeSafetensors(tensors, { note: 'x' }));

  it('every truncation of a valid file is rejected with a SafetensorsError, and nothing is allocated', () => {
    const before = memory();
    for (let len = 0; len < good.byteLength; len++) {
      const err = thrown(() => decodeSafetensors(good.subarray(0, len), 'cut.safetensors'));
      expect(err, `truncated to ${len} bytes`).toBeInstanceOf(SafetensorsError);
      expect((err as Error).message).toContain('cut.safetensors');
    }
    expect(memory().storages).toBe(before.storages);
  });

  it('SafetensorsFile (one tensor at a time, as loadPretrained reads): the same tensors, and every truncation refused at open with the same problem', () => {
    const file = path.join(freshDir() + '.safetensors');
    fs.writeFileSync(file, good);
    const f = SafetensorsFile.open(file);
    try {
      for (const [name, t] of Object.entries(tensors)) {
        const got = f.read(f.entry(name)!);
        expect(got.dtype).toBe(t.dtype);
        expect(got.shape).toEqual(t.shape);
        expect(Array.from(got.toArray())).toEqual(Array.from(t.toArray()));
        got.dispose();
      }
      expect(f.entry('nope')).toBeUndefined();
    } finally {
      f.close();
    }
    expect(() => f.read(f.header.entries[0]!)).toThrow(/closed/);
    const before = memory();
    for (let len = 0; len < good.byteLength; len++) {
      fs.writeFileSync(file, good.subarray(0, len));
      const whole = thrown(() => decodeSafetensors(good.subarray(0, len), file));
      const opened = thrown(() => SafetensorsFile.open(file).close());
      expect(opened, `truncated to ${len} bytes`).toBeInstanceOf(SafetensorsError);
      expect((opened as SafetensorsError).problem).toBe((whole as SafetensorsError).problem);
    }
    expect(memory().storages).toBe(before.storages);
  });

  it('seeded byte flips in the header: a SafetensorsError or a file that is consistent with its header', () => {
    const r = makeRng(99);
    const headerEnd = 8 + Number(good.readBigUInt64LE(0));
    let rejected = 0;
    for (let trial = 0; trial < 1500; trial++) {
      const buf = Buffer.from(good);
      const flips = 1 + Math.floor(r() * 3);
      for (let f = 0; f < flips; f++) {
        const pos = Math.floor(r() * headerEnd);
        buf[pos] = r() < 0.5 ? buf[pos]! ^ (1 << Math.floor(r() * 8)) : Math.floor(r() * 256);
      }
      const err = thrown(() => {
        const { tensors: out } = decodeSafetensors(buf);
        // Accepted: then every tensor must be fully backed by the file.
        let bytes = 0;
        for (const t of out.values()) {
          bytes += t.size * 4;
          expect(t.toArray().length).toBe(t.size);
          t.dispose();
        }
        expect(bytes).toBeLessThanOrEqual(buf.byteLength);
      });
      if (err !== null) {
        expect(err, `trial ${trial}: ${String(err)}`).toBeInstanceOf(SafetensorsError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(1000);
  });

  it('a checkpoint detects any flipped byte of its weights (the format alone cannot)', () => {
    const dir = freshDir();
    saveCheckpoint(dir, { tensors, meta: { step: 1 } });
    const wpath = path.join(dir, 'model.safetensors');
    const orig = fs.readFileSync(wpath);
    const dataStart = 8 + Number(orig.readBigUInt64LE(0));
    // A flip in the data section still decodes (no checksum in safetensors)...
    const flipped = Buffer.from(orig);
    flipped[dataStart + 1]! ^= 0x40;
    expect(() => decodeSafetensors(flipped).tensors.forEach((t) => t.dispose())).not.toThrow();
    // ...but never loads as a checkpoint, wherever the byte is.
    const r = makeRng(5);
    for (let k = 0; k < 40; k++) {
      const buf = Buffer.from(orig);
      const pos = k === 0 ? buf.byteLength - 1 : Math.floor(r() * buf.byteLength);
      buf[pos]! ^= 1 << Math.floor(r() * 8);
      fs.writeFileSync(wpath, buf);
      expect(() => loadCheckpoint(dir), `flip at ${pos}`).toThrow(/weights do not match checkpoint\.json/);
    }
    fs.writeFileSync(wpath, orig);
    const loaded = loadCheckpoint(dir);
    expect(Array.from(loaded.tensors.get('layer.weight')!.toArray())).toEqual([1, -2, 3.5, 4, 5, 6]);
    for (const t of loaded.tensors.values()) t.dispose();
  });
});

describe('checkpoint.json: damaged manifests', () => {
  const tensors = sampleTensors();
  const dir = freshDir();
  const manifest = saveCheckpoint(dir, { tensors, meta: { step: 3, vocab: ['a', 'b'] } });
  const jpath = path.join(dir, 'checkpoint.json');
  const text = fs.readFileSync(jpath, 'utf8');

  /** Writes `content` as checkpoint.json and expects loadCheckpoint to throw an Error matching `pattern`. */
  function expectRejected(content: string, pattern: RegExp, what: string): void {
    fs.writeFileSync(jpath, content);
    const err = thrown(() => loadCheckpoint(dir));
    expect(err, `${what}: loaded`).toBeInstanceOf(Error);
    expect((err as Error).message, what).toMatch(pattern);
    expect((err as Error).message, what).toContain(dir);
  }

  it('every truncation of checkpoint.json is rejected naming the directory', () => {
    for (let len = 0; len < text.length; len += 3) {
      expectRejected(text.slice(0, len), /invalid checkpoint|not valid JSON/, `truncated to ${len}`);
    }
    fs.writeFileSync(jpath, text);
    expect(loadCheckpoint(dir).meta).toEqual({ step: 3, vocab: ['a', 'b'] });
  });

  const cases: [string, unknown, RegExp][] = [
    ['null', null, /not a JSON object/],
    ['an array', [manifest], /not a JSON object/],
    ['a string', 'lmkit-checkpoint', /not a JSON object/],
    ['another format', { ...manifest, format: 'pytorch' }, /format "pytorch"/],
    ['no format', { ...manifest, format: undefined }, /format undefined/],
    ['version 0', { ...manifest, version: 0 }, /invalid version 0/],
    ['version 1.5', { ...manifest, version: 1.5 }, /no integer 'version'/],
    ['version "1"', { ...manifest, version: '1' }, /no integer 'version'/],
    ['no weights record', { ...manifest, weights: undefined }, /'weights' must be/],
    ['weights bytes not a number', { ...manifest, weights: { ...manifest.weights, bytes: '12' } }, /'weights' must be/],
    ['weights bytes unsafe', { ...manifest, weights: { ...manifest.weights, bytes: 2 ** 60 } }, /'weights' must be/],
    ['sha256 not hex', { ...manifest, weights: { ...manifest.weights, sha256: 'z'.repeat(64) } }, /'weights' must be/],
    ['sha256 short', { ...manifest, weights: { ...manifest.weights, sha256: 'ab' } }, /'weights' must be/],
    ['wrong size recorded', { ...manifest, weights: { ...manifest.weights, bytes: manifest.weights.bytes + 1 } }, /checkpoint\.json records/],
    ['wrong hash recorded', { ...manifest, weights: { ...manifest.weights, sha256: '0'.repeat(64) } }, /SHA-256/],
    ['weights file is a path', { ...manifest, weights: { ...manifest.weights, file: 'sub/model.safetensors' } }, /not a plain file name/],
    ['weights file empty', { ...manifest, weights: { ...manifest.weights, file: '' } }, /not a plain file name/],
    ['weights file ".."', { ...manifest, weights: { ...manifest.weights, file: '..' } }, /not a plain file name/],
    ['weights file missing', { ...manifest, weights: { ...manifest.weights, file: 'other.safetensors' } }, /other\.safetensors not found/],
    ['meta missing', { ...manifest, meta: undefined }, /'meta' must be an object/],
    ['meta an array', { ...manifest, meta: [1] }, /'meta' must be an object/],
    ['tensors null', { ...manifest, tensors: null }, /'tensors' must be an object/],
  ];
  for (const [what, value, pattern] of cases) {
    it(`rejects ${what}`, () => expectRejected(JSON.stringify(value), pattern, what));
  }

  it('rejects a BOM, binary garbage and a directory in place of checkpoint.json', () => {
    expectRejected('\u0000\u0001\u0002', /not valid JSON/, 'binary');
    expectRejected('{"format":"lmkit-checkpoint"'.repeat(3), /not valid JSON/, 'garbage');
    fs.rmSync(jpath);
    fs.mkdirSync(jpath);
    const err = thrown(() => loadCheckpoint(dir));
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/cannot read .*checkpoint\.json/);
    fs.rmdirSync(jpath);
    fs.writeFileSync(jpath, text);
  });

  it('a weights file replaced by an empty file or a directory is rejected', () => {
    const wpath = path.join(dir, 'model.safetensors');
    const orig = fs.readFileSync(wpath);
    fs.writeFileSync(wpath, '');
    expect(() => loadCheckpoint(dir)).toThrow(/is 0 bytes, checkpoint\.json records/);
    fs.rmSync(wpath);
    expect(() => loadCheckpoint(dir)).toThrow(/model\.safetensors not found/);
    fs.mkdirSync(wpath);
    expect(() => loadCheckpoint(dir)).toThrow(/invalid checkpoint/);
    fs.rmdirSync(wpath);
    fs.writeFileSync(wpath, orig);
    const ok = loadCheckpoint(dir);
    expect(ok.tensors.size).toBe(4);
    for (const t of ok.tensors.values()) t.dispose();
  });
});

describe('tokenizer JSON: corrupt inputs', () => {
  const rejected: [string, unknown, RegExp][] = [
    ['null', null, /expected an object/],
    ['a string', 'char', /expected an object/],
    ['no kind', {}, /unknown tokenizer kind/],
    ['an unknown kind', { kind: 'sentencepiece' }, /unknown tokenizer kind "sentencepiece"/],
    ['char: no chars', { kind: 'char' }, /not a char tokenizer/],
    ['char: chars a string', { kind: 'char', chars: '<unk>ab' }, /not a char tokenizer/],
    ['char: empty chars', { kind: 'char', chars: [] }, /<unk>/],
    ['char: a number entry', { kind: 'char', chars: ['<unk>', 5] }, /entry 1.*not a single code point/],
    ['char: a two-character entry', { kind: 'char', chars: ['<unk>', 'ab'] }, /not a single code point/],
    ['char: a repeated character', { kind: 'char', chars: ['<unk>', 'a', 'a'] }, /repeated/],
    ['word: no tokens', { kind: 'word' }, /not a word tokenizer/],
    ['word: no <unk>', { kind: 'word', tokens: ['a', 'b'] }, /<unk>/],
    ['word: a repeated token', { kind: 'word', tokens: ['<unk>', 'a', 'a'] }, /repeat/],
    ['bpe: no merges', { kind: 'bpe', maxChunk: 64 }, /not a BPE tokenizer/],
    ['bpe: odd merge list', { kind: 'bpe', merges: [1, 2, 3], maxChunk: 64 }, /pairs/],
    ['bpe: a merge of an undefined id', { kind: 'bpe', merges: [1, 300], maxChunk: 64 }, /not yet defined/],
    ['bpe: a negative id', { kind: 'bpe', merges: [-1, 2], maxChunk: 64 }, /not a token id|not yet defined/],
    ['bpe: a repeated merge', { kind: 'bpe', merges: [1, 2, 1, 2], maxChunk: 64 }, /repeated/],
    ['bpe: maxChunk 0', { kind: 'bpe', merges: [1, 2], maxChunk: 0 }, /maxChunk/],
    ['bpe: maxChunk a string', { kind: 'bpe', merges: [1, 2], maxChunk: 'x' }, /maxChunk/],
  ];
  for (const [what, json, pattern] of rejected) {
    it(`rejects ${what}`, () => {
      const err = thrown(() => tokenizerFromJSON(json as never));
      expect(err, 'accepted').toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(pattern);
    });
  }

  it('every truncation of a saved tokenizer file fails to parse (JSON.parse) rather than half-loading', () => {
    for (const tok of [CharTokenizer.build('hello world'), WordTokenizer.build('a b c a'), BpeTokenizer.train('abababab cdcd', { vocabSize: 260, minFrequency: 1 })]) {
      const text = JSON.stringify(tok.toJSON());
      for (let len = 0; len < text.length; len++) {
        const err = thrown(() => tokenizerFromJSON(JSON.parse(text.slice(0, len))));
        expect(err, `${tok.kind} truncated to ${len}`).toBeInstanceOf(Error);
      }
      const back = tokenizerFromJSON(JSON.parse(text));
      expect(Array.from(back.encode('hello abab'))).toEqual(Array.from(tok.encode('hello abab')));
    }
  });

  // Fields of the wrong type (they once loaded silently as a different tokenizer).
  const wrongTypes: [string, unknown][] = [
    ['word: non-string tokens', { kind: 'word', tokens: ['<unk>', 5, null] }],
    ['word: lowercase not a boolean', { kind: 'word', tokens: ['<unk>', 'a'], lowercase: 'yes' }],
    ['gpt2: allowSpecial "no" (a truthy string)', { kind: 'gpt2', allowSpecial: 'no' }],
    ['bpe: a non-integer id (1.5)', { kind: 'bpe', merges: [1.5, 2], maxChunk: 64 }],
    ['bpe: string ids', { kind: 'bpe', merges: ['1', '2'], maxChunk: 64 }],
    ['bpe: an id past int32 (2^32 + 1)', { kind: 'bpe', merges: [2 ** 32 + 1, 2], maxChunk: 64 }],
  ];
  for (const [what, json] of wrongTypes) {
    it(`rejects ${what}`, () => {
      expect(() => tokenizerFromJSON(json as never)).toThrow(/tokenizer/);
    });
  }
});
