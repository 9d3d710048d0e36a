// `lmkit eval`, `lmkit generate`, `lmkit embed`: commands on a checkpoint saved by `lmkit train --out`.
// Text goes through the checkpoint's own tokenizer (checkpoint.json `tokenizer`), or for
// Brown word models through whitespace splitting and the saved vocabulary. What a model can do
// (evaluate, generate, give its embedding table) is its family's (lib/train/registry.ts).
import { existsSync, statSync } from 'node:fs';

import { RangeTokenSource, evaluateInChunks, type TokenSource } from '../data/tokensource.js';
import { decodeIds, openEvalSplit } from '../data/training-corpus.js';
import { analogy, nearestNeighbors, type Neighbor } from '../embeddings.js';
import { unknownPromptWarning } from '../generate/prompt.js';
import { native } from '../native/index.js';
import type { Tensor } from '../tensor.js';
import type { EvalResult } from '../train/trainer.js';
import { loadAnyTrained, type LoadedNgram, type LoadedTrained } from '../train/checkpointing.js';
import { evaluateModel, familyOf, generativeKinds, listWords } from '../train/registry.js';
import { EVAL_STREAMS } from '../train/jobs.js';
import { evaluateWithCache, type CacheEvalResult, type CacheScore } from '../models/cache.js';
import { evaluateDynamic, type DynamicEvalResult } from '../models/dynamic-eval.js';
import { RecurrentLM, evaluateRecurrent } from '../models/rnn.js';

function load(dir: string, threads?: number): LoadedTrained | LoadedNgram {
  if (threads) native.setNumThreads(threads);
  if (!existsSync(dir)) throw new Error(`checkpoint directory ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new Error(`checkpoint ${dir} is not a directory`);
  return loadAnyTrained(dir);
}

/** Frees a loaded checkpoint's model (count-based models hold only JS arrays). */
export function release(t: LoadedTrained | LoadedNgram): void {
  if (familyOf(t.kind).neural) (t as LoadedTrained).model.dispose();
}


export interface EvalFlags {
  checkpoint: string;
  /** 'brown', a text file or folder, or a token file; default: the corpus the model was trained on. */
  corpus?: string;
  split: 'valid' | 'test';
  evalTokens?: number;
  /** rnn, lstm: a neural cache of this many positions per stream. */
  cache?: number;
  /** With cache: the theta values (several: tuned on the valid split). */
  cacheTheta?: number[];
  /** With cache: the lambda values (several: tuned on the valid split). */
  cacheLambda?: number[];
  /** rnn, lstm: dynamic evaluation with these SGD step sizes (several: tuned on the valid split). */
  dynamicLr?: number[];
  /** With dynamicLr: the decay(s) toward the trained weights (several: tuned on the valid split). */
  dynamicDecay?: number[];
  /** With dynamicLr: the window (tokens per stream between updates); default the model's context. */
  dynamicWindow?: number;
  /** With --cache or --dynamic-lr: parallel streams the split is read as (default EVAL_STREAMS, as a plain eval). */
  streams?: number;
  /** With --cache or --dynamic-lr: tune on the first N tokens of the valid split (default all, up to --eval-tokens). */
  tuneTokens?: number;
  threads?: number;
  json?: boolean;
}

/** The (theta, lambda) grid `lmkit eval --cache N` tunes on the valid split when none is given. */
export const CACHE_THETAS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 4, 5, 7, 10];
export const CACHE_LAMBDAS = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3];

export function runEval(f: EvalFlags): void {
  if (f.cache === undefined && (f.cacheTheta !== undefined || f.cacheLambda !== undefined)) {
    throw new Error('--cache-theta and --cache-lambda need --cache N (the positions to keep)');
  }
  if (f.dynamicLr === undefined && (f.dynamicDecay !== undefined || f.dynamicWindow !== undefined)) {
    throw new Error('--dynamic-decay and --dynamic-window need --dynamic-lr (the step sizes)');
  }
  for (const [flag, v] of [['--tune-tokens', f.tuneTokens], ['--streams', f.streams]] as const) {
    if (v !== undefined && f.cache === undefined && f.dynamicLr === undefined) throw new Error(`${flag} needs --cache or --dynamic-lr`);
  }
  const t = load(f.checkpoint, f.threads);
  try {
    if (f.cache !== undefined) return evalWithCache(t, f);
    if (f.dynamicLr !== undefined) return evalDynamic(t, f);
    const counts = familyOf(t.kind).counts;
    const job = counts ? null : (t as LoadedTrained).meta.job;
    if (!counts && !job) throw new Error(`checkpoint ${f.checkpoint}: no training setup (job) in the metadata; cannot evaluate`);
    const context = counts ? counts.contextOf(t.model) : job!.context;
    const corpus = evalCorpus(t, f);
    const split = openEvalSplit(corpus, f.split, t);
    try {
      const ids = evalSource(split.source, corpus, f.split, context, f.evalTokens);
      // A count-based model scores the whole split at once, as training does.
      const r = counts
        ? counts.evaluate(t.model, ids.read(0, ids.length))
        : evaluateInChunks((a) => evaluateModel((t as LoadedTrained).kind, (t as LoadedTrained).model, job!, a), ids);
      if (f.json) {
        process.stdout.write(
          `${JSON.stringify({ event: 'eval', kind: t.kind, corpus, split: f.split, tokens: ids.length, loss: r.loss, ppl: r.ppl })}\n`,
        );
      } else {
        process.stdout.write(`${t.kind} on ${corpus} ${f.split} (${ids.length} tokens): loss ${r.loss.toFixed(4)}, perplexity ${r.ppl.toFixed(1)}\n`);
      }
    } finally {
      split.close();
    }
  } finally {
    release(t);
  }
}

/** The corpus `lmkit eval` reads: --corpus, else the one the model was trained on. */
function evalCorpus(t: LoadedTrained | LoadedNgram, f: EvalFlags): string {
  return f.corpus ?? (typeof t.meta.corpus === 'string' ? t.meta.corpus : 'brown');
}

/** A split's tokens as `lmkit eval` scores them: the first --eval-tokens, at least context + 2. */
function evalSource(src: TokenSource, corpus: string, split: 'valid' | 'test', context: number, evalTokens?: number): TokenSource {
  const ids = evalTokens !== undefined && evalTokens < src.length ? new RangeTokenSource(src, 0, evalTokens) : src;
  if (ids.length < context + 2) {
    throw new Error(`corpus ${corpus} is too small for the model's context ${context}: the ${split} split has ${ids.length} tokens, at least ${context + 2} are needed`);
  }
  return ids;
}

