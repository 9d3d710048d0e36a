// The GPT-2 golden comparison (test/fixtures/gpt2, from make_golden.py) as one function, so that
// any backend can run it: it imports the tiny GPT-2 on the current default device
// (setDefaultDevice), runs the fixed batch forward and backward, and returns the errors
// (max |lmkit - reference| / max |reference| per tensor; the loss: relative).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadPretrained } from '../../lib/io/hf-gpt2.js';
import { readSafetensors } from '../../lib/io/safetensors.js';
import { Tensor, crossEntropy } from '../../lib/index.js';

export const GPT2_FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'gpt2');

function relMaxErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const o = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) o[c * rows + r] = a[r * cols + c]!;
  return o;
}

/** The lmkit parameter of each HF tensor name (written out here independently of the importer). */
export function hfToLmkit(hf: string): { name: string; transposed: boolean } {
  const n = hf.replace(/^transformer\./, '');
  const fixed: Record<string, string> = { 'wte.weight': 'tokenEmbedding', 'wpe.weight': 'positionEmbedding', 'ln_f.weight': 'lnFinal.weight', 'ln_f.bias': 'lnFinal.bias' };
  if (fixed[n]) return { name: fixed[n]!, transposed: false };
  const m = /^h\.(\d+)\.(ln_1|ln_2|attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.(weight|bias)$/.exec(n)!;
  const sub = { ln_1: 'ln1', ln_2: 'ln2', 'attn.c_attn': 'attn.qkv', 'attn.c_proj': 'attn.proj', 'mlp.c_fc': 'mlp.fc', 'mlp.c_proj': 'mlp.proj' }[m[2]!]!;
  return { name: `blocks.${m[1]}.${sub}.${m[3]}`, transposed: m[3] === 'weight' && !m[2]!.startsWith('ln') };
}

export interface Gpt2GoldenErrors {
  logits: number;
  loss: number;
  /** Per lmkit parameter name; a parameter without a gradient is Infinity. */
  grads: Map<string, number>;
  /** Parameters of the model (to check that every one was compared). */
  parameters: number;
}

export function gpt2GoldenErrors(): Gpt2GoldenErrors {
  const golden = readSafetensors(path.join(GPT2_FIXTURES, 'golden.safetensors')).tensors;
  const { model } = loadPretrained(path.join(GPT2_FIXTURES, 'tiny'));
  try {
    const ids = golden.get('ids')!;
    const [B, T] = ids.shape as [number, number];
    const logits = model.forward(ids);
    const errLogits = relMaxErr(logits.toArray(), golden.get('logits')!.toArray());
    const loss = crossEntropy(logits, Tensor.fromArray(golden.get('targets')!.toArray(), [B * T], 'int32'));
    const refLoss = golden.get('loss')!.item();
    const errLoss = Math.abs(loss.item() - refLoss) / Math.abs(refLoss);
    loss.backward();
    const params = new Map(model.namedParameters());
    const grads = new Map<string, number>();
    for (const [k, g] of golden) {
      if (!k.startsWith('grad.')) continue;
      const { name, transposed } = hfToLmkit(k.slice(5));
      const p = params.get(name);
      if (!p?.grad) {
        grads.set(name, Infinity);
        continue;
      }
      let ref = g.toArray() as Float32Array;
      if (transposed) ref = transpose(ref, g.shape[0]!, g.shape[1]!);
      grads.set(name, relMaxErr(p.grad.toArray(), ref));
    }
    return { logits: errLogits, loss: errLoss, grads, parameters: params.size };
  } finally {
    model.dispose();
    for (const t of golden.values()) t.dispose();
  }
}
