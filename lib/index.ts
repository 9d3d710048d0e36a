// lmkit: train and run neural language models from TypeScript.
export { Tensor, tidy, keep, memory, makeRng, shapeSize, formatShape } from './tensor.js';
export type { DType, Device, Shape, NestedArray } from './tensor.js';
export { backward, backwardMany, noGrad, isGradEnabled, needsGrad, record, zeroGrad } from './autograd.js';
export type { BackwardFn, GradNode } from './autograd.js';
export { native } from './native/index.js';
export * from './ops/index.js';

import { native } from './native/index.js';

/** Threads used by the native kernels. */
export function numThreads(): number {
  return native.numThreads();
}

/** Sets the native thread count (0 restores LMKIT_NUM_THREADS or the number of cores). */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