/** A split's tokens in memory (the neural cache reads each stream from its start). */
function splitIds(t: LoadedTrained, corpus: string, split: 'valid' | 'test', context: number, evalTokens?: number): Int32Array {
  const s = openEvalSplit(corpus, split, t);
  try {
    const ids = evalSource(s.source, corpus, split, context, evalTokens);
    return ids.read(0, ids.length);
  } finally {
    s.close();
  }
}

/** The fields every `lmkit eval --json` line of an adapted or cached evaluation starts with. */
function evalEvent(t: LoadedTrained | LoadedNgram, corpus: string, split: string, tokens: number, score: EvalResult, base: EvalResult): Record<string, unknown> {
  return { event: 'eval', kind: t.kind, corpus, split, tokens, loss: score.loss, ppl: score.ppl, base_loss: base.loss, base_ppl: base.ppl };
}

/** The valid tokens a tuning reads: --tune-tokens, within --eval-tokens. */
function tuneLimit(f: EvalFlags): number | undefined {
  if (f.tuneTokens === undefined) return f.evalTokens;
  return f.evalTokens === undefined ? f.tuneTokens : Math.min(f.tuneTokens, f.evalTokens);
}

/** The recurrent model of a checkpoint, for an evaluation only they have (`flag` names it). */
function recurrentOf(t: LoadedTrained | LoadedNgram, flag: string): { model: RecurrentLM; context: number } {
  const trained = t as LoadedTrained;
  if (!(trained.model instanceof RecurrentLM) || !trained.meta.job) {
    throw new Error(`${flag} needs a recurrent model (rnn, lstm), not ${t.kind}`);
  }
  return { model: trained.model, context: trained.meta.job.context };
}

