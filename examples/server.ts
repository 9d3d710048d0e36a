// An HTTP server (plain node:http) that trains a small language model on the Brown corpus in a
// worker thread and streams generated text from it, using only the public `lmkit` API.
//
//   POST /train      {"model":"ffnn","steps":300,...}  start a training run (202; 409 while one runs)
//   DELETE /train                                       stop the running training
//   GET  /status                                        progress of the current/last run, loaded models
//   POST /generate   {"prompt":"The jury said","maxTokens":20,"temperature":0.8,"checkpoint":"run-1"?}
//                    streams the generated text (chunked transfer encoding, a chunk per token)
//                    from the latest trained model, or from a checkpoint folder inside --checkpoints
//   GET  /health                                        {"ok":true} at once, also under load
//
// Training runs in a worker (trainInWorker); generation runs in another worker
// (generate-worker.ts), which holds the models (an LRU cache of --cache-size) and serves
// concurrent requests for the same model with one batched forward pass per token where the
// model allows (BatchGenerator). This thread only parses requests and relays text, so the
// event loop stays responsive. Prompts are encoded and output decoded with the checkpoint's
// own tokenizer (word, char, gpt2, bpe; Brown models: whitespace-split words), as `lmkit
// generate` does. Each run writes a checkpoint (runTraining's `out`) under --checkpoints;
// when it finishes, /generate uses it. A request's "checkpoint" names a folder inside
// --checkpoints (no absolute paths, no `..`, no symlinks out of it).
//
//   npm run build:ts && npx tsc -p examples && node examples/dist/server.js --port 8080
//   (see examples/README.md)
import { mkdirSync, mkdtempSync, realpathSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

import { trainInWorker, type ModelKind, type TrainRunOptions, type TrainRunResult } from 'lmkit';

import type { FromWorker, ToWorker, WorkerConfig } from './generate-worker.js';

/** Model families /train accepts: every family `lmkit generate` samples from. */
const TRAINABLE: readonly ModelKind[] = ['ngram', 'ffnn', 'rnn', 'lstm', 'transformer', 'mamba'];
/** The fields of each request body (any other is a 400 naming it). */
const TRAIN_FIELDS = ['model', 'steps', 'batch', 'context', 'embed', 'hidden', 'layers', 'heads', 'lr', 'seed', 'evalTokens'] as const;
const GENERATE_FIELDS = ['prompt', 'maxTokens', 'temperature', 'topK', 'topP', 'seed', 'checkpoint'] as const;
/** Most tokens one /generate request may ask for. */
const MAX_GENERATE_TOKENS = 500;
/** Largest request body read (bytes). */
const MAX_BODY = 64 * 1024;

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** TCP port (0: any free port). Default 8080. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Folder for the checkpoints of the training runs, and the only place /generate loads from. Default: a new temp folder. */
  checkpoints?: string;
  /** Most models kept loaded for /generate (least recently used freed first). Default 4. */
  cacheSize?: number;
  /** Serve concurrent requests for a model in one batched forward pass (default true; false for comparison). */
  batch?: boolean;
}

/** A training run as /status reports it. */
interface Job {
  id: number;
  state: 'training' | 'done' | 'failed' | 'stopped';
  options: TrainRunOptions;
  startedAt: string;
  step: number;
  total: number;
  loss: number | null;
  tokensPerSecond: number | null;
  validPpl: number | null;
  result: TrainRunResult | null;
  error: string | null;
  log: string[];
  abort: AbortController;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJSON(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJSON(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(b);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the request body must be a JSON object');
  return body as Record<string, unknown>;
}

function optInt(body: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new HttpError(400, `${key} must be an integer in [${min}, ${max}]`);
  }
  return v;
}

function optNum(body: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new HttpError(400, `${key} must be a number in [${min}, ${max}]`);
  return v;
}

/** 400 for a field of `body` not in `allowed`, naming it. */
function checkFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k)) throw new HttpError(400, `unknown field '${k}' (allowed: ${allowed.join(', ')})`);
  }
}

