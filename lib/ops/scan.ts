// Ops of the `scan` family: forward calls the native kernel, backward is recorded on the tape.
//   selectiveScan(x (B,T,D), delta (B,T,D), A (D,N), Bm (B,T,N), Cm (B,T,N), Dskip (D)) -> y (B,T,D)
// The selective state-space recurrence of Mamba (Gu & Dao 2023), per (b, d), state h (N) from 0:
//   h_t = exp(delta_t * A[d,:]) * h_{t-1} + delta_t * Bm_t * x_t
//   y_t = sum_n Cm_t[n] h_t[n] + Dskip[d] * x_t
// delta is used as given (apply softplus before). Differentiable in all six inputs. When a gradient
// is recorded, the forward saves every state (B*T*D*N floats) for the backward.
import { isGradEnabled, needsGrad, record } from '../autograd.js';
import { native } from '../native/index.js';
import { Tensor, deviceOf, formatShape, keep } from '../tensor.js';

export function selectiveScan(x: Tensor, delta: Tensor, A: Tensor, Bm: Tensor, Cm: Tensor, Dskip: Tensor): Tensor {
  const inputs = { x, delta, A, Bm, Cm, Dskip };
  for (const [name, t] of Object.entries(inputs)) {
    if (!(t instanceof Tensor)) throw new TypeError(`selectiveScan: ${name} must be a Tensor`);
    if (t.disposed) throw new Error(`selectiveScan: ${name} has been disposed`);
    if (t.dtype !== 'float32') throw new TypeError(`selectiveScan: ${name} must be float32, got ${t.describe()}`);
  }
  const shapes =
    `x ${formatShape(x.shape)}, delta ${formatShape(delta.shape)}, A ${formatShape(A.shape)}, ` +
    `Bm ${formatShape(Bm.shape)}, Cm ${formatShape(Cm.shape)}, Dskip ${formatShape(Dskip.shape)}`;
  if (x.rank !== 3 || A.rank !== 2) {
    throw new RangeError(`selectiveScan: expected x (B,T,D) and A (D,N), got ${shapes}`);
  }
  const [B, T, D] = x.shape as [number, number, number];
  const N = A.shape[1]!;
  const same = (t: Tensor, s: number[]): boolean => t.rank === s.length && t.shape.every((v, i) => v === s[i]);
  if (!same(delta, [B, T, D]) || !same(A, [D, N]) || !same(Bm, [B, T, N]) || !same(Cm, [B, T, N]) || !same(Dskip, [D])) {
    throw new RangeError(
      `selectiveScan: shapes must be x, delta (B,T,D) = [${B},${T},${D}], A (D,N), Bm, Cm (B,T,N) = [${B},${T},${N}], ` +
        `Dskip (D); got ${shapes}`,
    );
  }
  const all = [x, delta, A, Bm, Cm, Dskip];
  const recording = isGradEnabled() && all.some(needsGrad);
  const dev = deviceOf('selectiveScan', x, delta, A, Bm, Cm, Dskip);
  const y = Tensor.empty([B, T, D], 'float32', dev);
  const hs = recording ? Tensor.empty([B, T, D, N], 'float32', dev) : null;
  try {
    native.scan_forward(
      y.storage,
      hs?.storage ?? null,
      x.storage,
      delta.storage,
      A.storage,
      Bm.storage,
      Cm.storage,
      Dskip.storage,
      B,
      T,
      D,
      N,
    );
  } catch (err) {
    y.dispose();
    hs?.dispose();
    throw err;
  }
  if (!recording) return y;
  record('selectiveScan', all, [y], ([g]) => {
    const dx = Tensor.empty([B, T, D], 'float32', dev);
    const ddelta = Tensor.empty([B, T, D], 'float32', dev);
    const dA = Tensor.zeros([D, N], 'float32', dev);
    const dBm = Tensor.empty([B, T, N], 'float32', dev);
    const dCm = Tensor.empty([B, T, N], 'float32', dev);
    const dDskip = Tensor.zeros([D], 'float32', dev);
    native.scan_backward(
      dx.storage,
      ddelta.storage,
      dA.storage,
      dBm.storage,
      dCm.storage,
      dDskip.storage,
      g!.storage,
      x.storage,
      delta.storage,
      A.storage,
      Bm.storage,
      Cm.storage,
      Dskip.storage,
      hs!.storage,
      B,
      T,
      D,
      N,
    );
    hs!.dispose();
    return [dx, ddelta, dA, dBm, dCm, dDskip].map((d, i) => {
      if (needsGrad(all[i]!)) return d;
      d.dispose();
      return null;
    });
  });
  // hs is saved for the backward (which frees it) and kept out of tidy() scopes.
  if (y._node === null) hs!.dispose();
  else keep(hs!);
  return y;
}
