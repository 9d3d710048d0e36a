// The GPT-2 golden parity (test/fixtures/gpt2: a tiny GPT-2 and its logits, loss and every
// gradient recorded by PyTorch) on the CUDA device: the Hugging Face import, forward and backward
// on `cuda` reproduce PyTorch to the same limits as on the CPU (test/io/hf-gpt2.test.ts): logits
// and loss 1e-5, every gradient 1e-4 (TF32 off). Skipped without a CUDA device (real or emulated).
import { expect, it } from 'vitest';

process.env.LMKIT_CUDA_TF32 = '0';

import { setDefaultDevice } from '../../lib/tensor.js';
import { gpt2GoldenErrors } from '../support/gpt2-golden.js';
import { describeGpu } from './gpu.js';

describeGpu('GPT-2 golden parity on the CUDA device', () => {
  it('logits and loss to 1e-5, every gradient to 1e-4 of the PyTorch reference', () => {
    setDefaultDevice('cuda');
    try {
      const e = gpt2GoldenErrors();
      expect(e.logits).toBeLessThan(1e-5);
      expect(e.loss).toBeLessThan(1e-5);
      expect(e.grads.size).toBe(e.parameters);
      for (const [name, err] of e.grads) expect(err, `gradient of ${name}`).toBeLessThan(1e-4);
      process.stdout.write(`[test/gpu] gpt2 golden on cuda: logits ${e.logits.toExponential(2)}, loss ${e.loss.toExponential(2)}, worst gradient ${Math.max(...e.grads.values()).toExponential(2)}\n`);
    } finally {
      setDefaultDevice('cpu');
    }
  });
});
