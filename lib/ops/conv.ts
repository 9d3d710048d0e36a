// Ops of the `conv` family: forward calls the native kernel, backward is recorded on the tape.
//   causalConv1d(x (B,T,C), weight (C,K), bias (C)) -> y (B,T,C)
// Causal depthwise convolution over time, channels last:
//   y[b,t,c] = bias[c] + sum_{k<K} weight[c,k] * x[b, t-K+1+k, c]      (x = 0 at negative time)
// so y[b,t] depends on x[b, t-K+1 .. t] only. Differentiable in x, weight and bias.
import { needsGrad, record } from '../autograd.js';
import { native } from '../native/index.js';
import { Tensor, deviceOf, formatShape } from '../tensor.js';

export function causalConv1d(x: Tensor, weight: Tensor, bias: Tensor): Tensor {
  for (const [name, t] of Object.entries({ x, weight, bias })) {
    if (!(t instanceof Tensor)) throw new TypeError(`causalConv1d: ${name} must be a Tensor`);
    if (t.disposed) throw new Error(`causalConv1d: ${name} has been disposed`);
    if (t.dtype !== 'float32') throw new TypeError(`causalConv1d: ${name} must be float32, got ${t.describe()}`);
  }
  const shapes = `x ${formatShape(x.shape)}, weight ${formatShape(weight.shape)}, bias ${formatShape(bias.shape)}`;
  if (x.rank !== 3 || weight.rank !== 2 || bias.rank !== 1) {
    throw new RangeError(`causalConv1d: expected x (B,T,C), weight (C,K), bias (C), got ${shapes}`);
  }
  const [B, T, C] = x.shape as [number, number, number];
  const K = weight.shape[1]!;
  if (weight.shape[0] !== C || bias.shape[0] !== C) {
    throw new RangeError(`causalConv1d: weight must be (C,K) and bias (C) with C = ${C}, got ${shapes}`);
  }
  if (K < 1) throw new RangeError(`causalConv1d: kernel width K must be >= 1, got ${shapes}`);
  const dev = deviceOf('causalConv1d', x, weight, bias);
  const y = Tensor.empty([B, T, C], 'float32', dev);
  try {
    native.conv_forward(y.storage, x.storage, weight.storage, bias.storage, B, T, C, K);
  } catch (err) {
    y.dispose();
    throw err;
  }
  record('causalConv1d', [x, weight, bias], [y], ([g]) => {
    const dx = Tensor.empty([B, T, C], 'float32', dev);
    const dw = needsGrad(weight) ? Tensor.zeros([C, K], 'float32', dev) : null;
    const db = needsGrad(bias) ? Tensor.zeros([C], 'float32', dev) : null;
    native.conv_backward(dx.storage, dw?.storage ?? null, db?.storage ?? null, g!.storage, x.storage, weight.storage, B, T, C, K);
    if (!needsGrad(x)) {
      dx.dispose();
      return [null, dw, db];
    }
    return [dx, dw, db];
  });
  return y;
}
