// withGradReadyHook (lib/autograd.ts): during backward, each leaf is reported once, as soon as
// its gradient is final; a weight used twice (tied) is reported only after its last use.
import { describe, expect, it } from 'vitest';

import { backward } from '../../lib/autograd.js';
import { crossEntropy } from '../../lib/ops/crossentropy.js';
import { RecurrentLM } from '../../lib/models/rnn.js';
import { Tensor, tidy, withGradReadyHook } from '../../lib/index.js';
import { add, matmul, sum, tanh } from '../../lib/index.js';
import { randomTensor } from '../helpers.js';

describe('withGradReadyHook', () => {
  it('reports every leaf once, with its final gradient, tied weights after their last use', () => {
    const w = randomTensor([4, 4], 1);
    const u = randomTensor([4, 4], 2);
    const x = randomTensor([3, 4], 3);
    w.requiresGrad = true;
    u.requiresGrad = true;
    const seen: { leaf: Tensor; grad: Float32Array }[] = [];
    tidy(() => {
      // w is used twice (first and last layer), u once in between.
      const h1 = tanh(matmul(x, w));
      const h2 = tanh(matmul(h1, u));
      const y = sum(matmul(add(h2, h1), w));
      withGradReadyHook(
        (leaf) => seen.push({ leaf, grad: Float32Array.from(leaf.grad!.toArray() as Float32Array) }),
        () => backward(y),
      );
    });
    expect(seen.map((s) => s.leaf)).toEqual([u, w]); // u is final first; w only after its first use
    for (const s of seen) expect(s.grad).toEqual(s.leaf.grad!.toArray());
    w.dispose();
    u.dispose();
    x.dispose();
  });

  it('an LSTM LM: all parameters reported, final at report time, and the first before backward ends', () => {
    const m = new RecurrentLM({ vocabSize: 30, cell: 'lstm', embed: 8, hidden: 8, layers: 2, tieWeights: true, seed: 4 });
    const params = m.parameters();
    const at = new Map<Tensor, Float32Array>();
    let firstAt = -1;
    let nodesLeftAtFirst = -1;
    tidy(() => {
      const ids = Tensor.fromArray(Int32Array.from({ length: 2 * 6 }, (_, i) => (i * 7) % 30), [2, 6], 'int32');
      const out = m.forward(ids, null);
      const loss = crossEntropy(out.logits, Tensor.fromArray(Int32Array.from({ length: 12 }, (_, i) => (i * 5) % 30), [12], 'int32'));
      withGradReadyHook(
        (leaf) => {
          if (firstAt < 0) {
            firstAt = at.size;
            // Something is still left to run: some parameter has no gradient yet.
            nodesLeftAtFirst = params.filter((p) => p.grad === null).length;
          }
          at.set(leaf, Float32Array.from(leaf.grad!.toArray() as Float32Array));
        },
        () => loss.backward(),
      );
    });
    expect(at.size).toBe(params.length);
    expect(nodesLeftAtFirst).toBeGreaterThan(0);
    for (const p of params) expect(at.get(p)).toEqual(p.grad!.toArray());
    m.dispose();
  });

  it('no hook outside withGradReadyHook, and the previous hook is restored', () => {
    const w = randomTensor([2, 2], 5);
    w.requiresGrad = true;
    let calls = 0;
    tidy(() => backward(sum(matmul(w, w))));
    withGradReadyHook(
      () => calls++,
      () => undefined,
    );
    tidy(() => backward(sum(matmul(w, w))));
    expect(calls).toBe(0);
    w.dispose();
  });
});
