// The model families lmkit trains, by name: one descriptor per family (families/<name>.ts,
// described in family.ts). The training run, checkpointing, `lmkit train`'s flags and help,
// `lmkit eval/generate/embed/import/export` and the report look a family up here instead of
// switching on its name. Adding a family: one file under families/ and one line in FAMILIES
// (docs/adding-a-model-family.md walks through one).
import type { EvalResult } from './trainer.js';
import type { FamilyFlag, JobConfig, ModelFamily, NeuralPart, PretrainedFormat, ShapeOption } from './family.js';
import { ffnn } from './families/ffnn.js';
import { loglinear } from './families/loglinear.js';
import { lstm } from './families/lstm.js';
import { mamba } from './families/mamba.js';
import { mlm } from './families/mlm.js';
import { ngram } from './families/ngram.js';
import { rnn } from './families/rnn.js';
import { transformer } from './families/transformer.js';

/** Every family, in the order `lmkit train --help` lists them. */
export const FAMILIES = [ngram, loglinear, ffnn, rnn, lstm, transformer, mlm, mamba] as const;

type Registered = (typeof FAMILIES)[number];
type NeuralRegistered = Extract<Registered, { neural: object }>;
type ModelOf<F> = F extends { neural: NeuralPart<infer M, infer _C> } ? M : never;
type ConfigOf<F> = F extends { neural: NeuralPart<infer _M, infer C> } ? C : never;

/** The name of a model family ('ngram', 'lstm', ...). */
export type ModelKind = Registered['name'];
/** The kinds of trained model that have a constructor config (the gradient-trained families). */
export type NeuralKind = NeuralRegistered['name'];
/** A model of a gradient-trained family. */
export type NeuralModel = ModelOf<NeuralRegistered>;
/** The constructor config of a model of each kind. */
export type ModelConfig = ConfigOf<NeuralRegistered>;
/** A registered family, looked up by a name known only at run time. */
export type AnyFamily = ModelFamily<ModelKind, any, any>;
/** A registered gradient-trained family. */
export type AnyNeuralFamily = AnyFamily & { neural: NeuralPart<any, any> };

/** The names of the families, in registry order. */
export const MODEL_KINDS: readonly ModelKind[] = FAMILIES.map((f) => f.name);

const BY_NAME: ReadonlyMap<string, AnyFamily> = new Map(FAMILIES.map((f) => [f.name, f as AnyFamily]));

/** True when `name` is a registered family. */
export function isModelKind(name: unknown): name is ModelKind {
  return typeof name === 'string' && BY_NAME.has(name);
}

/** The family called `name`; an Error listing the known names otherwise. */
export function familyOf(name: unknown): AnyFamily {
  const f = typeof name === 'string' ? BY_NAME.get(name) : undefined;
  if (!f) throw new Error(`unknown model '${String(name)}' (one of ${MODEL_KINDS.join(', ')})`);
  return f;
}

/** The gradient-trained family called `kind` (an Error for an unknown or a count-based one). */
export function neuralFamilyOf(kind: unknown): AnyNeuralFamily {
  const f = BY_NAME.get(String(kind));
  if (!f?.neural) throw new Error(`unknown model kind '${String(kind)}'`);
  return f as AnyNeuralFamily;
}

/** The families that generate text (`lmkit generate`), in registry order. */
export function generativeKinds(): ModelKind[] {
  return FAMILIES.filter((f) => (f as AnyFamily).generate !== undefined).map((f) => f.name);
}

/** 'a, b and c'. */
export function listWords(words: readonly string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)!}`;
}

/** The constructor config of the model a job of `kind` trains. */
export function modelConfigFor(kind: NeuralKind, c: JobConfig): ModelConfig {
  return neuralFamilyOf(kind).neural.config(c) as ModelConfig;
}

/** A fresh model of `kind` from its constructor config. */
export function buildModel(kind: NeuralKind, config: ModelConfig): NeuralModel {
  return neuralFamilyOf(kind).neural.build(config) as NeuralModel;
}

/**
 * The evaluation of a `kind` model as training does it (perplexity over `ids`), with the
 * job's context/batching `c`. Puts the model in eval mode for the call, then back to train.
 */
export function evaluateModel(kind: NeuralKind, model: NeuralModel, c: JobConfig, ids: Int32Array): EvalResult {
  const wasTraining = model.training;
  model.eval();
  try {
    return neuralFamilyOf(kind).neural.evaluator(model, c)(ids);
  } finally {
    model.train(wasTraining);
  }
}

/** The formats of other ecosystems (`lmkit import --from`, `lmkit export --to`), from the families that have them. */
export function pretrainedFormats(): { name: string; family: AnyNeuralFamily; format: PretrainedFormat<any, any> }[] {
  return FAMILIES.flatMap((f) => {
    const fam = f as AnyFamily;
    if (!fam.neural?.formats) return [];
    return Object.entries(fam.neural.formats).map(([name, format]) => ({ name, family: fam as AnyNeuralFamily, format }));
  });
}

/** Every family's own flags (`lmkit train`), with the family that has each, in registry order. */
export function familyFlags(): { family: ModelKind; flag: FamilyFlag }[] {
  return FAMILIES.flatMap((f) => ((f as AnyFamily).flags ?? []).map((flag) => ({ family: f.name, flag })));
}

/** The value of a family's own option when it is not given (ffnn's --direct: false, loglinear's --buckets: 2048). */
export function optionDefault<T extends number | boolean>(option: ShapeOption, fallback: T): T {
  const hit = familyFlags().find((x) => x.flag.option === option);
  return (hit?.flag.default as T | undefined) ?? fallback;
}

/** The names of the families that use the shared option `option`, in registry order. */
export function familiesUsing(option: ShapeOption): ModelKind[] {
  return FAMILIES.filter((f) => (f as AnyFamily).uses.includes(option)).map((f) => f.name);
}

/** The names of the families whose --context means `meaning`. */
export function familiesWithContext(meaning: 'previous' | 'sequence'): ModelKind[] {
  return FAMILIES.filter((f) => f.context === meaning).map((f) => f.name);
}
