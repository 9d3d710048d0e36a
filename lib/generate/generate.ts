// Autoregressive text generation: stream token ids from a trained language model.
//
//   for await (const id of generate(model, prompt, { maxTokens: 50, temperature: 0.8, topK: 40, seed: 1 })) ...
//   const ids = await generateAll(model, prompt, { maxTokens: 50 });
//
// Per model (every step under noGrad and tidy; the model is put in eval mode for the
// generation and given its previous mode back at the end):
//   FeedForwardLM  the last `context` ids; a prompt shorter than the context is padded on
//                  the left with id 0 (<unk>).
//   RecurrentLM    the prompt is fed once, then one token per step with the carried
//                  recurrent state: O(1) per new token.
//   TransformerLM  a KV cache per block: the prompt is run once, then each new token runs the
//                  blocks on ONE position, attending to the cached keys/values (projections
//                  O(C^2), attention O(t C), instead of a full forward over t positions).
//                  The learned position table has `context` rows: when the cache is full, the
//                  window slides by re-running the last ceil(context/2) tokens (a fresh cache
//                  at positions 0..), so past the context the output is that of a model that
//                  sees between ceil(context/2) and context tokens, not exactly the last
//                  `context`. Use `{ kvCache: false }` for the exact sliding window
//                  (a full forward over the last `context` tokens at every step).
//   MambaLM        the forward over the last MAMBA_WINDOW tokens (prompt + generated) at every
//                  step (exact up to that window: the selective scan is causal; O(t) a step).
// An empty prompt is read as the single token 0 (<unk>).
// `stop`: a predicate or a list of ids; a stop token ends the generation and is NOT yielded.
import { noGrad } from '../autograd.js';
import { add } from '../ops/elementwise.js';
import { attention } from '../ops/attention.js';
import { embedding } from '../ops/embedding.js';
import { matmul } from '../ops/matmul.js';
import { gelu } from '../ops/activations.js';
import { concat, slice, split } from '../ops/shape.js';
import { FeedForwardLM } from '../models/ffnn.js';
import { MambaLM } from '../models/mamba.js';
import { RecurrentLM, detachState, disposeState, type RecurrentState } from '../models/rnn.js';
import { TransformerLM } from '../models/transformer.js';
import { Tensor, keep, makeRng, tidy } from '../tensor.js';
import { checkSamplingOptions, sampleToken, type SamplingOptions } from './sampling.js';

export type GenerativeModel = FeedForwardLM | RecurrentLM | TransformerLM | MambaLM;

/** True for the models generate() samples from (feed-forward, recurrent, Transformer and Mamba LMs). */
export function isGenerative(model: unknown): model is GenerativeModel {
  return model instanceof FeedForwardLM || model instanceof RecurrentLM || model instanceof TransformerLM || model instanceof MambaLM;
}

/** MambaLM generation: the tokens each step's forward reads at most (prompt + generated). */
export const MAMBA_WINDOW = 1024;

export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to produce (the stop token not counted, and not yielded). */
  maxTokens: number;
  /** Seed of the sampling generator. Default 1. */
  seed?: number;
  /** Ends the generation when the sampled id matches (predicate or list of ids). */
  stop?: ((id: number) => boolean) | readonly number[];
  /** TransformerLM only: use the KV cache (default true); false recomputes the last `context` tokens each step. */
  kvCache?: boolean;
}

/** One model's incremental decoder: logits of the next token after the tokens fed so far. */
export interface Decoder {
  /** Feeds the prompt (non-empty); returns the next-token logits (V). */
  prime(prompt: Int32Array): Float32Array;
  /** Feeds one more token; returns the next-token logits (V). */
  step(id: number): Float32Array;
  /** Frees whatever the decoder holds (idempotent). */
  dispose(): void;
}

function lastRow(logits: Tensor): Float32Array {
  const V = logits.shape[logits.rank - 1]!;
  return logits.storage.read(logits.size - V, V) as Float32Array;
}

function run<T>(fn: () => T): T {
  return noGrad(() => tidy(fn));
}

// ---- FeedForwardLM: a sliding window of the last `context` ids -------------------------------

class FeedForwardDecoder implements Decoder {
  private window: Int32Array;
  constructor(private readonly model: FeedForwardLM) {
    this.window = new Int32Array(model.config.context); // padded with 0 (<unk>)
  }
  private logits(): Float32Array {
    return run(() => lastRow(this.model.forward(Tensor.fromArray(this.window, [1, this.window.length], 'int32'))));
  }
  prime(prompt: Int32Array): Float32Array {
    const n = this.window.length;
    const tail = prompt.subarray(Math.max(0, prompt.length - n));
    this.window.fill(0);
    this.window.set(tail, n - tail.length);
    return this.logits();
  }
  step(id: number): Float32Array {
    this.window.copyWithin(0, 1);
    this.window[this.window.length - 1] = id;
    return this.logits();
  }
  dispose(): void {}
}

