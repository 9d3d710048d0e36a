// Matrix products. `matmul(a, b)` multiplies the last two dimensions:
//   a (..., M, K) @ b (..., K, N) -> (..., M, N), with equal leading (batch) dimensions, or
//   a (..., M, K) @ b (K, N)      -> (..., M, N)  (a weight shared by every row).
// `transA` / `transB` read a as (..., K, M) / b as (..., N, K) without copying.
import { needsGrad, record } from '../autograd.js';
import { native } from '../native/index.js';
import { Tensor, deviceOf, formatShape, shapeSize } from '../tensor.js';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

function fail(a: Tensor, b: Tensor, why: string): never {
  throw new RangeError(`matmul: ${why}: ${formatShape(a.shape)} @ ${formatShape(b.shape)}`);
}

export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new TypeError(`matmul: operands must be float32, got ${a.dtype} and ${b.dtype}`);
  }
  if (a.rank < 2 || b.rank < 2) fail(a, b, 'operands must have at least 2 dimensions');
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const M = transA ? ac : ar;
  const K = transA ? ar : ac;
  const Kb = transB ? bc : br;
  const N = transB ? br : bc;
  if (K !== Kb) fail(a, b, `inner dimensions differ (${K} vs ${Kb})`);
  const batchShape = a.shape.slice(0, -2);

  // A shared 2-D weight: fold a's batch dimensions into M (possible when a is not transposed).
  if (b.rank === 2 && a.rank > 2) {
    if (transA) fail(a, b, 'transA with a batched left operand and a 2-D right operand is not supported');
    const rows = shapeSize(batchShape) * M;
    const out2 = matmul(a.reshape([rows, K]), b, { transB });
    return out2.reshape([...batchShape, M, N]);
  }
  if (a.rank !== b.rank || batchShape.some((d, i) => d !== b.shape[i])) {
    fail(a, b, 'batch dimensions differ');
  }
  const batch = shapeSize(batchShape);
  const out = Tensor.empty([...batchShape, M, N], 'float32', deviceOf('matmul', a, b));
  native.matmul_forward(out.storage, a.storage, b.storage, batch, M, N, K, transA, transB);
  record('matmul', [a, b], [out], ([g]) => {
    const da = needsGrad(a) ? Tensor.empty(a.shape, 'float32', a.device) : null;
    const db = needsGrad(b) ? Tensor.empty(b.shape, 'float32', b.device) : null;
    native.matmul_backward(
      da?.storage ?? null,
      db?.storage ?? null,
      g!.storage,
      a.storage,
      b.storage,
      batch,
      M,
      N,
      K,
      transA,
      transB,
      false,
    );
    return [da, db];
  });
  return out;
}

/**
 * x W^T + b as one recorded op (Linear's forward): x (..., K), weight (N, K), bias (N) or null
 * -> (..., N). The arithmetic of `add(matmul(x, weight, { transB: true }), bias)` -- the bias is
 * added in place to the product, so values and gradients are the same bit for bit -- without
 * the product living on as a second tensor until backward (the autograd graph holds an op's
 * inputs, and the product was the bias add's input: one activation fewer per layer).
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  if (x.dtype !== 'float32' || weight.dtype !== 'float32' || (bias !== null && bias.dtype !== 'float32')) {
    throw new TypeError(`linear: x, weight and bias must be float32, got ${x.describe()}, ${weight.describe()}${bias ? `, ${bias.describe()}` : ''}`);
  }
  if (weight.rank !== 2) throw new RangeError(`linear: weight must be 2-D (out, in), got ${formatShape(weight.shape)}`);
  const [N, K] = weight.shape as [number, number];
  if (x.rank < 1 || x.shape[x.rank - 1] !== K) {
    throw new RangeError(`linear: x ${formatShape(x.shape)} must end in the weight's input size ${K} (weight ${formatShape(weight.shape)})`);
  }
  if (bias !== null && (bias.rank !== 1 || bias.shape[0] !== N)) {
    throw new RangeError(`linear: bias must be [${N}] for weight ${formatShape(weight.shape)}, got ${formatShape(bias.shape)}`);
  }
  const lead = x.shape.slice(0, -1);
  const rows = shapeSize(lead);
  const x2 = x.rank === 2 ? x : x.reshape([rows, K]);
  const out = Tensor.empty([rows, N], 'float32', deviceOf('linear', x, weight, bias));
  native.matmul_forward(out.storage, x2.storage, weight.storage, 1, rows, N, K, false, true);
  if (bias !== null) native.binary_forward('add', out.storage, out.storage, bias.storage, [rows, N], [N, 1], [0, 1]);
  const inputs = bias !== null ? [x2, weight, bias] : [x2, weight];
  record('linear', inputs, [out], ([g]) => {
    const dx = needsGrad(x2) ? Tensor.empty(x2.shape, 'float32', x2.device) : null;
    const dw = needsGrad(weight) ? Tensor.empty(weight.shape, 'float32', weight.device) : null;
    if (dx !== null || dw !== null) {
      native.matmul_backward(dx?.storage ?? null, dw?.storage ?? null, g!.storage, x2.storage, weight.storage, 1, rows, N, K, false, true, false);
    }
    let db: Tensor | null = null;
    if (bias !== null && needsGrad(bias)) {
      db = Tensor.empty([N], 'float32', bias.device);
      native.sum_to_shape(db.storage, g!.storage, [rows, N], [1, N]);
    }
    return bias !== null ? [dx, dw, db] : [dx, dw];
  });
  return x.rank === 2 ? out : out.reshape([...lead, N]);
}

/** The SGEMM implementation in use (for `lmkit info`). */
export function sgemmBackend(): string {
  return native.sgemm_backend();
}
