import { describe, expect, it } from 'vitest';

import { contextWindows } from '../../lib/data/loaders.js';
import { FeedForwardLM } from '../../lib/models/ffnn.js';
import { AdamW } from '../../lib/optim/optimizer.js';
import { Tensor, crossEntropy } from '../../lib/index.js';
import { Trainer, evaluateLoss } from '../../lib/train/trainer.js';

// A tiny deterministic corpus: a repeating pattern the model can learn exactly.
const pattern = [1, 2, 3, 4, 5, 3, 2, 6, 7, 1, 5, 4];
const ids = Int32Array.from({ length: 600 }, (_, i) => pattern[i % pattern.length]!);

describe('feed-forward LM (Bengio 2003)', () => {
  it('overfits a tiny corpus: perplexity falls close to 1', async () => {
    const model = new FeedForwardLM({ vocabSize: 8, context: 3, embed: 8, hidden: 16, direct: true, seed: 3 });
    const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
    const trainer = new Trainer(model, opt, (b: { inputs: Int32Array; targets: Int32Array; size: number }) => ({
      loss: crossEntropy(model.forward(Tensor.fromArray(b.inputs, [b.size, 3], 'int32')), Tensor.fromArray(b.targets, [b.size], 'int32')),
      tokens: b.size,
    }));
    const evaluate = () =>
      evaluateLoss(contextWindows(ids, 3, 64), (b) => ({
        sum: crossEntropy(model.forward(Tensor.fromArray(b.inputs, [b.size, 3], 'int32')), Tensor.fromArray(b.targets, [b.size], 'int32'), {
          reduction: 'sum',
        }),
        tokens: b.size,
      }));
    const before = evaluate();
    const losses: number[] = [];
    await trainer.fit({
      batches: (e) => contextWindows(ids, 3, 32, { shuffle: true, seed: e }),
      epochs: 15,
      onStep: (s) => losses.push(s.loss),
    });
    const after = evaluate();
    expect(before.ppl).toBeGreaterThan(5);
    expect(after.ppl).toBeLessThan(1.2);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! / 5);
    model.dispose();
    opt.dispose();
  });

  it('supports h = 0 (log-linear over learned embeddings) and summed contexts', () => {
    const m = new FeedForwardLM({ vocabSize: 8, context: 2, embed: 4, hidden: 0, direct: true, combine: 'sum' });
    const logits = m.forward(Tensor.fromArray(Int32Array.of(1, 2, 3, 4), [2, 2], 'int32'));
    expect(logits.shape).toEqual([2, 8]);
    expect(() => new FeedForwardLM({ vocabSize: 8, context: 2, embed: 4, hidden: 0, direct: false })).toThrow(/direct/);
    expect(() => m.forward(Tensor.fromArray(Int32Array.of(1, 2, 3), [1, 3], 'int32'))).toThrow(/shape \[B,2\]/);
    expect(() => m.forward(Tensor.fromArray(Int32Array.of(1, 99), [1, 2], 'int32'))).toThrow(/out of range/);
    m.dispose();
  });
});
