// A log-linear (maximum-entropy) language model:
//   score(x, y) = theta · f(x, y),   P(y | x) = softmax_y(score(x, y))
// with hashed indicator features of the context x conjoined with every candidate y. Each feature
// template (e.g. 'unigram@1': "the previous token is w") maps the context to one key; the key is
// hashed into one of `buckets` rows of a (buckets, V) weight table W, so
//   logits(x) = bias + sum_{templates f} W[hash(f, key_f(x)), :]
// computed as embedding(W, featureIds (B,F)) summed over F, plus a bias (V). The objective (cross
// entropy) is convex in (W, bias); the model is trained by gradient descent like any Module.
//
// Context convention (as contextWindows): ids (B, context) with ids[b, context-1] the token right
// before the one predicted; position k (1-based, counted backwards) is ids[b, context-k].
//
// Feature templates:
//   'unigram@k'          the token k positions back                       (1 <= k <= context)
//   'bigram@i-j'         the pair of tokens i and j positions back        (distinct, each in 1..context)
//   'trigram@i-j-k'      the triple of tokens i, j, k positions back
//   'ngram@i-j-...'      any tuple of distinct positions (same as the above for 1..3 of them)
//   { name, key(ctx) }   a custom template: key(ctx) gets the context tokens (oldest first, length
//                        context) and returns an integer or a string (any value, e.g. 'none', is a
//                        feature value of its own).
// Every template has exactly one active key per example (F = number of templates).
//
// Hashing (deterministic, independent of the model seed and of the platform; see hashFeature):
//   h = mix(0x811c9dc5 ^ fnv1a(template)), then h = mix(h ^ v) for each value v of the key, row = h mod buckets
// where the key's values are the token ids at the template's positions (in the order written),
// a custom integer key k is [k mod 2^32, floor(k / 2^32) mod 2^32], and a custom string key is a
// tag 0x5354, its UTF-16 code units, then its length. The template name hashed is canonical
// ('unigram@1' -> 'ngram@1', 'bigram@1-2' -> 'ngram@1-2') or the custom feature's name, so the
// same templates give the same rows in every model (rows are rebuilt from the saved config).
// mix: golden-ratio multiply then the murmur3 32-bit finalizer.
import { embedding } from '../ops/embedding.js';
import { add } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { Module, uniformInit } from '../nn/module.js';
import { Tensor } from '../tensor.js';

/** A user-defined feature template: one key per context. */
export interface CustomFeature {
  name: string;
  /** The context tokens, oldest first (length = context) -> the feature's value. */
  key: (context: Int32Array) => number | string;
}

export type FeatureSpec = string | CustomFeature;

export interface LogLinearConfig {
  vocabSize: number;
  /** How many previous tokens the model sees (width of the input ids). */
  context: number;
  /** Rows of the hashed weight table. */
  buckets: number;
  /** Feature templates; default: every 'unigram@k' for k = 1..context, plus 'bigram@1-2' when context >= 2. */
  features?: FeatureSpec[];
  /** Initial weights uniform in [-initRange, initRange]; default 0 (the objective is convex). */
  initRange?: number;
  seed?: number;
}

/** FNV-1a hash of a string's UTF-16 code units (32-bit). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function mix(h: number): number {
  h = Math.imul(h >>> 0, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The bucket of a feature: template hash (fnv1a of its name) and the key's values (token ids, or
 * a string's code units) folded in with `mix`, modulo `buckets`. Deterministic.
 */
export function hashFeature(templateHash: number, key: ArrayLike<number> | string, buckets: number): number {
  let h = mix(0x811c9dc5 ^ templateHash);
  if (typeof key === 'string') {
    h = mix(h ^ 0x5354); // type tag: string
    for (let i = 0; i < key.length; i++) h = mix(h ^ key.charCodeAt(i));
    h = mix(h ^ key.length);
  } else {
    for (let i = 0; i < key.length; i++) h = mix(h ^ (key[i]! >>> 0));
  }
  return h % buckets;
}

/** A parsed template: either token positions (1-based, backwards) or a custom key function. */
interface Template {
  name: string;
  /** The name hashed (canonical for position templates). */
  canon: string;
  hash: number;
  positions: number[] | null;
  key: CustomFeature['key'] | null;
}

function parseTemplate(spec: FeatureSpec, context: number): Template {
  if (typeof spec === 'object' && spec !== null) {
    if (typeof spec.name !== 'string' || spec.name.length === 0 || typeof spec.key !== 'function') {
      throw new TypeError('LogLinearLM: a custom feature must be { name: non-empty string, key: function }');
    }
    return { name: spec.name, canon: spec.name, hash: fnv1a(spec.name), positions: null, key: spec.key };
  }
  if (typeof spec !== 'string') throw new TypeError(`LogLinearLM: feature must be a string or { name, key }, got ${typeof spec}`);
  const m = /^(unigram|bigram|trigram|ngram)@(\d+(?:-\d+)*)$/.exec(spec);
  if (!m) {
    throw new RangeError(`LogLinearLM: unknown feature '${spec}' (expected unigram@k, bigram@i-j, trigram@i-j-k or ngram@i-j-...)`);
  }
  const positions = m[2]!.split('-').map(Number);
  const want = { unigram: 1, bigram: 2, trigram: 3, ngram: 0 }[m[1] as 'unigram' | 'bigram' | 'trigram' | 'ngram'];
  if (want > 0 && positions.length !== want) {
    throw new RangeError(`LogLinearLM: feature '${spec}' needs ${want} position(s)`);
  }
  for (const p of positions) {
    if (!Number.isInteger(p) || p < 1 || p > context) {
      throw new RangeError(`LogLinearLM: feature '${spec}' uses position ${p}, outside 1..context (${context})`);
    }
  }
  if (new Set(positions).size !== positions.length) throw new RangeError(`LogLinearLM: feature '${spec}' repeats a position`);
  // The canonical name keys the hash: 'bigram@1-2' and 'ngram@1-2' are the same template.
  const name = `ngram@${positions.join('-')}`;
  return { name: spec, canon: name, hash: fnv1a(name), positions, key: null };
}

