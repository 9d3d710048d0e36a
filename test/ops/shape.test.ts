import { describe, expect, it } from 'vitest';

import { native } from '../../lib/native/index.js';
import { concat, permute, slice, split, transpose } from '../../lib/ops/shape.js';
import { Tensor, makeRng } from '../../lib/tensor.js';
import { gradCheck, randomTensor } from '../helpers.js';

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    st[d] = s;
    s *= shape[d]!;
  }
  return st;
}

/** Reference permute: out dim d is input dim perm[d]. */
function refPermute(x: ArrayLike<number>, shape: number[], perm: number[]): number[] {
  const outShape = perm.map((p) => shape[p]!);
  const ist = stridesOf(shape);
  const ost = stridesOf(outShape);
  const out: number[] = [];
  for (let k = 0; k < size(outShape); k++) {
    let j = 0;
    for (let d = 0; d < perm.length; d++) j += Math.floor(k / ost[d]!) % outShape[d]! * ist[perm[d]!]!;
    out.push(x[j]!);
  }
  return out;
}

/** Reference slice along an axis. */
function refSlice(x: ArrayLike<number>, shape: number[], axis: number, s: number, e: number): number[] {
  const outer = size(shape.slice(0, axis));
  const C = shape[axis]!;
  const inner = size(shape.slice(axis + 1));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (let c = s; c < e; c++) for (let i = 0; i < inner; i++) out.push(x[(o * C + c) * inner + i]!);
  }
  return out;
}

