import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { analogy, exportWord2Vec, nearestNeighbors, readWord2Vec } from '../lib/embeddings.js';
import { Vocab } from '../lib/data/vocab.js';
import { Tensor } from '../lib/tensor.js';
import { randomArray } from './helpers.js';

// A hand-made table with known geometry: axes 0 = royalty, 1 = gender (+ male, - female),
// 2 = fruit, 3 = young, 4 = noise.
const words = ['<unk>', 'king', 'queen', 'man', 'woman', 'prince', 'princess', 'apple', 'pear', 'zero'];
const rows = [
  [0.1, 0.1, 0.1, 0.1, 0.1], // <unk>: close to nothing in particular
  [1, 1, 0, 0, 0.05], // king
  [1, -1, 0, 0, 0.05], // queen
  [0, 1, 0, 0, 0.1], // man
  [0, -1, 0, 0, 0.1], // woman
  [1, 1, 0, 1, 0.1], // prince
  [1, -1, 0, 1, 0.1], // princess
  [0, 0, 1, 0, 0.1], // apple
  [0, 0, 0.9, 0, 0.2], // pear
  [0, 0, 0, 0, 0], // zero vector
];
const vocab = new Vocab(words);
const table = Tensor.fromArray(rows);

const tmp = mkdtempSync(join(tmpdir(), 'lmkit-emb-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  table.dispose();
});

function cos(a: number[], b: number[]): number {
  const dot = a.reduce((s, v, i) => s + v * b[i]!, 0);
  const n = (x: number[]) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));
  return dot / (n(a) * n(b));
}

describe('nearestNeighbors', () => {
  it('ranks by cosine similarity, excluding the word itself and <unk>', () => {
    const nn = nearestNeighbors(table, vocab, 'king', 2);
    expect(nn.map((n) => n.word)).toEqual(['prince', 'man']);
    expect(nn[0]!.similarity).toBeCloseTo(cos(rows[1]!, rows[5]!), 6);
    expect(nn[0]!.id).toBe(5);
    expect(nearestNeighbors(table, vocab, 'apple', 1)[0]!.word).toBe('pear');
    // Every similarity is listed, best first, when k covers the vocabulary; the zero row scores 0.
    const all = nearestNeighbors(table, vocab, 'apple', 100);
    expect(all).toHaveLength(words.length - 2);
    for (let i = 1; i < all.length; i++) expect(all[i - 1]!.similarity).toBeGreaterThanOrEqual(all[i]!.similarity);
    expect(all.find((n) => n.word === 'zero')!.similarity).toBe(0);
    expect(nearestNeighbors(table, vocab, 'apple', 100, { includeUnk: true }).some((n) => n.word === '<unk>')).toBe(true);
  });

  it('unknown words and bad arguments throw clear errors', () => {
    expect(() => nearestNeighbors(table, vocab, 'banana', 3)).toThrow(/unknown word 'banana'/);
    expect(() => nearestNeighbors(table, vocab, 'king', 0)).toThrow(/k must be/);
    const small = Tensor.zeros([3, 5]);
    expect(() => nearestNeighbors(small, vocab, 'king', 1)).toThrow(/3 rows but the vocabulary 10/);
    expect(() => nearestNeighbors(table, vocab, 'king', 1)).not.toThrow();
    small.dispose();
  });
});

describe('analogy', () => {
  it('man : king :: woman : queen (and the reverse), excluding a, b, c', () => {
    expect(analogy(table, vocab, 'man', 'king', 'woman', 1)[0]!.word).toBe('queen');
    expect(analogy(table, vocab, 'woman', 'queen', 'man', 1)[0]!.word).toBe('king');
    expect(analogy(table, vocab, 'king', 'queen', 'prince', 1)[0]!.word).toBe('princess');
    const top = analogy(table, vocab, 'man', 'king', 'woman', 9);
    expect(top.map((n) => n.word)).not.toContain('man');
    expect(top.map((n) => n.word)).not.toContain('king');
    expect(top.map((n) => n.word)).not.toContain('woman');
    expect(() => analogy(table, vocab, 'man', 'kingdom', 'woman')).toThrow(/unknown word 'kingdom'/);
  });
});

describe('exportWord2Vec', () => {
  it('writes "V C" then one line per word, and the values round-trip exactly', () => {
    const path = join(tmp, 'hand.txt');
    exportWord2Vec(table, vocab, path);
    const text = readFileSync(path, 'utf8');
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('10 5');
    expect(lines[2]).toBe('king 1 1 0 0 0.05');
    // Parse it back independently.
    const parsed = lines.slice(1).map((l) => l.split(' '));
    expect(parsed.map((p) => p[0])).toEqual(words);
    parsed.forEach((p, i) => expect(p.slice(1).map(Number).map(Math.fround)).toEqual(rows[i]!.map(Math.fround)));
  });

  it('round-trips random float32 values bit for bit (readWord2Vec)', () => {
    const V = 30;
    const C = 7;
    const data = randomArray(V * C, 4, -3, 3);
    data[0] = 1e-30;
    data[1] = -123456.789;
    const t = Tensor.fromArray(data, [V, C]);
    const v = new Vocab(['<unk>', ...Array.from({ length: V - 1 }, (_, i) => `w${i}`)]);
    const path = join(tmp, 'random.txt');
    exportWord2Vec(t, v, path);
    const back = readWord2Vec(path);
    expect(back.dim).toBe(C);
    expect(back.words).toEqual(v.tokens);
    expect(Array.from(back.vectors)).toEqual(Array.from(data));
    t.dispose();
  });

  it('refuses words with whitespace', () => {
    const t = Tensor.zeros([2, 2]);
    expect(() => exportWord2Vec(t, new Vocab(['<unk>', 'new york']), join(tmp, 'bad.txt'))).toThrow(/whitespace/);
    t.dispose();
  });
});
