import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { findInvalidUtf8, loadTextCorpus, splitCorpus } from '../../lib/data/corpus.js';

const root = mkdtempSync(join(tmpdir(), 'lmkit-corpus-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(rel: string, data: string | Uint8Array): string {
  const p = join(root, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, data);
  return p;
}

describe('loadTextCorpus', () => {
  it('reads a single file of any name, dropping a byte-order mark', () => {
    const p = write('one/book.md', '\uFEFFHéllo 日本 😀\n');
    const c = loadTextCorpus(p);
    expect(c.text).toBe('Héllo 日本 😀\n');
    expect(c.files).toEqual([p]);
    expect(c.bytes).toBe(Buffer.byteLength('\uFEFFHéllo 日本 😀\n'));
  });

  it('reads the *.txt files of a folder recursively, in path order, skipping hidden and empty ones', () => {
    write('dir/b.txt', 'B');
    write('dir/a/z.txt', 'AZ');
    write('dir/b/y.TXT', 'BY');
    write('dir/B0.txt', 'upper');
    write('dir/c.md', 'not text');
    write('dir/.hidden.txt', 'hidden');
    write('dir/.git/x.txt', 'hidden too');
    write('dir/empty.txt', '');
    const c = loadTextCorpus(join(root, 'dir'));
    expect(c.files.map((f) => f.slice(join(root, 'dir').length + 1))).toEqual(['B0.txt', 'a/z.txt', 'b.txt', 'b/y.TXT']);
    expect(c.text).toBe('upper\nAZ\nB\nBY');
    expect(loadTextCorpus(join(root, 'dir'), { separator: '', match: /\.(txt|md)$/i }).text).toBe('upperAZBBYnot text');
  });

  it('follows a symbolic-link cycle only once', () => {
    write('loop/x.txt', 'x');
    try {
      symlinkSync(join(root, 'loop'), join(root, 'loop', 'again'));
    } catch {
      return; // no symlinks on this file system
    }
    expect(loadTextCorpus(join(root, 'loop')).text).toBe('x');
  });

  it('rejects invalid UTF-8, naming the file and the byte offset', () => {
    const p = write('bad/ok.txt', 'fine');
    const q = write('bad/zz.txt', Uint8Array.from([0x61, 0x62, 0xc3, 0xa9, 0x20, 0xff, 0x41]));
    expect(() => loadTextCorpus(q)).toThrow(/zz\.txt: invalid UTF-8 at byte offset 5 \(byte 0xff\)/);
    expect(() => loadTextCorpus(join(root, 'bad'))).toThrow(/zz\.txt.*offset 5/);
    expect(() => loadTextCorpus(p)).not.toThrow();
  });

  it('finds the first invalid sequence like the WHATWG decoder', () => {
    const cases: [number[], number][] = [
      [[0x41, 0xe2, 0x82, 0xac], -1], // €
      [[0xf0, 0x9f, 0x98, 0x80], -1], // 😀
      [[0x41, 0x80], 1], // stray continuation
      [[0xc0, 0xaf], 0], // overlong
      [[0xe0, 0x80, 0xaf], 0], // overlong
      [[0xed, 0xa0, 0x80], 0], // surrogate
      [[0xf4, 0x90, 0x80, 0x80], 0], // > U+10FFFF
      [[0x41, 0x42, 0xe2, 0x82], 2], // truncated
      [[0xe2, 0x41, 0x82], 0],
    ];
    for (const [bytes, at] of cases) {
      const u = Uint8Array.from(bytes);
      expect(findInvalidUtf8(u), bytes.join(',')).toBe(at);
      let fatal = false;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(u);
      } catch {
        fatal = true;
      }
      expect(fatal).toBe(at >= 0);
    }
  });

  it('gives clear errors for missing paths, empty files and empty folders', () => {
    expect(() => loadTextCorpus(join(root, 'nope.txt'))).toThrow(/not found.*nope\.txt/);
    expect(() => loadTextCorpus(write('e/empty.txt', ''))).toThrow(/empty\.txt is empty/);
    mkdirSync(join(root, 'void'));
    expect(() => loadTextCorpus(join(root, 'void'))).toThrow(/void has no files matching/);
    expect(() => loadTextCorpus(join(root, 'e'))).toThrow(/only empty files/);
  });
});

describe('splitCorpus', () => {
  it('splits ids 90/5/5 contiguously by default', () => {
    const ids = Int32Array.from({ length: 1000 }, (_, i) => i);
    const s = splitCorpus(ids);
    expect([s.train.length, s.valid.length, s.test.length]).toEqual([900, 50, 50]);
    expect(s.train[899]).toBe(899);
    expect(s.valid[0]).toBe(900);
    expect(s.test[0]).toBe(950);
    const t = splitCorpus(ids, { valid: 0.1, test: 0 });
    expect([t.train.length, t.valid.length, t.test.length]).toEqual([900, 100, 0]);
    expect(() => splitCorpus(ids, { valid: 0.6, test: 0.4 })).toThrow(/below 1/);
    expect(() => splitCorpus(ids, { valid: -0.1 })).toThrow(/fraction/);
  });

  it('splits text without cutting a surrogate pair', () => {
    const text = 'abcdefghijklmnopqr' + '😀' + 'x';
    const s = splitCorpus(text, { valid: 0.05, test: 0.05 });
    expect(s.train + s.valid + s.test).toBe(text);
    // n = 21: valid and test get 1 unit each; the train/valid boundary (19) would cut the
    // emoji, so it moves to 20, leaving valid empty.
    expect([s.train.length, s.valid.length, s.test.length]).toEqual([20, 0, 1]);
    expect(s.train.endsWith('😀')).toBe(true);
    const long = 'w'.repeat(2000);
    const l = splitCorpus(long);
    expect([l.train.length, l.valid.length, l.test.length]).toEqual([1800, 100, 100]);
  });
});