function shuffle(n: number, seed: number): number[] {
  const r = makeRng(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

describe('permute and transpose', () => {
  it('random permutations of ranks 0..6 match the reference (bit exact)', () => {
    const r = makeRng(5);
    for (let trial = 0; trial < 60; trial++) {
      const rank = trial % 7;
      const shape = Array.from({ length: rank }, () => 1 + Math.floor(r() * (rank <= 3 ? 9 : 4)));
      const perm = shuffle(rank, trial);
      const x = randomTensor(shape, trial);
      const out = permute(x, perm);
      expect(out.shape).toEqual(perm.map((p) => shape[p]!));
      expect(Array.from(out.toArray())).toEqual(refPermute(x.toArray(), shape, perm));
    }
  });

  it('large 2-D and batched transposes (tiled path) and row-copy permutes', () => {
    for (const [shape, perm] of [
      [[257, 1001], [1, 0]],
      [[3, 129, 67], [0, 2, 1]],
      [[37, 13, 41], [1, 0, 2]],
      [[5, 7, 11, 13], [3, 1, 0, 2]],
    ] as [number[], number[]][]) {
      const x = randomTensor(shape, 2);
      expect(Array.from(permute(x, perm).toArray())).toEqual(refPermute(x.toArray(), shape, perm));
    }
  });

  it('transpose swaps the last two dims by default; negative dims work', () => {
    const x = randomTensor([2, 3, 5], 1);
    expect(transpose(x).shape).toEqual([2, 5, 3]);
    expect(Array.from(transpose(x).toArray())).toEqual(refPermute(x.toArray(), [2, 3, 5], [0, 2, 1]));
    expect(Array.from(transpose(x, 0, -1).toArray())).toEqual(refPermute(x.toArray(), [2, 3, 5], [2, 1, 0]));
    expect(Array.from(transpose(x, 1, 1).toArray())).toEqual(Array.from(x.toArray()));
  });

  it('moves int32 tensors too', () => {
    const x = Tensor.fromArray(new Int32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const t = transpose(x);
    expect(t.dtype).toBe('int32');
    expect(Array.from(t.toArray())).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('gradients: permute back', () => {
    gradCheck((t) => permute(t!, [2, 0, 1]), [randomTensor([3, 4, 5], 1)]);
    gradCheck((t) => transpose(t!), [randomTensor([7, 13], 2)]);
    gradCheck((t) => transpose(t!, -3, 1), [randomTensor([2, 3, 1, 4], 3)]);
  });
});

describe('concat, slice and split', () => {
  it('concat along each axis matches the reference', () => {
    const a = randomTensor([2, 3, 4], 1);
    const b = randomTensor([2, 5, 4], 2);
    const c = randomTensor([2, 0, 4], 3);
    const out = concat([a, b, c, a], 1);
    expect(out.shape).toEqual([2, 11, 4]);
    const av = a.toArray();
    const bv = b.toArray();
    const want: number[] = [];
    for (let o = 0; o < 2; o++) {
      want.push(...av.slice(o * 12, o * 12 + 12), ...bv.slice(o * 20, o * 20 + 20), ...av.slice(o * 12, o * 12 + 12));
    }
    expect(Array.from(out.toArray())).toEqual(want);
    expect(Array.from(concat([a, a], 0).toArray())).toEqual([...av, ...av]);
    const last = concat([randomTensor([2, 1], 4), randomTensor([2, 13], 5)], -1);
    expect(last.shape).toEqual([2, 14]);
    expect(concat([Tensor.fromArray(new Int32Array([1])), Tensor.fromArray(new Int32Array([2, 3]))]).toArray()).toEqual(
      new Int32Array([1, 2, 3]),
    );
  });

  it('slice along an axis, with negative bounds', () => {
    const shape = [3, 7, 5];
    const x = randomTensor(shape, 1);
    const xs = x.toArray();
    expect(Array.from(slice(x, 1, 2, 5).toArray())).toEqual(refSlice(xs, shape, 1, 2, 5));
    expect(Array.from(slice(x, -1, -2).toArray())).toEqual(refSlice(xs, shape, 2, 3, 5));
    expect(Array.from(slice(x, 0, 0, -1).toArray())).toEqual(refSlice(xs, shape, 0, 0, 2));
    expect(slice(x, 1, 3, 3).shape).toEqual([3, 0, 5]);
  });

  it('split by sizes and by chunk size', () => {
    const shape = [4, 13];
    const x = randomTensor(shape, 2);
    const xs = x.toArray();
    const parts = split(x, 1, [3, 0, 10]);
    expect(parts.map((p) => p.shape)).toEqual([
      [4, 3],
      [4, 0],
      [4, 10],
    ]);
    expect(Array.from(parts[2]!.toArray())).toEqual(refSlice(xs, shape, 1, 3, 13));
    const chunks = split(x, -1, 5);
    expect(chunks.map((p) => p.shape[1])).toEqual([5, 5, 3]);
    expect(Array.from(chunks[1]!.toArray())).toEqual(refSlice(xs, shape, 1, 5, 10));
    expect(split(x, 0, 4).length).toBe(1);
  });

  it('large copies run threaded and match', () => {
    const x = randomTensor([1000, 257], 3);
    const xs = x.toArray();
    const [p, q] = split(x, 1, [100, 157]);
    expect(Array.from(q!.toArray())).toEqual(refSlice(xs, [1000, 257], 1, 100, 257));
    expect(Array.from(concat([p!, q!], 1).toArray())).toEqual(Array.from(xs));
  });

  it('gradients: split / pad of the gradient', () => {
    const a = randomTensor([2, 3], 1);
    const b = randomTensor([2, 4], 2);
    gradCheck((s, t) => concat([s!, t!, s!], 1), [a, b]);
    gradCheck((t) => slice(t!, 1, 1, -1), [randomTensor([3, 5, 2], 3)]);
    gradCheck((t) => split(t!, 0, [1, 3, 2]), [randomTensor([6, 3], 4)]);
    // Only some outputs used: the others get zero gradient.
    const x = randomTensor([5, 2], 5).requireGrad();
    const [, second] = split(x, 0, 2);
    second!.backward(Tensor.ones([2, 2]));
    expect(Array.from(x.grad!.toArray())).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 0, 0]);
  });
});

describe('bad inputs throw clear errors', () => {
  it('permute / transpose', () => {
    const x = Tensor.zeros([2, 3, 4]);
    expect(() => permute(x, [0, 1])).toThrow(/permute: dims \[0,1\] must list all 3 axes/);
    expect(() => permute(x, [0, 1, 1])).toThrow(/is not a permutation/);
    expect(() => permute(x, [0, 1, 3])).toThrow(/permute: axis 3 is out of range/);
    expect(() => transpose(Tensor.zeros([3]))).toThrow(/transpose: .* has fewer than 2 dims/);
    expect(() => transpose(x, 0, 5)).toThrow(/transpose: axis 5 is out of range for a tensor of rank 3/);
    expect(() => permute(Tensor.zeros([1, 1, 1, 1, 1, 1, 1]), [0, 1, 2, 3, 4, 5, 6])).toThrow(/rank 7/);
  });

  it('concat / slice / split', () => {
    expect(() => concat([])).toThrow(/concat: tensors must be a non-empty array/);
    expect(() => concat([Tensor.zeros([2, 3]), Tensor.zeros([3, 3])], 1)).toThrow(
      /concat: shapes must match except on axis 1: tensors\[0\] \[2,3\], tensors\[1\] \[3,3\]/,
    );
    expect(() => concat([Tensor.zeros([2]), Tensor.fromArray(new Int32Array([1]))])).toThrow(
      /concat: tensors\[1\] is int32 but tensors\[0\] is float32/,
    );
    const x = Tensor.zeros([3, 4]);
    expect(() => slice(x, 1, 2, 5)).toThrow(/slice: \[2, 5\) is out of range for axis 1 of size 4/);
    expect(() => slice(x, 1, 3, 2)).toThrow(/out of range/);
    expect(() => slice(x, 2, 0, 1)).toThrow(/slice: axis 2 is out of range/);
    expect(() => slice(x, 0, 0.5)).toThrow(/slice: start must be an integer/);
    expect(() => split(x, 1, [1, 2])).toThrow(/split: sizes \[1,2\] sum to 3, but axis 1 .* has size 4/);
    expect(() => split(x, 1, 0)).toThrow(/chunk size must be a positive integer/);
    const d = Tensor.zeros([2]);
    d.dispose();
    expect(() => slice(d, 0, 0)).toThrow(/slice: x .*disposed/);
    expect(() => concat([x, d as Tensor])).toThrow(/disposed/);
  });

  it('the native binding validates bounds, dtypes and aliasing', () => {
    const a = Tensor.zeros([30]);
    const b = Tensor.zeros([30]);
    expect(() => native.copy_2d(a.storage, 0, 3, b.storage, 0, 3, 11, 3)).toThrow(
      /copy_2d: dst has 30 elements, the block reaches element 32/,
    );
    expect(() => native.copy_2d(a.storage, 0, 2, b.storage, 0, 3, 2, 3)).toThrow(/dstLd = 2 is smaller than cols = 3/);
    expect(() => native.copy_2d(a.storage, 0, 3, a.storage, 3, 3, 2, 3)).toThrow(/must be different storages/);
    const i = Tensor.zeros([30], 'int32');
    expect(() => native.copy_2d(a.storage, 0, 3, i.storage, 0, 3, 2, 3)).toThrow(/dst is float32 but src is int32/);
    expect(() => native.permute(a.storage, b.storage, [5, 6], [1, 1])).toThrow(/perm must be a permutation/);
    expect(() => native.permute(a.storage, b.storage, [5, 5], [1, 0])).toThrow(
      /permute: out must have 25 elements, got 30/,
    );
  });
});
