// Many generations from one model at once, one token per session per `step()`, with ONE
// batched forward pass for all sessions where the model allows it (for servers that answer
// concurrent requests for the same model):
//
//   FeedForwardLM  every session's window of the last `context` ids, stacked: one forward of
//                  (B, context) per step, new sessions included.
//   RecurrentLM    a new session's prompt is fed on its own (prompts differ in length); then
//                  the sessions' carried states are stacked row-wise and one forward of
//                  (B, 1) advances them all.
//   TransformerLM, MambaLM
//                  one incremental decoder per session (makeDecoder: the KV cache for a
//                  Transformer), stepped one after the other: positions and caches differ.
//
// Each session samples from its own logits with its own seeded generator, in the same order as
// generate(): with batch size 1 a session yields exactly generate()'s tokens; batched rows
// come from the same kernels on a larger matrix (equal up to float rounding).
import { noGrad } from '../autograd.js';
import { FeedForwardLM } from '../models/ffnn.js';
import { RecurrentLM, detachState, disposeState, type RecurrentState } from '../models/rnn.js';
import { concat, slice } from '../ops/shape.js';
import { Tensor, keep, makeRng, tidy } from '../tensor.js';
import { isGenerative, makeDecoder, type Decoder, type GenerateOptions, type GenerativeModel } from './generate.js';
import { checkSamplingOptions, sampleToken, type SamplingOptions } from './sampling.js';

interface Session {
  id: number;
  rng: () => number;
  sampling: SamplingOptions;
  maxTokens: number;
  isStop: (id: number) => boolean;
  produced: number;
  /** The ids to feed before the next sample: the prompt (new session) or the last token. */
  pending: Int32Array | null;
  logits: Float32Array | null;
  window?: Int32Array;
  state?: RecurrentState | null;
  decoder?: Decoder;
}

/** A token of one session, or its end (`token` null: maxTokens reached, a stop token, or cancelled). */
export interface BatchToken {
  session: number;
  token: number | null;
}

function lastRows(logits: Tensor, rows: number): Float32Array[] {
  const V = logits.shape[logits.rank - 1]!;
  const all = logits.storage.read(0, logits.size) as Float32Array;
  const T = logits.size / V / rows;
  return Array.from({ length: rows }, (_, b) => all.slice((b * T + T - 1) * V, (b * T + T) * V));
}

export class BatchGenerator {
  private readonly sessions = new Map<number, Session>();
  private nextId = 1;
  /** Sessions in the last step's forward passes, by kind of pass (for tests and benchmarks). */
  lastBatch = { batched: 0, single: 0 };

  constructor(readonly model: GenerativeModel) {
    if (!isGenerative(model)) throw new TypeError('BatchGenerator: the model must be a FeedForwardLM, a RecurrentLM, a TransformerLM or a MambaLM');
  }

  /** Active sessions. */
  get size(): number {
    return this.sessions.size;
  }

