// `lmkit eval`, `lmkit generate`, `lmkit embed`: commands on a checkpoint saved by `lmkit train --out`.
// Text goes through the checkpoint's own tokenizer (checkpoint.json `tokenizer`), or for
// Brown word models through whitespace splitting and the saved vocabulary. What a model can do
// (evaluate, generate, give its embedding table) is its family's (lib/train/registry.ts).
import { existsSync, statSync } from 'node:fs';

import { RangeTokenSource, evaluateInChunks } from '../data/tokensource.js';
import { decodeIds, openEvalSplit } from '../data/training-corpus.js';
import { analogy, nearestNeighbors, type Neighbor } from '../embeddings.js';
import { unknownPromptWarning } from '../generate/prompt.js';
import { native } from '../native/index.js';
import type { Tensor } from '../tensor.js';
import { loadAnyTrained, type LoadedNgram, type LoadedTrained } from '../train/checkpointing.js';
import { evaluateModel, familyOf, generativeKinds, listWords } from '../train/registry.js';

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
  threads?: number;
  json?: boolean;
}

export function runEval(f: EvalFlags): void {
  const t = load(f.checkpoint, f.threads);
  try {
    const counts = familyOf(t.kind).counts;
    const job = counts ? null : (t as LoadedTrained).meta.job;
    if (!counts && !job) throw new Error(`checkpoint ${f.checkpoint}: no training setup (job) in the metadata; cannot evaluate`);
    const context = counts ? counts.contextOf(t.model) : job!.context;
    const corpus = f.corpus ?? (typeof t.meta.corpus === 'string' ? t.meta.corpus : 'brown');
    const split = openEvalSplit(corpus, f.split, t);
    try {
      let ids = split.source;
      if (f.evalTokens !== undefined && f.evalTokens < ids.length) ids = new RangeTokenSource(ids, 0, f.evalTokens);
      const need = context + 2;
      if (ids.length < need) {
        throw new Error(`corpus ${corpus} is too small for the model's context ${context}: the ${f.split} split has ${ids.length} tokens, at least ${need} are needed`);
      }
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
