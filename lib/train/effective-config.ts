// The effective configuration of a training run: every setting the run used, defaults
// included (the learning rate and schedule, batch, context, the model's sizes, clipping, the
// optimizer's settings, the tokenizer and vocabulary), for the report's configuration table.
import { NTASGD } from '../optim/asgd.js';
import type { Optimizer } from '../optim/optimizer.js';
import { RECURRENT_REGULARIZATION } from './families/rnn.js';
import { appliesTo } from './model-flags.js';
import type { ConfigValue, ModelKind, TrainRunOptions } from './options.js';

export type { ConfigValue } from './options.js';

/** The optimizer's own hyperparameters (those it has among momentum, betas, eps, weight decay, ...). */
export function optimizerSettings(opt: Optimizer): Record<string, ConfigValue> {
  const out: Record<string, ConfigValue> = {};
  // NT-ASGD: the wrapped optimizer's settings, plus its own trigger.
  if (opt instanceof NTASGD) {
    Object.assign(out, optimizerSettings(opt.inner));
    out.ntasgdNonmono = opt.nonmono;
    return out;
  }
  const o = opt as unknown as Record<string, unknown>;
  for (const k of ['momentum', 'nesterov', 'beta1', 'beta2', 'eps', 'weightDecay', 'rho', 'hessianInterval', 'relativeStep', 'clipThreshold', 'decayRate']) {
    const v = o[k];
    if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return out;
}

export interface EffectiveInput {
  model: ModelKind;
  options: TrainRunOptions;
  corpus: string;
  tokenizer: string;
  vocabSize: number;
  /** Count-based models: their settings (the family's counts.settings: context, order). */
  counts?: Record<string, ConfigValue>;
  /** Neural models: the resolved sizes and training settings. */
  neural?: {
    totalSteps: number;
    epochs: number | undefined;
    batch: number;
    context: number;
    embed: number;
    hidden: number;
    layers: number;
    heads: number;
    dropout: number;
    direct: boolean;
    buckets: number;
    accumulate: number;
    optimizer: string;
    optimizerObject: Optimizer;
    lr: number;
    schedule: string;
    warmup: number;
    clip: number | undefined;
  };
}

/** The run's settings by option name, sorted by name in the report. */
export function effectiveConfig(x: EffectiveInput): Record<string, ConfigValue> {
  const o = x.options;
  const c: Record<string, ConfigValue> = {
    model: x.model,
    corpus: x.corpus,
    tokenizer: x.tokenizer,
    vocabSize: x.vocabSize,
    seed: o.seed ?? 1,
    test: o.test !== false,
    evalTokens: o.evalTokens ?? 'all',
  };
  if (o.tokenizer === 'bpe') c.bpeVocab = o.bpeVocab ?? 1024;
  if (o.tokenizer !== 'gpt2' && o.tokenizer !== 'bpe') c.minCount = o.minCount ?? 4;
  const n = x.neural;
  if (!n) {
    Object.assign(c, x.counts);
    return c;
  }
  Object.assign(c, {
    steps: n.totalSteps,
    ...(n.epochs !== undefined ? { epochs: n.epochs } : {}),
    batch: n.batch,
    context: n.context,
    accumulate: n.accumulate,
    optimizer: n.optimizer,
    lr: n.lr,
    schedule: n.schedule,
    warmup: n.warmup,
    clip: n.clip ?? 'none',
    evalEvery: o.evalEvery ?? 'each epoch',
  });
  for (const [k, v] of Object.entries(optimizerSettings(n.optimizerObject))) c[`optimizer.${k}`] = v;
  const sizes: Record<string, ConfigValue> = { embed: n.embed, hidden: n.hidden, layers: n.layers, heads: n.heads, dropout: n.dropout, direct: n.direct, buckets: n.buckets };
  for (const [k, v] of Object.entries(sizes)) if (appliesTo(x.model, k as keyof TrainRunOptions)) c[k] = v;
  for (const k of RECURRENT_REGULARIZATION) {
    const v = o[k];
    if (v !== undefined && appliesTo(x.model, k)) c[k] = Array.isArray(v) ? v.join(',') : (v as number | boolean);
  }
  if (o.initRange !== undefined && appliesTo(x.model, 'initRange')) c.initRange = o.initRange;
  if (o.patience !== undefined) c.patience = o.patience;
  if (o.restoreBest) c.restoreBest = true;
  if (o.saveEvery !== undefined) c.saveEvery = o.saveEvery;
  return c;
}