  /** Starts a session (the options of generate(); `kvCache` applies to a Transformer). Returns its id. */
  add(promptIds: Int32Array, opts: GenerateOptions): number {
    if (!(promptIds instanceof Int32Array)) throw new TypeError('BatchGenerator.add: promptIds must be an Int32Array');
    if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 0) throw new RangeError(`BatchGenerator.add: maxTokens must be an integer >= 0, got ${String(opts.maxTokens)}`);
    checkSamplingOptions(opts, 'BatchGenerator.add');
    const V = this.model.config.vocabSize;
    promptIds.forEach((id, i) => {
      if (id < 0 || id >= V) throw new RangeError(`BatchGenerator.add: prompt id ${id} at index ${i} is outside the vocabulary [0, ${V})`);
    });
    const stop = opts.stop;
    const stopSet = Array.isArray(stop) ? new Set(stop) : null;
    const id = this.nextId++;
    this.sessions.set(id, {
      id,
      rng: makeRng(opts.seed ?? 1),
      sampling: { temperature: opts.temperature, topK: opts.topK, topP: opts.topP },
      maxTokens: opts.maxTokens,
      isStop: typeof stop === 'function' ? stop : stopSet ? (t) => stopSet.has(t) : () => false,
      produced: 0,
      pending: promptIds.length > 0 ? promptIds.slice() : Int32Array.of(0),
      logits: null,
    });
    if (!(this.model instanceof FeedForwardLM) && !(this.model instanceof RecurrentLM)) {
      this.sessions.get(id)!.decoder = makeDecoder(this.model, { kvCache: opts.kvCache });
    }
    return id;
  }

  /** Ends a session now (its resources are freed; it yields no more tokens). */
  cancel(id: number): void {
    const s = this.sessions.get(id);
    if (!s) return;
    this.release(s);
    this.sessions.delete(id);
  }

  private release(s: Session): void {
    disposeState(s.state);
    s.state = null;
    s.decoder?.dispose();
  }

  /** One token for every active session (batched where the model allows); ended sessions are removed. */
  step(): BatchToken[] {
    const out: BatchToken[] = [];
    const live = [...this.sessions.values()];
    for (const s of live) {
      if (s.maxTokens === 0) {
        out.push({ session: s.id, token: null });
        this.cancel(s.id);
      }
    }
    const todo = [...this.sessions.values()].filter((s) => s.logits === null);
    const wasTraining = this.model.training;
    this.model.eval();
    try {
      this.lastBatch = { batched: 0, single: 0 };
      noGrad(() => this.advance(todo));
    } finally {
      this.model.train(wasTraining);
    }
    for (const s of [...this.sessions.values()]) {
      const token = sampleToken(s.logits!, s.sampling, s.rng);
      s.logits = null;
      if (s.isStop(token)) {
        out.push({ session: s.id, token: null });
        this.cancel(s.id);
        continue;
      }
      out.push({ session: s.id, token });
      s.produced++;
      if (s.produced >= s.maxTokens) {
        out.push({ session: s.id, token: null });
        this.cancel(s.id);
      } else {
        s.pending = Int32Array.of(token);
      }
    }
    return out;
  }

  /** Computes the next-token logits of `todo` (each has `pending` ids to feed). */
  private advance(todo: Session[]): void {
    const m = this.model;
    if (todo.length === 0) return;
    if (m instanceof FeedForwardLM) {
      const n = m.config.context;
      for (const s of todo) {
        s.window ??= new Int32Array(n); // padded with 0 (<unk>), as generate()
        const p = s.pending!;
        if (p.length >= n) s.window.set(p.subarray(p.length - n));
        else {
          s.window.copyWithin(0, p.length);
          s.window.set(p, n - p.length);
        }
        s.pending = null;
      }
      const stacked = new Int32Array(todo.length * n);
      todo.forEach((s, b) => stacked.set(s.window!, b * n));
      const rows = tidy(() => lastRows(m.forward(Tensor.fromArray(stacked, [todo.length, n], 'int32')), todo.length));
      todo.forEach((s, b) => (s.logits = rows[b]!));
      this.lastBatch = { batched: todo.length, single: 0 };
      return;
    }
    if (m instanceof RecurrentLM) {
      const fresh = todo.filter((s) => !s.state);
      const going = todo.filter((s) => s.state);
      for (const s of fresh) {
        tidy(() => {
          const r = m.forward(Tensor.fromArray(s.pending!, [1, s.pending!.length], 'int32'), null);
          s.state = detachState(r.state);
          s.logits = lastRows(r.logits, 1)[0]!;
        });
        s.pending = null;
      }
      if (going.length > 0) {
        tidy(() => {
          const B = going.length;
          const stack = (pick: (st: RecurrentState) => Tensor[] | null): Tensor[] | null => {
            const first = pick(going[0]!.state!);
            if (!first) return null;
            return first.map((_, l) => (B === 1 ? pick(going[0]!.state!)![l]! : concat(going.map((s) => pick(s.state!)![l]!), 0)));
          };
          const state: RecurrentState = { h: stack((st) => st.h)!, c: stack((st) => st.c) };
          const ids = Int32Array.from(going, (s) => s.pending![0]!);
          const r = m.forward(Tensor.fromArray(ids, [B, 1], 'int32'), state);
          const rows = lastRows(r.logits, B);
          going.forEach((s, b) => {
            const row = (t: Tensor): Tensor => keep(B === 1 ? t.detach() : slice(t, 0, b, b + 1).detach());
            const next: RecurrentState = { h: r.state.h.map(row), c: r.state.c ? r.state.c.map(row) : null };
            disposeState(s.state);
            s.state = next;
            s.logits = rows[b]!;
            s.pending = null;
          });
        });
      }
      this.lastBatch = { batched: going.length, single: fresh.length };
      return;
    }
    for (const s of todo) {
      const p = s.pending!;
      s.logits = s.produced === 0 ? s.decoder!.prime(p) : s.decoder!.step(p[0]!);
      s.pending = null;
    }
    this.lastBatch = { batched: 0, single: todo.length };
  }

  /** Ends every session and frees their state. */
  dispose(): void {
    for (const s of this.sessions.values()) this.release(s);
    this.sessions.clear();
  }
}