// ---- RecurrentLM: the carried state ------------------------------------------------------------

class RecurrentDecoder implements Decoder {
  private state: RecurrentState | null = null;
  constructor(private readonly model: RecurrentLM) {}
  private feed(ids: Int32Array): Float32Array {
    return run(() => {
      const r = this.model.forward(Tensor.fromArray(ids, [1, ids.length], 'int32'), this.state);
      const next = detachState(r.state); // kept views: survive the tidy
      disposeState(this.state);
      this.state = next;
      return lastRow(r.logits);
    });
  }
  prime(prompt: Int32Array): Float32Array {
    disposeState(this.state);
    this.state = null;
    return this.feed(prompt);
  }
  step(id: number): Float32Array {
    return this.feed(Int32Array.of(id));
  }
  dispose(): void {
    disposeState(this.state);
    this.state = null;
  }
}

// ---- TransformerLM: KV cache -------------------------------------------------------------------

/**
 * Incremental forward of a TransformerLM (eval mode: no dropout), reading the model's
 * parameters: the same computation as `TransformerLM.forward` (pre-norm blocks, fused qkv,
 * causal multi-head attention, gelu MLP, final LayerNorm, tied output), split over time.
 */
export class TransformerKVCache implements Decoder {
  /** Per block: cached keys and values (1, t, C), or null before the first token. */
  private keys: (Tensor | null)[];
  private values: (Tensor | null)[];
  /** Tokens in the cache (their positions are 0..length-1). */
  private tokens: number[] = [];

  constructor(private readonly model: TransformerLM) {
    this.keys = model.blocks.map(() => null);
    this.values = model.blocks.map(() => null);
  }

  get length(): number {
    return this.tokens.length;
  }

  private clear(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.keys = this.model.blocks.map(() => null);
    this.values = this.model.blocks.map(() => null);
    this.tokens = [];
  }

  /** Runs `ids` at positions length..length+n-1 against the cache; returns the last logits row. */
  private extend(ids: Int32Array): Float32Array {
    const m = this.model;
    const { embed: C, heads } = m.config;
    const P = this.tokens.length;
    const n = ids.length;
    const out = run(() => {
      let x = add(embedding(m.tokenEmbedding, Tensor.fromArray(ids, [1, n], 'int32')), slice(m.positionEmbedding, 0, P, P + n));
      m.blocks.forEach((block, l) => {
        const [q, k, v] = split(block.attn.qkv.forward(block.ln1.forward(x)), -1, [C, C, C]) as [Tensor, Tensor, Tensor];
        const oldK = this.keys[l];
        const oldV = this.values[l];
        const K = keep(oldK ? concat([oldK, k], 1) : k);
        const Vt = keep(oldV ? concat([oldV, v], 1) : v);
        oldK?.dispose();
        oldV?.dispose();
        this.keys[l] = K;
        this.values[l] = Vt;
        // causal: query i (position P+i) sees keys j <= i + P.
        const y = attention(q, K, Vt, { heads, causal: true });
        const h = add(x, block.attn.proj.forward(y));
        x = add(h, block.mlp.proj.forward(gelu(block.mlp.fc.forward(block.ln2.forward(h)))));
      });
      const last = slice(x, 1, n - 1, n).reshape([1, C]);
      return lastRow(matmul(m.lnFinal.forward(last), m.tokenEmbedding, { transB: true }));
    });
    for (const id of ids) this.tokens.push(id);
    return out;
  }

  prime(prompt: Int32Array): Float32Array {
    this.clear();
    const T = this.model.config.context;
    return this.extend(prompt.subarray(Math.max(0, prompt.length - T)));
  }

  step(id: number): Float32Array {
    const T = this.model.config.context;
    if (this.tokens.length < T) return this.extend(Int32Array.of(id));
    // Full: slide the window, keeping the last ceil(T/2) tokens (the new one included).
    const keepN = Math.ceil(T / 2);
    const window = Int32Array.from([...this.tokens, id].slice(-keepN));
    this.clear();
    return this.extend(window);
  }

  dispose(): void {
    this.clear();
  }
}

/**
 * A model without an incremental state: each step is a full forward over the last `window`
 * tokens (TransformerLM without a KV cache: its context; MambaLM: MAMBA_WINDOW).
 */
