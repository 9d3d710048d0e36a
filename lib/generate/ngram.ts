// Sampling text from an n-gram model (KneserNeyLM): each next token is drawn from
// P(. | the last n-1 tokens) (KneserNeyLM.probs), with the sampling options of the neural
// generators (temperature, top-k, top-p; lib/generate/sampling.ts applied to log P) and the
// same seeded generator (one draw per token), so a seed fixes the sequence.
import type { KneserNeyLM } from '../models/ngram.js';
import { makeRng } from '../tensor.js';
import { checkSamplingOptions, sampleToken, type SamplingOptions } from './sampling.js';

export interface NgramGenerateOptions extends SamplingOptions {
  /** Tokens to produce. */
  maxTokens: number;
  /** Seed of the sampling generator. Default 1. */
  seed?: number;
}

/** Up to `maxTokens` token ids sampled after `promptIds` (an empty prompt starts from no context). */
export function generateNgram(model: KneserNeyLM, promptIds: ArrayLike<number>, opts: NgramGenerateOptions): Int32Array {
  if (opts === null || typeof opts !== 'object') throw new TypeError('generateNgram: options { maxTokens, ... } are required');
  if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 0) {
    throw new RangeError(`generateNgram: maxTokens must be an integer >= 0, got ${String(opts.maxTokens)}`);
  }
  checkSamplingOptions(opts, 'generateNgram');
  const rng = makeRng(opts.seed ?? 1);
  const sampling: SamplingOptions = { temperature: opts.temperature, topK: opts.topK, topP: opts.topP };
  const keep = Math.max(0, model.order - 1);
  const context: number[] = keep === 0 ? [] : Array.from(promptIds).slice(-keep);
  const out = new Int32Array(opts.maxTokens);
  const logits = new Float32Array(model.vocabSize);
  for (let i = 0; i < opts.maxTokens; i++) {
    const p = model.probs(context);
    for (let w = 0; w < p.length; w++) logits[w] = Math.log(p[w]!);
    const id = sampleToken(logits, sampling, rng);
    out[i] = id;
    context.push(id);
    if (context.length > keep) context.splice(0, context.length - keep);
  }
  return out;
}
