// Queries on a learned word-embedding matrix (V, C) with its vocabulary (row i = vocab.tokens[i]):
//   nearestNeighbors(table, vocab, word, k)      the k words of highest cosine similarity
//   analogy(table, vocab, a, b, c, k)            a : b :: c : ?  by cosine to (b - a + c)
//   exportWord2Vec(table, vocab, path)           the word2vec text format ("V C", then "word v1 .. vC")
//   readWord2Vec(path)                           parses that format back
// The query word(s) are never returned, nor (by default) <unk>. Rows of zero norm have
// similarity 0. The table is read once per call (V*C floats) and scanned in JS: O(V C).
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

import { Vocab } from './data/vocab.js';
import { Tensor } from './tensor.js';

export interface Neighbor {
  word: string;
  id: number;
  /** Cosine similarity in [-1, 1]. */
  similarity: number;
}

export interface NeighborOptions {
  /** Also return <unk> (id 0). Default false. */
  includeUnk?: boolean;
}

function checkTable(who: string, table: Tensor, vocab: Vocab): { V: number; C: number; data: Float32Array } {
  if (!(table instanceof Tensor)) throw new TypeError(`${who}: table must be a Tensor (V,C)`);
  if (!(vocab instanceof Vocab)) throw new TypeError(`${who}: vocab must be a Vocab`);
  if (table.dtype !== 'float32' || table.rank !== 2) {
    throw new RangeError(`${who}: table must be a float32 matrix (V,C), got ${table.describe()}`);
  }
  const [V, C] = table.shape as [number, number];
  if (V !== vocab.size) throw new RangeError(`${who}: the table has ${V} rows but the vocabulary ${vocab.size} words`);
  return { V, C, data: table.toArray() as Float32Array };
}

function wordId(who: string, vocab: Vocab, word: string): number {
  if (typeof word !== 'string') throw new TypeError(`${who}: words must be strings, got ${typeof word}`);
  const id = vocab.id(word);
  if (vocab.tokens[id] !== word) throw new RangeError(`${who}: unknown word '${word}' (not in the vocabulary of ${vocab.size} words)`);
  return id;
}

function checkK(who: string, k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`${who}: k must be a positive integer, got ${String(k)}`);
}

function rowNorms(data: Float32Array, V: number, C: number): Float64Array {
  const norms = new Float64Array(V);
  for (let i = 0; i < V; i++) {
    let s = 0;
    for (let j = 0, o = i * C; j < C; j++, o++) s += data[o]! * data[o]!;
    norms[i] = Math.sqrt(s);
  }
  return norms;
}

// The k rows most cosine-similar to `query` (C), skipping `exclude`; best first, ties by id.
function topCosine(data: Float32Array, V: number, C: number, query: Float64Array, exclude: Set<number>, k: number, vocab: Vocab): Neighbor[] {
  let qn = 0;
  for (let j = 0; j < C; j++) qn += query[j]! * query[j]!;
  qn = Math.sqrt(qn);
  const norms = rowNorms(data, V, C);
  const best: { id: number; sim: number }[] = [];
  for (let i = 0; i < V; i++) {
    if (exclude.has(i)) continue;
    let dot = 0;
    for (let j = 0, o = i * C; j < C; j++, o++) dot += data[o]! * query[j]!;
    const den = norms[i]! * qn;
    const sim = den > 0 ? dot / den : 0;
    if (best.length === k && sim <= best[k - 1]!.sim) continue;
    // Insertion into a sorted list of at most k (k is small).
    let p = best.length;
    while (p > 0 && best[p - 1]!.sim < sim) p--;
    best.splice(p, 0, { id: i, sim });
    if (best.length > k) best.pop();
  }
  return best.map(({ id, sim }) => ({ word: vocab.tokens[id]!, id, similarity: sim }));
}

function excluded(opts: NeighborOptions, ids: number[]): Set<number> {
  const s = new Set(ids);
  if (!opts.includeUnk) s.add(0);
  return s;
}

