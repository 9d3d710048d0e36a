// Learning-rate schedules (lib/optim/schedule.ts) at a few steps against hand values, and a
// schedule driving an optimizer's lr.
import { describe, expect, it } from 'vitest';

import { SGD, Tensor, keep } from '../../lib/index.js';
import { constant, exponential, inverseTime, stepDecay, warmupCosine } from '../../lib/optim/schedule.js';

const close = (a: number, b: number): void => expect(a).toBeCloseTo(b, 12);

describe('learning-rate schedules', () => {
  it('constant', () => {
    const s = constant(0.3);
    for (const t of [0, 1, 10, 1e6]) close(s(t), 0.3);
  });

  it('stepDecay: lr * gamma^floor(t / every)', () => {
    const s = stepDecay(0.1, 3, 0.5);
    close(s(0), 0.1);
    close(s(2), 0.1);
    close(s(3), 0.05);
    close(s(5), 0.05);
    close(s(7), 0.025);
    close(s(9), 0.0125);
  });

  it('exponential: lr * gamma^t', () => {
    const s = exponential(2, 0.9);
    close(s(0), 2);
    close(s(1), 1.8);
    close(s(3), 1.458);
  });

  it('warmupCosine: linear warm-up, cosine decay to minLr, then minLr', () => {
    const s = warmupCosine(1, 4, 12, 0.1);
    close(s(0), 0.25);
    close(s(1), 0.5);
    close(s(3), 1);
    close(s(4), 1); // start of the decay: cos(0)
    close(s(8), 0.55); // half-way: minLr + (lr - minLr) / 2
    close(s(10), 0.1 + 0.45 * (1 - Math.SQRT1_2)); // 3/4 of the way
    close(s(12), 0.1);
    close(s(100), 0.1);
    // Monotone decreasing after the warm-up.
    for (let t = 4; t < 12; t++) expect(s(t + 1)).toBeLessThanOrEqual(s(t));
    // minLr defaults to 0.
    close(warmupCosine(2, 0, 10)(10), 0);
    close(warmupCosine(2, 0, 10)(5), 1);
  });

  it('inverseTime: lr / (1 + r t) (Bengio et al. 2003)', () => {
    const s = inverseTime(1, 0.5);
    close(s(0), 1);
    close(s(2), 0.5);
    close(s(6), 0.25);
    close(inverseTime(0.01, 1e-8)(1e8), 0.005);
  });

  it('drives the optimizer: SGD steps use lr = schedule(step)', () => {
    const p = keep(Tensor.fromArray([1, -2], [2]));
    const opt = new SGD([p], { lr: 123 });
    const s = stepDecay(0.5, 2, 0.1);
    const ref = [1, -2];
    for (let t = 0; t < 5; t++) {
      opt.lr = s(t);
      p.grad?.dispose();
      p.grad = keep(Tensor.fromArray([1, 1], [2]));
      opt.step();
      ref[0] -= s(t);
      ref[1] -= s(t);
    }
    opt.zeroGrad();
    const got = p.toArray();
    close(ref[0]!, 1 - (0.5 + 0.5 + 0.05 + 0.05 + 0.005));
    expect(got[0]).toBeCloseTo(ref[0]!, 6);
    expect(got[1]).toBeCloseTo(ref[1]!, 6);
    opt.dispose();
    p.dispose();
  });

  it('optimizers reject a bad learning rate', () => {
    const p = [keep(Tensor.zeros([2]))];
    expect(() => new SGD(p, { lr: -0.1 })).toThrow(/learning rate must be a finite number >= 0/);
    expect(() => new SGD(p, { lr: NaN })).toThrow(/learning rate/);
    p[0]!.dispose();
  });
});