/**
 * `lmkit eval --cache N`: the perplexity with a neural cache (lib/models/cache.ts). Several
 * (theta, lambda) values are tuned on the valid split and the best is applied to --split. With
 * --dynamic-lr the weights also adapt as dynamic evaluation does (one pass per (lr, decay)).
 */
function evalWithCache(t: LoadedTrained | LoadedNgram, f: EvalFlags): void {
  const trained = t as LoadedTrained;
  const { model, context } = recurrentOf(t, '--cache');
  const corpus = evalCorpus(t, f);
  const size = f.cache!;
  const theta = f.cacheTheta ?? CACHE_THETAS;
  const lambda = f.cacheLambda ?? CACHE_LAMBDAS;
  const dynamic = f.dynamicLr ? f.dynamicLr.flatMap((lr) => (f.dynamicDecay ?? DYNAMIC_DECAYS).map((decay) => ({ lr, decay }))) : null;
  const window = dynamic ? (f.dynamicWindow ?? DYNAMIC_WINDOW) : context;
  const streams = f.streams ?? EVAL_STREAMS;
  const pairs = dynamic ?? [undefined];
  const tune = theta.length * lambda.length * pairs.length > 1;
  let tuned: { result: CacheEvalResult; dynamic?: { lr: number; decay: number } }[] | null = null;
  let chosen = { theta: theta[0]!, lambda: lambda[0]!, dynamic: pairs[0] };
  let tokens = 0;
  if (tune) {
    const valid = splitIds(trained, corpus, 'valid', window, tuneLimit(f));
    tokens = valid.length;
    const what = dynamic ? `${theta.length * lambda.length} (theta, lambda) pairs for each of ${pairs.length} dynamic (lr, decay) pairs` : `${theta.length * lambda.length} (theta, lambda) pairs`;
    process.stderr.write(`neural cache: scoring ${what} on the valid split (${valid.length} tokens)\n`);
    tuned = pairs.map((d) => ({ result: evaluateWithCache(model, valid, streams, window, { size, theta, lambda, ...(d ? { dynamic: d } : {}) }), ...(d ? { dynamic: d } : {}) }));
    const ok = tuned.filter((x) => !x.result.diverged);
    if (ok.length === 0) throw new Error(`dynamic evaluation diverged at every lr given (${f.dynamicLr!.join(', ')}): give smaller --dynamic-lr values`);
    const top = ok.reduce((x, y) => (y.result.best.loss < x.result.best.loss ? y : x));
    chosen = { theta: top.result.best.theta, lambda: top.result.best.lambda, dynamic: top.dynamic };
  }
  let r: CacheEvalResult;
  let score: CacheScore;
  const reuse = f.split === 'valid' && tuned && tuneLimit(f) === f.evalTokens ? tuned.find((x) => x.dynamic === chosen.dynamic)! : null;
  let ids: Int32Array | null = null;
  if (reuse) {
    r = reuse.result;
    score = r.best;
  } else {
    ids = splitIds(trained, corpus, f.split, window, f.evalTokens);
    tokens = ids.length;
    r = evaluateWithCache(model, ids, streams, window, { size, theta: [chosen.theta], lambda: [chosen.lambda], ...(chosen.dynamic ? { dynamic: chosen.dynamic } : {}) });
    if (r.diverged) throw new Error(`dynamic evaluation diverged at lr ${chosen.dynamic!.lr}: give smaller --dynamic-lr values`);
    score = r.scores[0]!;
  }
  // With dynamic evaluation, the static model alone beside (a forward pass on the same windows).
  const still = dynamic ? evaluateRecurrent(model, ids ?? splitIds(trained, corpus, 'valid', window, tuneLimit(f)), streams, window) : null;
  const dyn = chosen.dynamic;
  if (f.json) {
    process.stdout.write(
      `${JSON.stringify({
        ...evalEvent(t, corpus, f.split, tokens, score, r.base),
        ...(still ? { static_loss: still.loss, static_ppl: still.ppl } : {}),
        cache: { size, theta: score.theta, lambda: score.lambda, tuned_on: tune ? 'valid' : null },
        ...(dyn ? { dynamic: { lr: dyn.lr, decay: dyn.decay, window, streams, tuned_on: tune ? 'valid' : null } } : {}),
        ...(tuned
          ? {
              grid: tuned.flatMap((x) =>
                x.result.scores.map((s) => ({ ...(x.dynamic ? { lr: x.dynamic.lr, decay: x.dynamic.decay, diverged: x.result.diverged } : {}), theta: s.theta, lambda: s.lambda, ppl: s.ppl })),
              ),
            }
          : {}),
      })}\n`,
    );
  } else {
    const how = `size ${size}, theta ${score.theta}, lambda ${score.lambda}${dyn ? `, dynamic lr ${dyn.lr}, decay ${dyn.decay}, window ${window}` : ''}${tune ? ', tuned on valid' : ''}`;
    process.stdout.write(
      `${t.kind} on ${corpus} ${f.split} (${tokens} tokens) with a neural cache${dyn ? ' and dynamic evaluation' : ''} (${how}): ` +
        `loss ${score.loss.toFixed(4)}, perplexity ${score.ppl.toFixed(1)} (without the cache ${r.base.ppl.toFixed(1)}${still ? `, static ${still.ppl.toFixed(1)}` : ''})\n`,
    );
  }
}

