// LSTM cell, fused pointwise part. The caller computes the gate pre-activations with one
// matmul: gatesPre (B,4H) = x W_ih^T + hPrev W_hh^T + bias, gate order i, f, g, o (each a
// contiguous H-block of a row). Then
//   i, f, o = sigmoid, g = tanh;  c = f * cPrev + i * g;  h = o * tanh(c)
// Both outputs are differentiable (h feeds the next layer/step, c the next step).
import { needsGrad, record } from '../autograd.js';
import { native } from '../native/index.js';
import { Tensor, deviceOf, formatShape, keep } from '../tensor.js';

export interface LstmCellOutput {
  h: Tensor;
  c: Tensor;
}

export function lstmCell(gatesPre: Tensor, cPrev: Tensor): LstmCellOutput {
  if (gatesPre.dtype !== 'float32' || cPrev.dtype !== 'float32') {
    throw new TypeError(`lstmCell: inputs must be float32, got ${gatesPre.describe()} and ${cPrev.describe()}`);
  }
  if (gatesPre.rank !== 2 || cPrev.rank !== 2) {
    throw new RangeError(
      `lstmCell: gatesPre must be (B,4H) and cPrev (B,H), got ${formatShape(gatesPre.shape)} and ${formatShape(cPrev.shape)}`,
    );
  }
  const [B, H] = cPrev.shape as [number, number];
  if (gatesPre.shape[0] !== B || gatesPre.shape[1] !== 4 * H) {
    throw new RangeError(
      `lstmCell: gatesPre ${formatShape(gatesPre.shape)} must be [${B},${4 * H}] (B,4H) for cPrev ${formatShape(cPrev.shape)}`,
    );
  }
  const dev = deviceOf('lstmCell', gatesPre, cPrev);
  const h = Tensor.empty([B, H], 'float32', dev);
  const c = Tensor.empty([B, H], 'float32', dev);
  const gates = Tensor.empty([B, 4 * H], 'float32', dev);
  try {
    native.lstm_cell_forward(h.storage, c.storage, gates.storage, gatesPre.storage, cPrev.storage, B, H);
  } catch (err) {
    h.dispose();
    c.dispose();
    gates.dispose();
    throw err;
  }
  // Saved for the backward: the activated gates and a view of c (still valid if the caller disposes c).
  // Kept out of tidy() scopes: the backward frees them (or the GC, if it never runs).
  const cSaved = c.detach();
  record('lstmCell', [gatesPre, cPrev], [h, c], ([dh, dc]) => {
    const dgates = Tensor.empty([B, 4 * H], 'float32', dev);
    const dcPrev = needsGrad(cPrev) ? Tensor.empty([B, H], 'float32', dev) : null;
    native.lstm_cell_backward(
      dgates.storage,
      dcPrev?.storage ?? null,
      dh!.storage,
      dc!.storage,
      gates.storage,
      cSaved.storage,
      cPrev.storage,
      B,
      H,
    );
    gates.dispose();
    cSaved.dispose();
    if (!needsGrad(gatesPre)) {
      dgates.dispose();
      return [null, dcPrev];
    }
    return [dgates, dcPrev];
  });
  if (h._node === null) {
    gates.dispose();
    cSaved.dispose();
  } else {
    keep(gates);
    keep(cSaved);
  }
  return { h, c };
}
