// Shared by the point-wise op families (activations, elementwise); not part of the public API.
import { record } from '../autograd.js';
import type { NativeStorage } from '../native/index.js';
import { Tensor } from '../tensor.js';

export type UnaryKernel = (out: NativeStorage, inp: NativeStorage, n: number) => void;
export type UnaryBackKernel = (dinp: NativeStorage, dout: NativeStorage, saved: NativeStorage, n: number) => void;

/** TypeError/Error unless `t` is a live float32 Tensor. */
export function checkFloat(op: string, name: string, t: Tensor): void {
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a Tensor`);
  if (t.disposed) throw new Error(`${op}: ${name} (${t.toString()}) has been disposed`);
  if (t.dtype !== 'float32') throw new TypeError(`${op}: ${name} must be float32, got ${t.describe()}`);
}

/**
 * A differentiable unary op over a native kernel pair; the backward reads the saved output
 * (`savesOut`) or the input.
 */
export function unary(op: string, x: Tensor, fwd: UnaryKernel, bwd: UnaryBackKernel, savesOut: boolean): Tensor {
  checkFloat(op, 'x', x);
  const out = Tensor.empty(x.shape, 'float32', x.device);
  fwd(out.storage, x.storage, x.size);
  record(op, [x], [out], ([g]) => {
    const dx = Tensor.empty(x.shape, 'float32', x.device);
    bwd(dx.storage, g!.storage, (savesOut ? out : x).storage, x.size);
    return [dx];
  });
  return out;
}
