// Global-norm gradient clipping.
import { noGrad } from '../autograd.js';
import { mul } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { Tensor, tidy } from '../tensor.js';

/**
 * Scales the gradients of `params` in place so that their global L2 norm is at most
 * `maxNorm`; returns the norm before clipping.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const seen = new Set<Tensor>();
  let sq = 0;
  noGrad(() =>
    tidy(() => {
      for (const p of params) {
        const g = p.grad;
        if (!g || seen.has(g)) continue;
        seen.add(g);
        sq += sum(mul(g, g)).item();
      }
    }),
  );
  const norm = Math.sqrt(sq);
  if (norm > maxNorm) for (const g of seen) g.storage.scale(maxNorm / (norm + 1e-6));
  return norm;
}