class WindowRecompute implements Decoder {
  private tokens: number[] = [];
  constructor(
    private readonly model: { forward(ids: Tensor): Tensor },
    private readonly window: number,
  ) {}
  private logits(): Float32Array {
    const w = Int32Array.from(this.tokens.slice(-this.window));
    return run(() => lastRow(this.model.forward(Tensor.fromArray(w, [1, w.length], 'int32'))));
  }
  prime(prompt: Int32Array): Float32Array {
    this.tokens = Array.from(prompt);
    return this.logits();
  }
  step(id: number): Float32Array {
    this.tokens.push(id);
    return this.logits();
  }
  dispose(): void {}
}

/** The incremental decoder for a model (see the notes at the top of this file). */
export function makeDecoder(model: GenerativeModel, opts: { kvCache?: boolean } = {}): Decoder {
  if (model instanceof FeedForwardLM) return new FeedForwardDecoder(model);
  if (model instanceof RecurrentLM) return new RecurrentDecoder(model);
  if (model instanceof TransformerLM) return opts.kvCache === false ? new WindowRecompute(model, model.config.context) : new TransformerKVCache(model);
  if (model instanceof MambaLM) return new WindowRecompute(model, MAMBA_WINDOW);
  throw new TypeError('generate: the model must be a FeedForwardLM, a RecurrentLM, a TransformerLM or a MambaLM');
}

function vocabSizeOf(model: GenerativeModel): number {
  return model.config.vocabSize;
}

function checkOptions(model: GenerativeModel, promptIds: Int32Array, opts: GenerateOptions): void {
  if (!isGenerative(model)) {
    throw new TypeError('generate: the model must be a FeedForwardLM, a RecurrentLM, a TransformerLM or a MambaLM');
  }
  if (!(promptIds instanceof Int32Array)) throw new TypeError('generate: promptIds must be an Int32Array');
  if (opts === null || typeof opts !== 'object') throw new TypeError('generate: options { maxTokens, ... } are required');
  if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 0) {
    throw new RangeError(`generate: maxTokens must be an integer >= 0, got ${String(opts.maxTokens)}`);
  }
  checkSamplingOptions(opts, 'generate');
  if (opts.seed !== undefined && !Number.isFinite(opts.seed)) throw new RangeError(`generate: seed must be a number, got ${String(opts.seed)}`);
  const stop = opts.stop;
  if (stop !== undefined && typeof stop !== 'function' && !Array.isArray(stop)) {
    throw new TypeError('generate: stop must be a function (id) => boolean or an array of ids');
  }
  const V = vocabSizeOf(model);
  for (let i = 0; i < promptIds.length; i++) {
    const id = promptIds[i]!;
    if (id < 0 || id >= V) throw new RangeError(`generate: prompt id ${id} at index ${i} is outside the vocabulary [0, ${V})`);
  }
}

/**
 * Streams up to `maxTokens` sampled token ids after the prompt, yielding to the event loop
 * (setImmediate) before computing each token. Breaking out of the loop frees the caches.
 */
export async function* generate(model: GenerativeModel, promptIds: Int32Array, opts: GenerateOptions): AsyncGenerator<number, void, undefined> {
  checkOptions(model, promptIds, opts);
  const { maxTokens, seed = 1, stop, kvCache } = opts;
  if (maxTokens === 0) return;
  const isStop: (id: number) => boolean =
    typeof stop === 'function' ? stop : Array.isArray(stop) ? ((s) => (id: number) => s.has(id))(new Set(stop)) : () => false;
  const rng = makeRng(seed);
  const sampling: SamplingOptions = { temperature: opts.temperature, topK: opts.topK, topP: opts.topP };
  const wasTraining = model.training;
  const decoder = makeDecoder(model, { kvCache });
  try {
    model.eval();
    let logits = decoder.prime(promptIds.length > 0 ? promptIds : Int32Array.of(0));
    for (let i = 0; ; ) {
      const id = sampleToken(logits, sampling, rng);
      if (isStop(id)) return;
      model.train(wasTraining);
      yield id;
      if (++i >= maxTokens) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
      model.eval();
      logits = decoder.step(id);
    }
  } finally {
    decoder.dispose();
    model.train(wasTraining);
  }
}

/** All the tokens of `generate` at once. */
export async function generateAll(model: GenerativeModel, promptIds: Int32Array, opts: GenerateOptions): Promise<Int32Array> {
  const out: number[] = [];
  for await (const id of generate(model, promptIds, opts)) out.push(id);
  return Int32Array.from(out);
}
