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

/** The type of a built-in family's descriptor (one of FAMILIES). */
export type RegisteredFamily = (typeof FAMILIES)[number];
/** The type of a built-in gradient-trained family's descriptor. */
export type RegisteredNeuralFamily = Extract<RegisteredFamily, { neural: object }>;
/** The model class of a neural family descriptor type. */
export type ModelOf<F> = F extends { neural: NeuralPart<infer M, infer _C> } ? M : never;
/** The constructor config of a neural family descriptor type. */
export type ConfigOf<F> = F extends { neural: NeuralPart<infer _M, infer C> } ? C : never;

/** The name of a model family ('ngram', 'lstm', ...). */
export type ModelKind = RegisteredFamily['name'];
/** The kinds of trained model that have a constructor config (the gradient-trained families). */
export type NeuralKind = RegisteredNeuralFamily['name'];
/** A model of a gradient-trained family. */
export type NeuralModel = ModelOf<RegisteredNeuralFamily>;
/** The constructor config of a model of each kind. */
export type ModelConfig = ConfigOf<RegisteredNeuralFamily>;
/** A registered family, looked up by a name known only at run time. */
export type AnyFamily = ModelFamily<ModelKind, any, any>;
/** A registered gradient-trained family. */
export type AnyNeuralFamily = AnyFamily & { neural: NeuralPart<any, any> };

// The families known at run time: the built-in ones, then those of registerFamily().
const REGISTERED: AnyFamily[] = [...FAMILIES];
const BY_NAME = new Map<string, AnyFamily>(REGISTERED.map((f) => [f.name, f]));

/** The names of the families, in registry order (registerFamily() appends to it). */
export const MODEL_KINDS: readonly ModelKind[] = REGISTERED.map((f) => f.name);

/** Every family known now: the built-in ones (FAMILIES), then the registered ones. */
export function families(): readonly AnyFamily[] {
  return REGISTERED;
}

/**
 * Adds a model family from outside lmkit at run time (a family of the repository is a file
 * under families/ and a line in FAMILIES instead): runTraining({ model: family.name }),
 * loadTrained / loadAnyTrained, evaluateModel and the checkpoint commands then know it. The
 * descriptor is checked (a new lower-case name, the functions of its part); the CLI's --model
 * choices are the built-in families. See docs/adding-a-model-family.md.
 */
export function registerFamily(family: ModelFamily<string, any, any>): void {
  const f = family as Partial<ModelFamily<string, any, any>> | null;
  const bad = (why: string): never => {
    throw new TypeError(`registerFamily(${JSON.stringify(f?.name)}): ${why}`);
  };
  if (typeof f !== 'object' || f === null) return bad('the descriptor must be an object');
  if (typeof f.name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(f.name)) bad('name must be lower-case letters, digits and dashes');
  if (BY_NAME.has(f.name!)) bad(`a family named '${f.name}' is already registered`);
  if (f.context !== 'previous' && f.context !== 'sequence') bad("context must be 'previous' or 'sequence'");
  if (!Array.isArray(f.uses)) bad('uses must be an array of option names');
  if (typeof f.describe !== 'function') bad('describe must be a function');
  if ((f.neural === undefined) === (f.counts === undefined)) bad('a family has exactly one of neural and counts');
  const need = (part: object, names: readonly string[], where: string): void => {
    for (const n of names) if (typeof (part as Record<string, unknown>)[n] !== 'function') bad(`${where}.${n} must be a function`);
  };
  if (f.neural) {
    need(f.neural, ['config', 'build', 'job', 'evaluator'], 'neural');
    if (!['windows', 'streams', 'masked', 'sequences'].includes(f.neural.batches)) bad('neural.batches must be windows, streams, masked or sequences');
    const d = f.neural.defaults as unknown as Record<string, unknown> | undefined;
    for (const k of ['batch', 'context', 'embed', 'hidden', 'layers', 'heads', 'lr']) {
      if (typeof d?.[k] !== 'number' || !Number.isFinite(d[k])) bad(`neural.defaults.${k} must be a number`);
    }
  } else {
    need(f.counts!, ['train', 'evaluate', 'contextOf', 'toCheckpoint', 'fromCheckpoint', 'trained', 'settings', 'contextLabel'], 'counts');
  }
  REGISTERED.push(f as AnyFamily);
  BY_NAME.set(f.name!, f as AnyFamily);
  (MODEL_KINDS as string[]).push(f.name!);
}

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
  return REGISTERED.filter((f) => f.generate !== undefined).map((f) => f.name);
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
  return REGISTERED.flatMap((fam) => {
    if (!fam.neural?.formats) return [];
    return Object.entries(fam.neural.formats).map(([name, format]) => ({ name, family: fam as AnyNeuralFamily, format }));
  });
}

/** Every family's own flags (`lmkit train`), with the family that has each, in registry order. */
export function familyFlags(): { family: ModelKind; flag: FamilyFlag }[] {
  return REGISTERED.flatMap((f) => (f.flags ?? []).map((flag) => ({ family: f.name, flag })));
}

/** The value of a family's own option when it is not given (ffnn's --direct: false, loglinear's --buckets: 2048). */
export function optionDefault<T extends number | boolean>(option: ShapeOption, fallback: T): T {
  const hit = familyFlags().find((x) => x.flag.option === option);
  return (hit?.flag.default as T | undefined) ?? fallback;
}

/** The names of the families that use the shared option `option`, in registry order. */
export function familiesUsing(option: ShapeOption): ModelKind[] {
  return REGISTERED.filter((f) => f.uses.includes(option)).map((f) => f.name);
}

/** The names of the families whose --context means `meaning`. */
export function familiesWithContext(meaning: 'previous' | 'sequence'): ModelKind[] {
  return REGISTERED.filter((f) => f.context === meaning).map((f) => f.name);
}
