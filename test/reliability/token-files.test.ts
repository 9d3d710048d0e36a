// Truncated, extended and tampered token files (lib/data/tokenfile.ts) give clear errors
// naming the file and the problem, never wrong tokens or a crash.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TokenFile, TokenFileWriter } from '../../lib/data/tokenfile.js';
import { WordTokenizer } from '../../lib/data/tokenizers.js';
import { Vocab } from '../../lib/data/vocab.js';

let root = '';
let good: Buffer;
const N = 500;
const V = 40;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'lmkit-badtok-'));
  const path = join(root, 'good.bin');
  const tok = new WordTokenizer(new Vocab(['<unk>', ...Array.from({ length: V - 1 }, (_, i) => `w${i}`)]));
  const w = new TokenFileWriter(path, tok);
  w.append(Int32Array.from({ length: N }, (_, i) => (i * 7) % V));
  w.finish();
  good = readFileSync(path);
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function variant(name: string, edit: (b: Buffer) => Buffer): string {
  const p = join(root, name);
  writeFileSync(p, edit(Buffer.from(good)));
  return p;
}

const dataOffset = () => good.length - N * 2;

describe('corrupt token files', () => {
  it('the intact file opens', () => {
    const f = TokenFile.open(join(root, 'good.bin'));
    expect(f.length).toBe(N);
    expect(f.read(N - 1, 1)[0]).toBe(((N - 1) * 7) % V);
    f.close();
  });

  it.each<[string, (b: Buffer) => Buffer, RegExp]>([
    ['empty', () => Buffer.alloc(0), /truncated header/],
    ['header cut', (b) => b.subarray(0, 20), /truncated header/],
    ['data cut', (b) => b.subarray(0, b.length - 1), /truncated: the header says 500 tokens \(1000 bytes of uint16\) but the file holds 999 bytes/],
    ['trailing bytes', (b) => Buffer.concat([b, Buffer.alloc(2)]), /has trailing bytes/],
    ['bad magic', (b) => (b.write('XXXX', 0, 'latin1'), b), /not an lmkit token file/],
    ['future version', (b) => (b.writeUInt32LE(9, 8), b), /unsupported version 9/],
    ['bad width', (b) => (b.writeUInt32LE(3, 12), b), /bad token width 3/],
    ['huge count', (b) => (b.writeBigUInt64LE(1n << 60n, 16), b), /bad token count|truncated/],
    ['count off by one', (b) => (b.writeBigUInt64LE(BigInt(N + 1), 16), b), /truncated/],
    ['json length past the end', (b) => (b.writeUInt32LE(1 << 20, 24), b), /bad tokenizer length/],
    ['zero json length', (b) => (b.writeUInt32LE(0, 24), b), /bad tokenizer length 0/],
    ['json edited', (b) => ((b[40] = b[40]! ^ 1), b), /does not match its checksum/],
  ])('%s', (name, edit, message) => {
    const p = variant(`${name.replace(/ /g, '-')}.bin`, edit);
    expect(() => TokenFile.open(p)).toThrow(message);
    expect(() => TokenFile.open(p)).toThrow(/^token file .*\.bin: /);
  });

  it('a tokenizer JSON that parses but is not a tokenizer (checksum recomputed) is refused', async () => {
    const { crc32 } = await import('node:zlib');
    const p = variant('not-a-tokenizer.bin', (b) => {
      const len = b.readUInt32LE(24);
      const json = Buffer.from(JSON.stringify({ kind: 'nope' }).padEnd(len, ' '));
      json.copy(b, 32);
      b.writeUInt32LE(crc32(json), 28);
      return b;
    });
    expect(() => TokenFile.open(p)).toThrow(/bad tokenizer: .*unknown tokenizer kind "nope"/);
  });

  it('a tampered token id is reported at its position when read', () => {
    const p = variant('bad-id.bin', (b) => (b.writeUInt16LE(60_000, dataOffset() + 2 * 123), b));
    const f = TokenFile.open(p);
    try {
      expect(() => f.read(0, 10)).not.toThrow();
      expect(() => f.read(100, 50)).toThrow(/token 123 has id 60000, outside the vocabulary \(40\); the file is damaged/);
    } finally {
      f.close();
    }
  });

  it('a missing file and a closed file', () => {
    expect(() => TokenFile.open(join(root, 'missing.bin'))).toThrow(/token file .*missing\.bin does not exist/);
    const f = TokenFile.open(join(root, 'good.bin'));
    f.close();
    expect(() => f.read(0, 1)).toThrow(/is closed/);
  });
});