function defaultFeatures(context: number): string[] {
  const f: string[] = [];
  for (let k = 1; k <= context; k++) f.push(`unigram@${k}`);
  if (context >= 2) f.push('bigram@1-2');
  return f;
}

export class LogLinearLM extends Module {
  readonly config: Required<Omit<LogLinearConfig, 'features'>> & { features: FeatureSpec[] };
  /** Hashed feature weights (buckets, V). */
  readonly weight: Tensor;
  /** Per-token bias (V). */
  readonly bias: Tensor;
  private readonly templates: Template[];

  constructor(config: LogLinearConfig) {
    super();
    if (config === null || typeof config !== 'object') throw new TypeError('LogLinearLM: config must be an object');
    for (const k of ['vocabSize', 'context', 'buckets'] as const) {
      const v = config[k];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
        throw new RangeError(`LogLinearLM: ${k} must be a positive integer, got ${String(v)}`);
      }
    }
    if (config.buckets > 0x7fffffff) throw new RangeError(`LogLinearLM: buckets must be < 2^31, got ${config.buckets}`);
    const features = config.features ?? defaultFeatures(config.context);
    if (!Array.isArray(features) || features.length === 0) throw new RangeError('LogLinearLM: features must be a non-empty array');
    const initRange = config.initRange ?? 0;
    if (typeof initRange !== 'number' || !(initRange >= 0) || !Number.isFinite(initRange)) {
      throw new RangeError(`LogLinearLM: initRange must be a finite number >= 0, got ${String(initRange)}`);
    }
    const seed = config.seed ?? 1;
    if (!Number.isSafeInteger(seed)) throw new RangeError(`LogLinearLM: seed must be an integer, got ${String(seed)}`);
    this.templates = features.map((f) => parseTemplate(f, config.context));
    const names = new Set<string>();
    for (const t of this.templates) {
      if (names.has(t.canon)) throw new RangeError(`LogLinearLM: feature '${t.name}' is given twice`);
      names.add(t.canon);
    }
    this.config = { vocabSize: config.vocabSize, context: config.context, buckets: config.buckets, features: [...features], initRange, seed };
    const { buckets, vocabSize: V } = this.config;
    this.weight = this.param(
      'weight',
      initRange > 0 ? uniformInit([buckets, V], initRange, seed) : Tensor.zeros([buckets, V]),
    );
    this.bias = this.param('bias', initRange > 0 ? uniformInit([V], initRange, seed + 1) : Tensor.zeros([V]));
  }

  /** Number of feature templates F (active features per example). */
  get numFeatures(): number {
    return this.templates.length;
  }

  /** Names of the feature templates, in order. */
  get featureNames(): string[] {
    return this.templates.map((t) => t.name);
  }

  /** The (B*F) bucket ids of the active features of every row of ids (B*context values, row-major). */
  featureIds(ids: ArrayLike<number>): Int32Array {
    const { context, vocabSize, buckets } = this.config;
    if (ids.length % context !== 0) {
      throw new RangeError(`LogLinearLM: ${ids.length} ids are not a whole number of rows of ${context}`);
    }
    const B = ids.length / context;
    const F = this.templates.length;
    const out = new Int32Array(B * F);
    const ctx = new Int32Array(context);
    const key: number[] = [];
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < context; j++) {
        const t = ids[b * context + j]!;
        if (!Number.isInteger(t) || t < 0 || t >= vocabSize) {
          throw new RangeError(`LogLinearLM: token ${t} at [${b},${j}] is out of range [0, ${vocabSize})`);
        }
        ctx[j] = t;
      }
      for (let f = 0; f < F; f++) {
        const tpl = this.templates[f]!;
        let bucket: number;
        if (tpl.positions) {
          key.length = 0;
          for (const p of tpl.positions) key.push(ctx[context - p]!);
          bucket = hashFeature(tpl.hash, key, buckets);
        } else {
          const k = tpl.key!(Int32Array.from(ctx));
          if (typeof k === 'string') bucket = hashFeature(tpl.hash, k, buckets);
          else if (typeof k === 'number' && Number.isInteger(k)) bucket = hashFeature(tpl.hash, [k >>> 0, (k / 2 ** 32) >>> 0], buckets);
          else throw new TypeError(`LogLinearLM: custom feature '${tpl.name}' returned ${String(k)} (expected an integer or a string)`);
        }
        out[b * F + f] = bucket;
      }
    }
    return out;
  }

  /** ids (B, context) int32 -> logits (B, V). */
  forward(ids: Tensor): Tensor {
    const { context } = this.config;
    if (!(ids instanceof Tensor) || ids.dtype !== 'int32' || ids.rank !== 2 || ids.shape[1] !== context) {
      throw new RangeError(
        `LogLinearLM: expected int32 ids of shape [B,${context}], got ${ids instanceof Tensor ? ids.describe() : typeof ids}`,
      );
    }
    const B = ids.shape[0]!;
    if (B < 1) throw new RangeError('LogLinearLM: empty batch');
    const fids = Tensor.fromArray(this.featureIds(ids.toArray() as Int32Array), [B, this.templates.length], 'int32');
    const rows = embedding(this.weight, fids); // (B, F, V)
    return add(sum(rows, 1), this.bias); // (B, V)
  }
}
