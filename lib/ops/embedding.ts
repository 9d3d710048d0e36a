// Embedding lookup: rows of a (V,C) table selected by int32 ids of any shape.
//   embedding(table (V,C), ids (...)) -> (..., C)
// Backward: the table's gradient is a scatter-add of the output gradient (repeated ids add up).
import { needsGrad, record } from '../autograd.js';
import { native } from '../native/index.js';
import { Tensor, deviceOf, formatShape } from '../tensor.js';

export function embedding(table: Tensor, ids: Tensor): Tensor {
  if (table.dtype !== 'float32') throw new TypeError(`embedding: table must be float32, got ${table.describe()}`);
  if (table.rank !== 2) {
    throw new RangeError(`embedding: table must be 2-D (V,C), got shape ${formatShape(table.shape)}`);
  }
  if (ids.dtype !== 'int32') throw new TypeError(`embedding: ids must be int32, got ${ids.describe()}`);
  const [V, C] = table.shape as [number, number];
  if (V === 0) throw new RangeError(`embedding: table ${formatShape(table.shape)} has no rows`);
  const N = ids.size;
  const out = Tensor.empty([...ids.shape, C], 'float32', deviceOf('embedding', table, ids));
  try {
    native.embedding_forward(out.storage, ids.storage, table.storage, N, V, C);
  } catch (err) {
    out.dispose();
    throw err;
  }
  record('embedding', [table, ids], [out], ([g]) => {
    if (!needsGrad(table)) return [null, null];
    const dtable = Tensor.zeros(table.shape, 'float32', table.device);
    native.embedding_backward(dtable.storage, g!.storage, ids.storage, N, V, C);
    return [dtable, null];
  });
  return out;
}