/** The k words closest to `word` by cosine similarity (the word itself excluded). */
export function nearestNeighbors(table: Tensor, vocab: Vocab, word: string, k = 10, opts: NeighborOptions = {}): Neighbor[] {
  const who = 'nearestNeighbors';
  const { V, C, data } = checkTable(who, table, vocab);
  checkK(who, k);
  const id = wordId(who, vocab, word);
  const q = Float64Array.from(data.subarray(id * C, (id + 1) * C));
  return topCosine(data, V, C, q, excluded(opts, [id]), k, vocab);
}

/**
 * a : b :: c : ?  -- the k words closest by cosine to b - a + c (each of a, b, c normalised to
 * unit length first, as in word2vec's analogy tool), a, b and c excluded.
 */
export function analogy(table: Tensor, vocab: Vocab, a: string, b: string, c: string, k = 1, opts: NeighborOptions = {}): Neighbor[] {
  const who = 'analogy';
  const { V, C, data } = checkTable(who, table, vocab);
  checkK(who, k);
  const ids = [a, b, c].map((w) => wordId(who, vocab, w)) as [number, number, number];
  const norms = rowNorms(data, V, C);
  const q = new Float64Array(C);
  const signs = [-1, 1, 1];
  ids.forEach((id, n) => {
    const s = norms[id]! > 0 ? signs[n]! / norms[id]! : 0;
    for (let j = 0; j < C; j++) q[j]! += s * data[id * C + j]!;
  });
  return topCosine(data, V, C, q, excluded(opts, ids), k, vocab);
}

/** The shortest decimal that reads back as the same float32. */
function formatFloat32(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  for (let p = 1; p < 9; p++) {
    const s = x.toPrecision(p);
    if (Math.fround(Number(s)) === x) return String(Number(s));
  }
  return String(Number(x.toPrecision(9)));
}

/**
 * Writes the word2vec text format: a first line "V C", then one line per word:
 * "word v1 ... vC" (space separated; the values read back as the same float32). Words with
 * whitespace cannot be written in this format and throw.
 */
export function exportWord2Vec(table: Tensor, vocab: Vocab, path: string): void {
  const who = 'exportWord2Vec';
  const { V, C, data } = checkTable(who, table, vocab);
  vocab.tokens.forEach((w, i) => {
    if (w.length === 0 || /\s/.test(w)) throw new RangeError(`${who}: word ${i} ('${w}') is empty or holds whitespace`);
  });
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, `${V} ${C}\n`);
    let chunk: string[] = [];
    for (let i = 0; i < V; i++) {
      const parts = [vocab.tokens[i]!];
      for (let j = 0; j < C; j++) parts.push(formatFloat32(data[i * C + j]!));
      chunk.push(parts.join(' '));
      if (chunk.length === 1024 || i === V - 1) {
        writeSync(fd, chunk.join('\n') + '\n');
        chunk = [];
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Parses a word2vec text file: its words and a (V*C) row-major Float32Array of vectors. */
export function readWord2Vec(path: string): { words: string[]; dim: number; vectors: Float32Array } {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim().length > 0);
  const header = (lines[0] ?? '').trim().split(/\s+/).map(Number);
  const [V, C] = header as [number, number];
  if (header.length !== 2 || !Number.isInteger(V) || !Number.isInteger(C) || V < 0 || C < 0) {
    throw new RangeError(`readWord2Vec: ${path}: the first line must be "V C", got '${lines[0] ?? ''}'`);
  }
  if (lines.length - 1 !== V) throw new RangeError(`readWord2Vec: ${path}: the header says ${V} words, the file holds ${lines.length - 1}`);
  const words: string[] = [];
  const vectors = new Float32Array(V * C);
  for (let i = 0; i < V; i++) {
    const parts = lines[i + 1]!.trim().split(/\s+/);
    if (parts.length !== C + 1) throw new RangeError(`readWord2Vec: ${path}: line ${i + 2} has ${parts.length - 1} values, expected ${C}`);
    words.push(parts[0]!);
    for (let j = 0; j < C; j++) vectors[i * C + j] = Number(parts[j + 1]);
  }
  return { words, dim: C, vectors };
}
