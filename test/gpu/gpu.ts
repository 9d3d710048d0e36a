// Shared by the CUDA op suite (test/gpu/*.test.ts): whether a CUDA device can be used, and
// helpers that run one computation on the CPU and on the CUDA device and compare.
//
// The suite needs the CUDA addon (bash scripts/build-cuda.sh) loaded with a visible GPU:
// `npm run test:gpu` builds it and runs this folder with LMKIT_BACKEND=cuda. Anywhere else
// (the normal `npm test`, CI without a GPU) every test here is skipped and the reason is printed.
// NOTE: written without a GPU; this suite has not run on one yet (docs/cuda.md).
import { describe, expect } from 'vitest';

import { Tensor, tidy } from '../../lib/index.js';
import type { Device, Shape } from '../../lib/index.js';
import { native, nativeLoadInfo } from '../../lib/native/index.js';
import { expectClose, randomArray } from '../helpers.js';

function detect(): { ok: boolean; reason: string } {
  if (native.backend !== 'cuda') {
    const err = nativeLoadInfo.cuda?.error;
    const why = err && !nativeLoadInfo.reason.includes(err) ? `: ${err}` : '';
    return { ok: false, reason: `the CPU addon is loaded (${nativeLoadInfo.reason})${why}` };
  }
  const n = native.deviceCount?.() ?? 0;
  if (n === 0) return { ok: false, reason: `the CUDA addon sees no GPU (${nativeLoadInfo.cuda?.error ?? 'no device'})` };
  return { ok: true, reason: `${nativeLoadInfo.cuda?.name ?? 'GPU'} (${nativeLoadInfo.path})` };
}

export const gpu = detect();
let printed = false;

/** `describe` that runs only with a usable CUDA device, else skips and prints why (once per file). */
export function describeGpu(name: string, fn: () => void): void {
  if (!gpu.ok && !printed) {
    printed = true;
    process.stdout.write(`[test/gpu] CUDA op suite skipped: ${gpu.reason}\n`);
  }
  describe.skipIf(!gpu.ok)(gpu.ok ? name : `${name} (skipped: no CUDA device)`, fn);
}

/** One input of a compared computation. */
export interface Input {
  shape: Shape;
  /** float32 values (default: seeded uniform [-1, 1)), or int32 ids. */
  data?: Float32Array | Int32Array;
  seed?: number;
  lo?: number;
  hi?: number;
  /** Differentiate with respect to this input (float32 only). Default true for float32. */
  grad?: boolean;
}

export interface Tolerance {
  atol?: number;
  rtol?: number;
}

interface Result {
  out: Float32Array | Int32Array;
  grads: (Float32Array | null)[];
}

function run(dev: Device, inputs: Input[], f: (...xs: Tensor[]) => Tensor, backward: boolean, gseed: number): Result {
  return tidy(() => {
    const xs = inputs.map((inp, k) => {
      const data =
        inp.data ??
        randomArray(
          inp.shape.reduce((a, b) => a * b, 1),
          inp.seed ?? 100 + k,
          inp.lo ?? -1,
          inp.hi ?? 1,
        );
      const t = Tensor.fromArray(data, inp.shape, data instanceof Int32Array ? 'int32' : 'float32', dev);
      if (t.dtype === 'float32' && inp.grad !== false && backward) t.requireGrad();
      return t;
    });
    const out = f(...xs);
    expect(out.device).toBe(dev);
    const res: Result = { out: out.toArray(), grads: xs.map(() => null) };
    if (backward && out.dtype === 'float32') {
      const g = out.size === 1 && out.rank === 0 ? undefined : Tensor.fromArray(randomArray(out.size, gseed), out.shape, 'float32', dev);
      out.backward(g);
      res.grads = xs.map((x) => (x.grad ? (x.grad.toArray() as Float32Array) : null));
      for (const x of xs) {
        if (x.grad) expect(x.grad.device).toBe(dev);
      }
    }
    return res;
  });
}

/**
 * Runs `f` on CPU tensors and on CUDA tensors holding the same values; compares the outputs
 * and (with `backward`, the default) the gradients of every float32 input for a random
 * upstream gradient.
 */
export function compareDevices(
  what: string,
  inputs: Input[],
  f: (...xs: Tensor[]) => Tensor,
  tol: Tolerance & { grad?: Tolerance; backward?: boolean } = {},
): void {
  const backward = tol.backward ?? true;
  const cpu = run('cpu', inputs, f, backward, 999);
  const cuda = run('cuda', inputs, f, backward, 999);
  const t = { atol: tol.atol ?? 1e-5, rtol: tol.rtol ?? 1e-4 };
  expectClose(cuda.out, cpu.out, { ...t, what: `${what}: forward` });
  cpu.grads.forEach((g, k) => {
    const h = cuda.grads[k];
    if (g === null) {
      expect(h, `${what}: grad of input ${k} exists on cuda only`).toBeNull();
      return;
    }
    expect(h, `${what}: grad of input ${k} missing on cuda`).not.toBeNull();
    expectClose(h!, g, { atol: tol.grad?.atol ?? t.atol, rtol: tol.grad?.rtol ?? t.rtol, what: `${what}: grad of input ${k}` });
  });
}

/** Sizes that straddle warp (32), block (256) and GEMM tile (64) edges. */
export const EDGE_SIZES = [1, 17, 63, 65, 129];
