// Multi-head scaled dot-product attention.
//   attention(q (B,Tq,C), k (B,Tk,C), v (B,Tk,C), { heads, causal?, mask?, scale? }) -> (B,Tq,C)
// Head h uses columns [h*hs, (h+1)*hs) with hs = C / heads. Per head: softmax(scale * q k^T) v with
// scale = 1/sqrt(hs) by default. causal: query i sees keys j <= i + (Tk - Tq). mask (B,Tk) int32:
// 1 = attend, 0 = padded key. A query that sees no key gets a zero output (and zero gradient).
import { needsGrad, record } from '../autograd.js';
import { native } from '../native/index.js';
import { Tensor, deviceOf, formatShape, keep } from '../tensor.js';

export interface AttentionOptions {
  /** Number of heads; must divide C. */
  heads: number;
  /** Causal (autoregressive) mask. Default false. */
  causal?: boolean;
  /** Key padding mask (B,Tk) int32: 1 = attend, 0 = padded. */
  mask?: Tensor | null;
  /** Score scale. Default 1/sqrt(C/heads). */
  scale?: number;
}

export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Tensor {
  const shapes = `q ${formatShape(q.shape)}, k ${formatShape(k.shape)}, v ${formatShape(v.shape)}`;
  if (q.dtype !== 'float32' || k.dtype !== 'float32' || v.dtype !== 'float32') {
    throw new TypeError(`attention: q, k, v must be float32, got ${q.dtype}, ${k.dtype}, ${v.dtype}`);
  }
  if (q.rank !== 3 || k.rank !== 3 || v.rank !== 3) {
    throw new RangeError(`attention: q, k, v must be 3-D (B,T,C), got ${shapes}`);
  }
  const [B, Tq, C] = q.shape as [number, number, number];
  const Tk = k.shape[1]!;
  if (k.shape[0] !== B || k.shape[2] !== C || v.shape[0] !== B || v.shape[1] !== Tk || v.shape[2] !== C) {
    throw new RangeError(`attention: k and v must be (B,Tk,C) with q's B and C, got ${shapes}`);
  }
  const opt = opts ?? ({} as AttentionOptions);
  const heads = opt.heads;
  if (!Number.isInteger(heads) || heads < 1) {
    throw new RangeError(`attention: heads must be a positive integer, got ${String(heads)}`);
  }
  if (C % heads !== 0) throw new RangeError(`attention: C = ${C} is not a multiple of heads = ${heads}`);
  const causal = opt.causal ?? false;
  if (typeof causal !== 'boolean') throw new TypeError(`attention: causal must be a boolean`);
  const scale = opt.scale ?? 1 / Math.sqrt(C / heads || 1);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) {
    throw new RangeError(`attention: scale must be a finite number, got ${String(scale)}`);
  }
  const mask = opt.mask ?? null;
  if (mask !== null) {
    if (!(mask instanceof Tensor)) throw new TypeError('attention: mask must be a Tensor');
    if (mask.dtype !== 'int32') throw new TypeError(`attention: mask must be int32 (1 = attend, 0 = padded), got ${mask.describe()}`);
    if (mask.rank !== 2 || mask.shape[0] !== B || mask.shape[1] !== Tk) {
      throw new RangeError(`attention: mask must be [${B},${Tk}] (B,Tk), got ${formatShape(mask.shape)}`);
    }
  }

  const dev = deviceOf('attention', q, k, v, mask);
  const out = Tensor.empty([B, Tq, C], 'float32', dev);
  const probs = Tensor.empty([B, heads, Tq, Tk], 'float32', dev);
  try {
    native.attention_forward(
      out.storage,
      probs.storage,
      q.storage,
      k.storage,
      v.storage,
      mask?.storage ?? null,
      B,
      Tq,
      Tk,
      C,
      heads,
      causal,
      scale,
    );
  } catch (err) {
    out.dispose();
    probs.dispose();
    throw err;
  }
  record('attention', [q, k, v], [out], ([g]) => {
    const dq = Tensor.empty(q.shape, 'float32', dev);
    const dk = Tensor.empty(k.shape, 'float32', dev);
    const dv = Tensor.empty(v.shape, 'float32', dev);
    native.attention_backward(
      dq.storage,
      dk.storage,
      dv.storage,
      g!.storage,
      q.storage,
      k.storage,
      v.storage,
      probs.storage,
      B,
      Tq,
      Tk,
      C,
      heads,
      scale,
    );
    probs.dispose();
    return [dq, dk, dv].map((d, i) => {
      if (needsGrad([q, k, v][i]!)) return d;
      d.dispose();
      return null;
    });
  });
  // probs is saved for the backward (which frees it) and kept out of tidy() scopes.
  if (out._node === null) probs.dispose();
  else keep(probs);
  return out;
}
