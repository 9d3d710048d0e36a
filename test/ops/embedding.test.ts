import { describe, expect, it } from 'vitest';

import { embedding } from '../../lib/ops/embedding.js';
import { Tensor } from '../../lib/tensor.js';
import { expectClose, gradCheck, randomArray, randomIds, randomTensor } from '../helpers.js';

function refForward(table: Float32Array, ids: Int32Array, C: number): Float32Array {
  const out = new Float32Array(ids.length * C);
  ids.forEach((id, n) => out.set(table.subarray(id * C, (id + 1) * C), n * C));
  return out;
}

function refBackward(dout: Float32Array, ids: Int32Array, V: number, C: number): Float32Array {
  const d = new Float32Array(V * C);
  ids.forEach((id, n) => {
    for (let c = 0; c < C; c++) d[id * C + c]! += dout[n * C + c]!;
  });
  return d;
}

describe('embedding', () => {
  const cases: [number, number, number[]][] = [
    [1, 1, [1]],
    [13, 7, [3, 5]],
    [37, 16, [2, 3, 4]],
    [5, 33, [17]],
    [7, 1, []],
  ];
  for (const [V, C, idShape] of cases) {
    it(`forward and backward match a plain reference: V=${V} C=${C} ids ${JSON.stringify(idShape)}`, () => {
      const table = randomTensor([V, C], V + C);
      const ids = randomIds(idShape, V, 7 * V + C);
      const out = embedding(table, ids);
      expect(out.shape).toEqual([...idShape, C]);
      expectClose(out.toArray(), refForward(table.toArray() as Float32Array, ids.toArray() as Int32Array, C), {
        atol: 0,
        rtol: 0,
      });
      table.requireGrad();
      const g = randomArray(out.size, 99);
      embedding(table, ids).backward(Tensor.fromArray(g, out.shape));
      expectClose(table.grad!.toArray(), refBackward(g, ids.toArray() as Int32Array, V, C), { what: 'dtable' });
    });
  }

  it('accumulates repeated ids in the gradient', () => {
    const table = Tensor.zeros([3, 2]).requireGrad();
    const ids = Tensor.fromArray(new Int32Array([0, 0, 2, 0]), [4]);
    const g = Tensor.fromArray([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
    embedding(table, ids).backward(g);
    expect(Array.from(table.grad!.toArray())).toEqual([1 + 3 + 7, 2 + 4 + 8, 0, 0, 5, 6]);
  });

  it('scatter-add is right on large inputs (column split and vocabulary split paths)', () => {
    for (const [N, V, C] of [
      [3000, 50, 100],
      [20000, 61, 4],
    ] as const) {
      const table = randomTensor([V, C], 5).requireGrad();
      const ids = randomIds([N], V, 6);
      const g = randomArray(N * C, 8);
      embedding(table, ids).backward(Tensor.fromArray(g, [N, C]));
      expectClose(table.grad!.toArray(), refBackward(g, ids.toArray() as Int32Array, V, C), {
        atol: 1e-4,
        what: `dtable N=${N} C=${C}`,
      });
    }
  });

  it('gradient matches finite differences', () => {
    gradCheck((t, i) => embedding(t!, i!), [randomTensor([11, 6], 3), randomIds([3, 4], 11, 4)]);
  });

  it('rejects bad inputs with clear errors', () => {
    const table = randomTensor([5, 3], 1);
    expect(() => embedding(table, Tensor.fromArray([0, 1], [2]))).toThrow(/ids must be int32/);
    expect(() => embedding(Tensor.zeros([5]), randomIds([2], 5, 1))).toThrow(/table must be 2-D/);
    expect(() => embedding(Tensor.zeros([5, 3], 'int32'), randomIds([2], 5, 1))).toThrow(/table must be float32/);
    expect(() => embedding(table, Tensor.fromArray(new Int32Array([1, 5]), [2]))).toThrow(
      /ids\[1\] = 5 is out of range \[0, 5\)/,
    );
    expect(() => embedding(table, Tensor.fromArray(new Int32Array([-1]), [1]))).toThrow(RangeError);
    const gone = randomTensor([5, 3], 2);
    gone.dispose();
    expect(() => embedding(gone, randomIds([2], 5, 1))).toThrow(/disposed/);
  });
});
