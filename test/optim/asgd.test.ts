// NT-ASGD: the non-monotone trigger, the average of the iterates, swapping, resumable state.
import { describe, expect, it } from 'vitest';

import { NTASGD } from '../../lib/optim/asgd.js';
import { SGD } from '../../lib/optim/optimizer.js';
import { Tensor, mul, sum, tidy } from '../../lib/index.js';

/** One SGD step on loss = sum(w * c) + 0.5 * sum(w^2): gradient c + w. */
function stepOn(opt: NTASGD, w: Tensor, c: number[]): void {
  tidy(() => {
    const loss = sum(mul(w, Tensor.fromArray(c, w.shape)));
    const q = mul(sum(mul(w, w)), 0.5);
    loss.backward();
    q.backward();
  });
  opt.step();
  opt.zeroGrad();
}

describe('NTASGD', () => {
  it('triggers when the loss is above the best of all but the last nonmono evaluations', () => {
    const w = Tensor.fromArray([0], [1]).requireGrad();
    const opt = new NTASGD(new SGD([w], { lr: 0.1 }), { nonmono: 2 });
    // Fewer than nonmono + 1 earlier losses: never.
    expect([5, 6, 7].map((l) => opt.observe(l))).toEqual([false, false, false]);
    expect(opt.averaging).toBe(false);
    const b = new NTASGD(new SGD([w], { lr: 0.1 }), { nonmono: 2 });
    // 5 4 3 3.5: min(5) = 5 > 3.5, no; then 4.5 > min(5, 4) = 4: yes.
    expect([5, 4, 3, 3.5].map((l) => b.observe(l))).toEqual([false, false, false, false]);
    expect(b.observe(4.5)).toBe(true);
    expect(b.averaging).toBe(true);
    expect(b.observe(9)).toBe(false); // already averaging
    expect(() => new NTASGD(new SGD([w], { lr: 0.1 }), { nonmono: 0 })).toThrow(/nonmono/);
    expect(b.observe(Number.NaN)).toBe(false);
    expect(b.validLosses).toEqual([5, 4, 3, 3.5, 4.5, 9]);
    expect(() => b.observe('1' as unknown as number)).toThrow(/number/);
    w.dispose();
  });

  it('the averaged weights are the mean of the iterates since the trigger; SGD itself is unchanged', () => {
    const w = Tensor.fromArray([1, -1, 0.5], [3]).requireGrad();
    const ref = Tensor.fromArray([1, -1, 0.5], [3]).requireGrad();
    const opt = new NTASGD(new SGD([w], { lr: 0.3, momentum: 0.5 }), { nonmono: 1 });
    const plain = new NTASGD(new SGD([ref], { lr: 0.3, momentum: 0.5 }), { nonmono: 1 });
    const cs = [[1, 0, 2], [0.5, -1, 0], [2, 2, -1], [-1, 0.5, 0.5], [0, 0, 1], [3, -2, 0]];
    // Before averaging, withAveraged sees the iterate itself.
    stepOn(opt, w, cs[0]!);
    stepOn(plain, ref, cs[0]!);
    expect(opt.withAveraged(() => Array.from(w.toArray()))).toEqual(Array.from(w.toArray()));
    opt.startAveraging();
    const iterates: number[][] = [];
    for (const c of cs.slice(1)) {
      stepOn(opt, w, c);
      stepOn(plain, ref, c);
      iterates.push(Array.from(w.toArray()));
    }
    // The iterates are those of the wrapped SGD alone.
    expect(Array.from(w.toArray())).toEqual(Array.from(ref.toArray()));
    const mean = [0, 1, 2].map((j) => iterates.reduce((s, it) => s + it[j]!, 0) / iterates.length);
    const raw = Array.from(w.toArray());
    const averaged = opt.withAveraged(() => {
      expect(opt.isSwapped).toBe(true);
      expect(() => opt.step()).toThrow(/swapped/);
      return Array.from(w.toArray());
    });
    averaged.forEach((v, j) => expect(v).toBeCloseTo(mean[j]!, 5));
    expect(Array.from(w.toArray())).toEqual(raw);
    expect(opt.isSwapped).toBe(false);
    expect(opt.averagedSteps).toBe(5);
    expect(opt.averageStart).toBe(1);
    // Errors inside and async functions swap back.
    expect(() => opt.withAveraged(() => { throw new Error('boom'); })).toThrow('boom');
    expect(Array.from(w.toArray())).toEqual(raw);
    return opt.withAveraged(async () => Array.from(w.toArray())).then((a) => {
      a.forEach((v, j) => expect(v).toBeCloseTo(mean[j]!, 5));
      expect(Array.from(w.toArray())).toEqual(raw);
      opt.dispose();
      plain.dispose();
      w.dispose();
      ref.dispose();
    });
  });

  it('state round trip (saved with the averaged weights swapped in) resumes exactly', () => {
    const cs = [[1, 0], [0.5, -1], [2, 2], [-1, 0.5], [0, 1], [3, -2], [1, 1]];
    const w = Tensor.fromArray([1, -1], [2]).requireGrad();
    const opt = new NTASGD(new SGD([w], { lr: 0.2, momentum: 0.9 }), { nonmono: 1 });
    for (const l of [3, 2, 3.5]) opt.observe(l);
    expect(opt.averaging).toBe(true);
    for (const c of cs.slice(0, 3)) stepOn(opt, w, c);
    // A checkpoint as runTraining writes it: model weights and optimizer state while swapped.
    const saved = opt.withAveraged(() => {
      const st = opt.stateDict();
      const tensors = new Map(Object.entries(st.tensors).map(([k, t]) => [k, t.clone()]));
      return { weights: w.clone(), tensors, scalars: { ...st.scalars } };
    });
    expect([...saved.tensors.keys()].sort()).toEqual(['avg.0', 'inner.velocity.0', 'iterate.0']);
    const averagedNow = opt.withAveraged(() => Array.from(w.toArray()));
    expect(Array.from(saved.weights.toArray())).toEqual(averagedNow);
    // Resume: a fresh parameter loaded with the checkpoint's (averaged) weights, then the state.
    const w2 = saved.weights.clone().requireGrad();
    const opt2 = new NTASGD(new SGD([w2], { lr: 0.2, momentum: 0.9 }), { nonmono: 1 });
    opt2.loadStateDict(saved);
    expect(Array.from(w2.toArray())).toEqual(Array.from(w.toArray()));
    expect(opt2.validLosses).toEqual([3, 2, 3.5]);
    expect(opt2.averagedSteps).toBe(3);
    expect(opt2.stepCount).toBe(3);
    for (const c of cs.slice(3)) {
      stepOn(opt, w, c);
      stepOn(opt2, w2, c);
    }
    expect(Array.from(w2.toArray())).toEqual(Array.from(w.toArray()));
    expect(opt2.withAveraged(() => Array.from(w2.toArray()))).toEqual(opt.withAveraged(() => Array.from(w.toArray())));
    // Mismatches are refused.
    const opt3 = new NTASGD(new SGD([w2], { lr: 0.2 }), { nonmono: 2 });
    expect(() => opt3.loadStateDict(saved)).toThrow(/nonmono/);
    expect(() => opt2.loadStateDict({ tensors: { 'avg.5': w }, scalars: saved.scalars })).toThrow(/avg.5/);
    for (const t of [w, w2, saved.weights, ...saved.tensors.values()]) t.dispose();
    opt.dispose();
    opt2.dispose();
    opt3.dispose();
  });
});
