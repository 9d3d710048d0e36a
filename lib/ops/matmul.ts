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

/** The SGEMM implementation in use (for `lmkit info`). */
export function sgemmBackend(): string {
  return native.sgemm_backend();
}