/** The (lr, decay) grid `lmkit eval --dynamic-lr` tunes when several are given; the defaults of --dynamic-decay and --dynamic-window. */
export const DYNAMIC_DECAYS = [0];
export const DYNAMIC_WINDOW = 20;

/**
 * `lmkit eval --dynamic-lr L`: dynamic evaluation (lib/models/dynamic-eval.ts). Several
 * (lr, decay) pairs are tuned on the valid split (one pass each) and the best is applied to --split.
 */
function evalDynamic(t: LoadedTrained | LoadedNgram, f: EvalFlags): void {
  const { model } = recurrentOf(t, '--dynamic-lr');
  const corpus = evalCorpus(t, f);
  const lr = f.dynamicLr!;
  const decay = f.dynamicDecay ?? DYNAMIC_DECAYS;
  const window = f.dynamicWindow ?? DYNAMIC_WINDOW;
  const streams = f.streams ?? EVAL_STREAMS;
  const tune = lr.length * decay.length > 1;
  // Progress on stderr for long passes: a line every 30 s (none for a short evaluation).
  const run = (ids: Int32Array, grid: { lr: number[]; decay: number[] }, what: string): DynamicEvalResult => {
    const t0 = performance.now();
    let last = t0;
    return evaluateDynamic(model, ids, streams, window, grid, (pair, n) => {
      const now = performance.now();
      if (now - last < 30_000) return;
      last = now;
      process.stderr.write(`dynamic evaluation (${what}): lr ${pair.lr}, decay ${pair.decay}: ${((100 * n) / ids.length).toFixed(0)}% (${((now - t0) / 1000).toFixed(0)} s)\n`);
    });
  };
  let tuned: DynamicEvalResult | null = null;
  let chosen = { lr: lr[0]!, decay: decay[0]! };
  let tokens = 0;
  if (tune) {
    const valid = splitIds(t as LoadedTrained, corpus, 'valid', window, tuneLimit(f));
    tokens = valid.length;
    process.stderr.write(`dynamic evaluation: scoring ${lr.length * decay.length} (lr, decay) pairs on the valid split (${valid.length} tokens, one pass each)\n`);
    tuned = run(valid, { lr, decay }, `valid, ${valid.length} tokens`);
    for (const s of tuned.scores) process.stderr.write(`  lr ${s.lr}, decay ${s.decay}: perplexity ${s.diverged ? 'diverged' : s.ppl.toFixed(2)}\n`);
    chosen = tuned.best;
  }
  let r: DynamicEvalResult;
  if (f.split === 'valid' && tuned && tuneLimit(f) === f.evalTokens) {
    r = tuned;
  } else {
    const ids = splitIds(t as LoadedTrained, corpus, f.split, window, f.evalTokens);
    tokens = ids.length;
    r = run(ids, { lr: [chosen.lr], decay: [chosen.decay] }, `${f.split}, ${ids.length} tokens`);
  }
  const score = r.best;
  const base = r.base;
  if (score.diverged) throw new Error(`dynamic evaluation diverged at lr ${score.lr}: give smaller --dynamic-lr values`);
  if (f.json) {
    process.stdout.write(
      `${JSON.stringify({
        ...evalEvent(t, corpus, f.split, tokens, score, base),
        dynamic: { lr: score.lr, decay: score.decay, window, streams, tuned_on: tune ? 'valid' : null },
        ...(tuned ? { grid: tuned.scores.map((s) => ({ lr: s.lr, decay: s.decay, ppl: s.ppl, diverged: s.diverged })) } : {}),
      })}\n`,
    );
  } else {
    process.stdout.write(
      `${t.kind} on ${corpus} ${f.split} (${tokens} tokens) with dynamic evaluation (lr ${score.lr}, decay ${score.decay}, window ${window}${tune ? ', tuned on valid' : ''}): ` +
        `loss ${score.loss.toFixed(4)}, perplexity ${score.ppl.toFixed(1)} (static ${base.ppl.toFixed(1)})\n`,
    );
  }
}

