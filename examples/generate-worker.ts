// The generation worker of examples/server.ts: it holds the loaded models (a bounded LRU
// cache) and runs every generation, so the server's event loop only relays messages and
// stays responsive whatever the load. Concurrent requests for the same model share one
// BatchGenerator: one batched forward pass per step for all of them where the model allows
// (feed-forward and recurrent models; a decoder per request for Transformer and Mamba).
// Text is decoded with the checkpoint's own tokenizer, as `lmkit generate` does: the stream
// is the decoded text of the tokens so far, sent as it grows (a byte-level tokenizer's
// incomplete UTF-8 character is held back until it is complete).
import { parentPort, workerData } from 'node:worker_threads';

import {
  BatchGenerator,
  generateNgram,
  isGenerative,
  loadAnyTrained,
  unknownPromptWarning,
  type LoadedNgram,
  type LoadedTrained,
} from 'lmkit';

/** Messages from the server. */
export type ToWorker =
  | {
      type: 'generate';
      id: number;
      /** The checkpoint directory (already resolved inside the checkpoints root). */
      dir: string;
      prompt: string;
      opts: { maxTokens: number; temperature: number; topK?: number; topP?: number; seed: number };
    }
  | { type: 'cancel'; id: number }
  | { type: 'forget'; dir: string }
  | { type: 'stats'; id: number };

/** Messages to the server. */
export type FromWorker =
  | { type: 'start'; id: number; kind: string; warning: string | null }
  | { type: 'text'; id: number; text: string }
  | { type: 'end'; id: number; tokens: number }
  | { type: 'error'; id: number; status: number; message: string }
  | { type: 'stats'; id: number; loaded: string[]; active: number };

export interface WorkerConfig {
  /** Most models kept loaded (least recently used ones are freed first). */
  cacheSize: number;
  /** false: one generator per request (no batching; for comparison in the benchmark). */
  batch: boolean;
}

interface Entry {
  dir: string;
  trained: LoadedTrained | LoadedNgram;
  /** Generators by request group (one shared group when batching). */
  generators: Map<number, BatchGenerator>;
  users: number;
  lastUsed: number;
}

interface Request {
  id: number;
  entry: Entry;
  group: number;
  session: number;
  ids: number[];
  sent: number;
}

const port = parentPort!;
const config = workerData as WorkerConfig;
const cache = new Map<string, Entry>();
const requests = new Map<number, Request>();
let clock = 0;
let pumping = false;

const send = (m: FromWorker): void => port.postMessage(m);

function release(t: LoadedTrained | LoadedNgram): void {
  if (t.kind !== 'ngram') t.model.dispose();
}

/** Frees least recently used models beyond the cache size (never one in use). */
function evict(): void {
  const idle = [...cache.values()].filter((e) => e.users === 0).sort((a, b) => a.lastUsed - b.lastUsed);
  while (cache.size > config.cacheSize && idle.length > 0) {
    const e = idle.shift()!;
    cache.delete(e.dir);
    for (const g of e.generators.values()) g.dispose();
    release(e.trained);
  }
}

function entryFor(dir: string): Entry {
  let e = cache.get(dir);
  if (!e) {
    e = { dir, trained: loadAnyTrained(dir), generators: new Map(), users: 0, lastUsed: 0 };
    cache.set(dir, e);
  }
  e.lastUsed = ++clock;
  return e;
}

/** The text of `r` to send now: the decoded tokens so far, less what was sent, less a trailing incomplete character. */
function flush(r: Request, final: boolean): void {
  let text = r.entry.trained.tokenizer.decode(r.ids);
  if (!final) text = text.replace(/\uFFFD+$/, '');
  if (text.length > r.sent) {
    send({ type: 'text', id: r.id, text: text.slice(r.sent) });
    r.sent = text.length;
  }
}

function finish(r: Request): void {
  flush(r, true);
  requests.delete(r.id);
  r.entry.users--;
  send({ type: 'end', id: r.id, tokens: r.ids.length });
  evict();
}

function start(m: Extract<ToWorker, { type: 'generate' }>): void {
  let entry: Entry;
  try {
    entry = entryFor(m.dir);
  } catch (err) {
    send({ type: 'error', id: m.id, status: 400, message: `cannot load checkpoint: ${err instanceof Error ? err.message : String(err)}` });
    evict();
    return;
  }
  const t = entry.trained;
  const ids = t.tokenizer.encode(m.prompt);
  if (ids.length === 0) {
    send({ type: 'error', id: m.id, status: 400, message: 'prompt: it encodes to no tokens' });
    return;
  }
  const warning = unknownPromptWarning(t.tokenizer, ids);
  if (t.kind === 'ngram') {
    // n-gram sampling is a table lookup per token: all at once, streamed as one piece.
    send({ type: 'start', id: m.id, kind: t.kind, warning });
    const out = generateNgram(t.model, ids, m.opts);
    const text = t.tokenizer.decode(out);
    if (text.length > 0) send({ type: 'text', id: m.id, text });
    send({ type: 'end', id: m.id, tokens: out.length });
    return;
  }
  if (!isGenerative(t.model)) {
    send({ type: 'error', id: m.id, status: 400, message: `cannot generate from a ${t.kind} model` });
    return;
  }
  const group = config.batch ? 0 : m.id;
  let g = entry.generators.get(group);
  if (!g) {
    g = new BatchGenerator(t.model);
    entry.generators.set(group, g);
  }
  let session: number;
  try {
    session = g.add(ids, m.opts);
  } catch (err) {
    send({ type: 'error', id: m.id, status: 400, message: err instanceof Error ? err.message : String(err) });
    return;
  }
  entry.users++;
  requests.set(m.id, { id: m.id, entry, group, session, ids: [], sent: 0 });
  send({ type: 'start', id: m.id, kind: t.kind, warning });
  schedule();
}

/** One step of every generator with sessions, then yield to the worker's event loop (new requests, cancels). */
function pump(): void {
  pumping = false;
  const bySession = new Map<string, Request>();
  for (const r of requests.values()) bySession.set(`${r.entry.dir}\0${r.group}\0${r.session}`, r);
  for (const e of cache.values()) {
    for (const [group, g] of e.generators) {
      if (g.size === 0) {
        if (group !== 0) e.generators.delete(group);
        continue;
      }
      for (const t of g.step()) {
        const r = bySession.get(`${e.dir}\0${group}\0${t.session}`);
        if (!r) continue;
        if (t.token === null) finish(r);
        else {
          r.ids.push(t.token);
          flush(r, false);
        }
      }
    }
  }
  if (requests.size > 0) schedule();
}

function schedule(): void {
  if (pumping) return;
  pumping = true;
  setImmediate(pump);
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'generate':
      start(m);
      break;
    case 'cancel': {
      const r = requests.get(m.id);
      if (r) {
        r.entry.generators.get(r.group)?.cancel(r.session);
        requests.delete(r.id);
        r.entry.users--;
        evict();
      }
      break;
    }
    case 'stats':
      // Least recently used first.
      send({ type: 'stats', id: m.id, loaded: [...cache.values()].sort((a, b) => a.lastUsed - b.lastUsed).map((e) => e.dir), active: requests.size });
      break;
    case 'forget': {
      // A checkpoint was rewritten (a new training run): load it afresh next time.
      const e = cache.get(m.dir);
      if (e && e.users === 0) {
        cache.delete(m.dir);
        for (const g of e.generators.values()) g.dispose();
        release(e.trained);
      }
      break;
    }
  }
});
