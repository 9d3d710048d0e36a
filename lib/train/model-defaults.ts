// Each neural model family's default sizes, batch, learning rate and clipping (runTraining
// uses them for the options not given; `lmkit train --help` shows them), gathered from the
// family descriptors (registry.ts).
import type { Defaults } from './family.js';
import { FAMILIES, type NeuralKind } from './registry.js';

export type { Defaults } from './family.js';

/** Each neural model's default sizes, batch and learning rate (`lmkit train --help` shows them). */
export const MODEL_DEFAULTS: Readonly<Record<NeuralKind, Readonly<Defaults>>> = Object.fromEntries(
  FAMILIES.flatMap((f) => (f.neural ? [[f.name, f.neural.defaults]] : [])),
) as Record<NeuralKind, Readonly<Defaults>>;