export interface GenerateFlags {
  checkpoint: string;
  prompt: string;
  maxTokens: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed: number;
  threads?: number;
}


export async function runGenerate(f: GenerateFlags): Promise<void> {
  const t = load(f.checkpoint, f.threads);
  try {
    const family = familyOf(t.kind);
    if (family.noGenerate) throw new Error(family.noGenerate.error);
    const ids = t.tokenizer.encode(f.prompt);
    if (ids.length === 0) throw new Error('the prompt has no tokens');
    const unknown = unknownPromptWarning(t.tokenizer, ids);
    if (unknown !== null) process.stderr.write(`lmkit: warning: ${unknown}\n`);
    if (!family.generate) throw new Error(`generate supports ${listWords(generativeKinds())} checkpoints, not ${t.kind}`);
    const out = await family.generate(t.model, ids, {
      maxTokens: f.maxTokens,
      temperature: f.temperature,
      topK: f.topK,
      topP: f.topP,
      seed: f.seed,
    });
    process.stdout.write(`${decodeIds(t, out)}\n`);
  } finally {
    release(t);
  }
}

export interface EmbedFlags {
  checkpoint: string;
  neighbors?: string;
  analogy?: string[];
  k: number;
  threads?: number;
  json?: boolean;
}

/** The input word-embedding table (V, C) of a model. */
function embeddingTable(t: LoadedTrained | LoadedNgram): Tensor {
  const table = familyOf(t.kind).neural?.embedding;
  if (!table) throw new Error(`${t.kind} models have no word-embedding table`);
  return table(t.model);
}

export function runEmbed(f: EmbedFlags): void {
  if ((f.neighbors === undefined) === (f.analogy === undefined)) {
    throw new Error('embed needs exactly one of --neighbors WORD or --analogy A B C');
  }
  if (f.analogy !== undefined && f.analogy.length !== 3) {
    throw new Error(`--analogy needs three words (A B C for A : B :: C : ?), got ${f.analogy.length}`);
  }
  const t = load(f.checkpoint, f.threads);
  try {
    const table = embeddingTable(t);
    let query: string[];
    let result: Neighbor[];
    try {
      if (f.neighbors !== undefined) {
        query = [f.neighbors];
        result = nearestNeighbors(table, t.vocab, f.neighbors, f.k);
      } else {
        const [a, b, c] = f.analogy as [string, string, string];
        query = [a, b, c];
        result = analogy(table, t.vocab, a, b, c, f.k);
      }
    } catch (err) {
      // "nearestNeighbors: unknown word 'x' ..." -> "unknown word 'x' ..."
      throw new Error(err instanceof Error ? err.message.replace(/^\w+: /, '') : String(err));
    }
    if (f.json) {
      process.stdout.write(
        `${JSON.stringify({ query, neighbors: result.map((n) => ({ word: n.word, similarity: n.similarity })) })}\n`,
      );
    } else {
      for (const n of result) process.stdout.write(`${n.word}\t${n.similarity.toFixed(4)}\n`);
    }
  } finally {
    release(t);
  }
}