/** A generation in flight: the response it streams to. */
interface Stream {
  res: ServerResponse;
  started: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** The server: routes, training jobs, and the generation worker. */
export class LmServer {
  readonly server: Server;
  /** The checkpoints root (a real path: symlinks resolved). */
  readonly checkpoints: string;
  private job: Job | null = null;
  private nextId = 1;
  /** The checkpoint of the last finished run. */
  private latest: { dir: string; kind: string; step: number } | null = null;
  private readonly worker: Worker;
  private readonly streams = new Map<number, Stream>();
  private readonly statsWaiting = new Map<number, (s: { loaded: string[]; active: number }) => void>();
  private nextRequest = 1;

  constructor(checkpoints: string, opts: { cacheSize?: number; batch?: boolean } = {}) {
    this.checkpoints = realpathSync(checkpoints);
    const workerConfig: WorkerConfig = { cacheSize: opts.cacheSize ?? 4, batch: opts.batch ?? true };
    this.worker = new Worker(new URL('./generate-worker.js', import.meta.url), { workerData: workerConfig });
    this.worker.on('message', (m: FromWorker) => this.fromWorker(m));
    this.worker.on('error', (err) => {
      for (const s of this.streams.values()) s.reject(err);
      this.streams.clear();
    });
    this.worker.unref();
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        const message = err instanceof Error ? err.message : String(err);
        if (!res.headersSent) sendJSON(res, status, { error: message });
        else res.end(`\n[error: ${message}]\n`);
      });
    });
  }

  private fromWorker(m: FromWorker): void {
    if (m.type === 'stats') {
      this.statsWaiting.get(m.id)?.({ loaded: m.loaded, active: m.active });
      this.statsWaiting.delete(m.id);
      return;
    }
    const s = this.streams.get(m.id);
    if (!s) return;
    switch (m.type) {
      case 'start': {
        s.started = true;
        const headers: Record<string, string> = {
          'content-type': 'text/plain; charset=utf-8',
          'cache-control': 'no-cache',
          'x-content-type-options': 'nosniff',
          'x-lmkit-model': m.kind,
        };
        if (m.warning) {
          headers['x-lmkit-warning'] = m.warning;
          process.stderr.write(`server: warning: ${m.warning}\n`);
        }
        // No content-length: node:http sends `transfer-encoding: chunked`; a chunk per token.
        s.res.writeHead(200, headers);
        s.res.socket?.setNoDelay(true);
        break;
      }
      case 'text':
        s.res.write(m.text);
        break;
      case 'end':
        this.streams.delete(m.id);
        s.res.end('\n');
        s.resolve();
        break;
      case 'error':
        this.streams.delete(m.id);
        s.reject(new HttpError(m.status, m.message));
        break;
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const key = `${req.method ?? 'GET'} ${path}`;
    switch (key) {
      case 'GET /health':
        return sendJSON(res, 200, { ok: true, training: this.job?.state === 'training', uptime: process.uptime() });
      case 'GET /status':
        return sendJSON(res, 200, await this.status());
      case 'POST /train':
        return sendJSON(res, 202, this.startTraining(await readJSON(req)));
      case 'DELETE /train':
        return sendJSON(res, 200, this.stopTraining());
      case 'POST /generate':
        return this.generate(await readJSON(req), res);
      default:
        throw new HttpError(404, `no route ${key} (GET /health, GET /status, POST /train, DELETE /train, POST /generate)`);
    }
  }

  private async status(): Promise<Record<string, unknown>> {
    const j = this.job;
    const id = this.nextRequest++;
    const generation = await new Promise<{ loaded: string[]; active: number }>((r) => {
      this.statsWaiting.set(id, r);
      this.post({ type: 'stats', id });
    });
    return {
      // The models the generation worker holds (least recently used first) and the generations running.
      generation: { loaded: generation.loaded.map((d) => (d.startsWith(this.checkpoints + sep) ? d.slice(this.checkpoints.length + 1) : d)), active: generation.active },
      job: j && {
        id: j.id,
        state: j.state,
        model: j.options.model,
        startedAt: j.startedAt,
        step: j.step,
        total: j.total,
        progress: j.total > 0 ? j.step / j.total : 0,
        loss: j.loss,
        tokensPerSecond: j.tokensPerSecond,
        validPpl: j.validPpl,
        checkpoint: j.options.out ?? null,
        result: j.result,
        error: j.error,
        log: j.log.slice(-10),
      },
      latest: this.latest && { checkpoint: this.latest.dir, kind: this.latest.kind, step: this.latest.step },
    };
  }

  private startTraining(body: Record<string, unknown>): Record<string, unknown> {
    if (this.job?.state === 'training') throw new HttpError(409, `run ${this.job.id} is still training (DELETE /train stops it)`);
    checkFields(body, TRAIN_FIELDS);
    const model = body.model ?? 'ffnn';
    if (typeof model !== 'string' || !TRAINABLE.includes(model as ModelKind)) {
      throw new HttpError(400, `model must be one of ${TRAINABLE.join(', ')}`);
    }
    const id = this.nextId++;
    const options: TrainRunOptions = {
      model: model as ModelKind,
      corpus: 'brown',
      steps: optInt(body, 'steps', 1, 10_000_000) ?? 300,
      batch: optInt(body, 'batch', 1, 4096),
      context: optInt(body, 'context', 1, 1024),
      embed: optInt(body, 'embed', 1, 4096),
      hidden: optInt(body, 'hidden', 1, 16384),
      layers: optInt(body, 'layers', 1, 64),
      heads: optInt(body, 'heads', 1, 64),
      lr: optNum(body, 'lr', 0, 10),
      seed: optInt(body, 'seed', 0, 2 ** 31 - 1),
      // Quick evaluation: a few thousand validation tokens, no test pass.
      evalTokens: optInt(body, 'evalTokens', 1, 10_000_000) ?? 5000,
      test: false,
      out: join(this.checkpoints, `run-${id}`),
    };
    if (options.model === 'ffnn') options.direct = true;
    for (const k of Object.keys(options) as (keyof TrainRunOptions)[]) if (options[k] === undefined) delete options[k];
    const job: Job = {
      id,
      state: 'training',
      options,
      startedAt: new Date().toISOString(),
      step: 0,
      total: options.steps ?? 0,
      loss: null,
      tokensPerSecond: null,
      validPpl: null,
      result: null,
      error: null,
      log: [],
      abort: new AbortController(),
    };
    this.job = job;
    trainInWorker(
      options,
      {
        info: (m) => job.log.push(m),
        step: (e) => {
          job.step = e.step;
          job.total = e.total;
          job.loss = e.loss;
          job.tokensPerSecond = e.tokensPerSecond;
        },
        eval: (e) => {
          if (e.split === 'valid') job.validPpl = e.ppl;
        },
      },
      { signal: job.abort.signal },
    ).then(
      (result) => {
        job.result = result;
        job.validPpl = result.validPpl;
        const dir = realpathSync(result.checkpoint ?? options.out!);
        this.post({ type: 'forget', dir });
        this.latest = { dir, kind: result.model, step: result.steps };
        job.state = 'done';
      },
      (err: unknown) => {
        job.state = job.abort.signal.aborted ? 'stopped' : 'failed';
        job.error = err instanceof Error ? err.message : String(err);
      },
    );
    return { id, state: job.state, options };
  }

  private stopTraining(): Record<string, unknown> {
    const j = this.job;
    if (j?.state !== 'training') throw new HttpError(409, 'no training is running');
    j.abort.abort(new Error('stopped by DELETE /train'));
    return { id: j.id, state: 'stopped' };
  }

  private post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  /**
   * The checkpoint folder a request names, resolved inside the checkpoints root: a relative
   * path without `..`, whose real path (symlinks followed) is inside the root. 400 otherwise.
   */
  resolveCheckpoint(name: unknown): string {
    if (typeof name !== 'string' || name.trim() === '') throw new HttpError(400, 'checkpoint: must be a non-empty folder name inside the checkpoints folder');
    if (name.includes('\0')) throw new HttpError(400, 'checkpoint: must not contain NUL');
    if (isAbsolute(name) || /^[a-zA-Z]:/.test(name)) throw new HttpError(400, `checkpoint: '${name}' is an absolute path; name a folder inside the checkpoints folder`);
    if (name.split(/[\\/]/).includes('..')) throw new HttpError(400, `checkpoint: '${name}' contains '..'; name a folder inside the checkpoints folder`);
    let real: string;
    try {
      real = realpathSync(join(this.checkpoints, name));
    } catch {
      throw new HttpError(404, `checkpoint: no folder '${name}' in the checkpoints folder`);
    }
    if (!real.startsWith(this.checkpoints + sep)) throw new HttpError(400, `checkpoint: '${name}' leads out of the checkpoints folder`);
    return real;
  }

  private generate(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    checkFields(body, GENERATE_FIELDS);
    const prompt = body.prompt;
    if (prompt === undefined) throw new HttpError(400, 'prompt: required (a non-empty string)');
    if (typeof prompt !== 'string') throw new HttpError(400, 'prompt: must be a string');
    if (prompt.trim() === '') throw new HttpError(400, 'prompt: must not be empty');
    const opts = {
      maxTokens: optInt(body, 'maxTokens', 0, MAX_GENERATE_TOKENS) ?? 20,
      temperature: optNum(body, 'temperature', 0, 100) ?? 0.8,
      topK: optInt(body, 'topK', 0, 1_000_000),
      topP: optNum(body, 'topP', 0, 1),
      seed: optInt(body, 'seed', 0, 2 ** 31 - 1) ?? 1,
    };
    let dir: string;
    if (body.checkpoint === undefined) {
      if (!this.latest) throw new HttpError(409, 'no trained model yet: POST /train first (or pass "checkpoint")');
      dir = this.latest.dir;
    } else {
      dir = this.resolveCheckpoint(body.checkpoint);
    }
    const id = this.nextRequest++;
    return new Promise<void>((resolvePromise, reject) => {
      this.streams.set(id, { res, started: false, resolve: resolvePromise, reject });
      // The client may go away mid-stream: stop generating then.
      res.on('close', () => {
        if (this.streams.delete(id)) {
          this.post({ type: 'cancel', id });
          resolvePromise();
        }
      });
      this.post({ type: 'generate', id, dir, prompt, opts });
    });
  }

  /** Starts listening; resolves with the bound address. */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolvePromise, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolvePromise(this.server.address() as AddressInfo));
    });
  }

  /** Stops the training (if any), closes the server and frees the models. */
  async close(): Promise<void> {
    if (this.job?.state === 'training') this.job.abort.abort(new Error('server closing'));
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
    await this.worker.terminate();
    this.latest = null;
  }
}

/** Creates the server and starts listening. */
export async function startServer(o: ServerOptions = {}): Promise<{ server: LmServer; address: AddressInfo }> {
  const checkpoints = o.checkpoints ?? mkdtempSync(join(tmpdir(), 'lmkit-server-'));
  mkdirSync(checkpoints, { recursive: true });
  const server = new LmServer(resolve(checkpoints), { cacheSize: o.cacheSize, batch: o.batch });
  const address = await server.listen(o.port ?? 8080, o.host ?? '127.0.0.1');
  return { server, address };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      checkpoints: { type: 'string' },
      'cache-size': { type: 'string', default: '4' },
      'no-batch': { type: 'boolean', default: false },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be an integer in [0, 65535]`);
  const cacheSize = Number(values['cache-size']);
  if (!Number.isInteger(cacheSize) || cacheSize < 1) throw new Error('--cache-size must be an integer >= 1');
  const { server, address } = await startServer({ port, host: values.host, checkpoints: values.checkpoints, cacheSize, batch: !values['no-batch'] });
  // The first line on stdout is the address (the test reads it).
  process.stdout.write(`listening on http://${address.address}:${address.port} (checkpoints in ${server.checkpoints})\n`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

// Run as a program (not when imported).
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`server: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
