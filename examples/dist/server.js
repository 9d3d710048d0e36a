// An HTTP server (plain node:http) that trains a small language model on the Brown corpus in a
// worker thread and streams generated text from it, using only the public `lmkit` API.
//
//   POST /train      {"model":"ffnn","steps":300,...}  start a training run (202; 409 while one runs)
//   DELETE /train                                       stop the running training
//   GET  /status                                        progress of the current/last run, loaded models
//   POST /generate   {"prompt":"The jury said","maxTokens":20,"temperature":0.8,"checkpoint":DIR?}
//                    streams the generated words (chunked transfer encoding, one word per chunk)
//                    from the latest trained model, or from a checkpoint directory
//   GET  /health                                        {"ok":true} at once, also while training
//
// Training runs in a worker (trainInWorker), so the event loop is never blocked by a training
// step; generation runs here, one token per event-loop turn (generate() is an async iterator).
// Each run writes a checkpoint (runTraining's `out`) under --checkpoints; when it finishes, the
// server loads it (loadTrained) and /generate uses it.
//
//   npm run build:ts && npx tsc -p examples && node examples/dist/server.js --port 8080
//   (see examples/README.md)
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FeedForwardLM, RecurrentLM, TransformerLM, generate, loadTrained, trainInWorker, } from 'lmkit';
/** Model families /train accepts (those generate() can sample from). */
const TRAINABLE = ['ffnn', 'rnn', 'lstm', 'transformer'];
/** Most tokens one /generate request may ask for. */
const MAX_GENERATE_TOKENS = 500;
/** Largest request body read (bytes). */
const MAX_BODY = 64 * 1024;
class HttpError extends Error {
    status;
    constructor(status, message) {
        super(message);
        this.status = status;
    }
}
function sendJSON(res, status, body) {
    const text = `${JSON.stringify(body)}\n`;
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
}
async function readJSON(req) {
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
        const b = chunk;
        size += b.length;
        if (size > MAX_BODY)
            throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
        chunks.push(b);
    }
    const text = Buffer.concat(chunks).toString('utf8').trim();
    if (text === '')
        return {};
    let body;
    try {
        body = JSON.parse(text);
    }
    catch {
        throw new HttpError(400, 'the request body is not valid JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new HttpError(400, 'the request body must be a JSON object');
    return body;
}
function optInt(body, key, min, max) {
    const v = body[key];
    if (v === undefined)
        return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
        throw new HttpError(400, `${key} must be an integer in [${min}, ${max}]`);
    }
    return v;
}
function optNum(body, key, min, max) {
    const v = body[key];
    if (v === undefined)
        return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
        throw new HttpError(400, `${key} must be a number in [${min}, ${max}]`);
    return v;
}
function isGenerative(m) {
    return m instanceof FeedForwardLM || m instanceof RecurrentLM || m instanceof TransformerLM;
}
/** The server: routes, training jobs and loaded models. */
export class LmServer {
    server;
    checkpoints;
    job = null;
    nextId = 1;
    /** The model of the last finished run. */
    latest = null;
    /** Models loaded from an explicit checkpoint directory, by absolute path. */
    loaded = new Map();
    constructor(checkpoints) {
        this.checkpoints = checkpoints;
        this.server = createServer((req, res) => {
            this.route(req, res).catch((err) => {
                const status = err instanceof HttpError ? err.status : 500;
                const message = err instanceof Error ? err.message : String(err);
                if (!res.headersSent)
                    sendJSON(res, status, { error: message });
                else
                    res.end(`\n[error: ${message}]\n`);
            });
        });
    }
    async route(req, res) {
        const path = new URL(req.url ?? '/', 'http://localhost').pathname;
        const key = `${req.method ?? 'GET'} ${path}`;
        switch (key) {
            case 'GET /health':
                return sendJSON(res, 200, { ok: true, training: this.job?.state === 'training', uptime: process.uptime() });
            case 'GET /status':
                return sendJSON(res, 200, this.status());
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
    status() {
        const j = this.job;
        return {
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
            latest: this.latest && { checkpoint: this.latest.dir, kind: this.latest.trained.kind, step: this.latest.trained.meta.step },
        };
    }
    startTraining(body) {
        if (this.job?.state === 'training')
            throw new HttpError(409, `run ${this.job.id} is still training (DELETE /train stops it)`);
        const model = body.model ?? 'ffnn';
        if (typeof model !== 'string' || !TRAINABLE.includes(model)) {
            throw new HttpError(400, `model must be one of ${TRAINABLE.join(', ')}`);
        }
        const id = this.nextId++;
        const options = {
            model: model,
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
        if (options.model === 'ffnn')
            options.direct = true;
        for (const k of Object.keys(options))
            if (options[k] === undefined)
                delete options[k];
        const job = {
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
        trainInWorker(options, {
            info: (m) => job.log.push(m),
            step: (e) => {
                job.step = e.step;
                job.total = e.total;
                job.loss = e.loss;
                job.tokensPerSecond = e.tokensPerSecond;
            },
            eval: (e) => {
                if (e.split === 'valid')
                    job.validPpl = e.ppl;
            },
        }, { signal: job.abort.signal }).then((result) => {
            job.result = result;
            job.validPpl = result.validPpl;
            try {
                const dir = result.checkpoint ?? options.out;
                const trained = loadTrained(dir);
                this.latest?.trained.model.dispose();
                this.latest = { dir, trained };
                job.state = 'done';
            }
            catch (err) {
                job.state = 'failed';
                job.error = `trained, but loading the checkpoint failed: ${err instanceof Error ? err.message : String(err)}`;
            }
        }, (err) => {
            job.state = job.abort.signal.aborted ? 'stopped' : 'failed';
            job.error = err instanceof Error ? err.message : String(err);
        });
        return { id, state: job.state, options };
    }
    stopTraining() {
        const j = this.job;
        if (j?.state !== 'training')
            throw new HttpError(409, 'no training is running');
        j.abort.abort(new Error('stopped by DELETE /train'));
        return { id: j.id, state: 'stopped' };
    }
    model(checkpoint) {
        if (checkpoint === undefined) {
            if (!this.latest)
                throw new HttpError(409, 'no trained model yet: POST /train first (or pass "checkpoint")');
            return this.latest.trained;
        }
        if (typeof checkpoint !== 'string' || checkpoint === '')
            throw new HttpError(400, 'checkpoint must be a directory path');
        const dir = resolve(checkpoint);
        let t = this.loaded.get(dir);
        if (!t) {
            try {
                t = loadTrained(dir);
            }
            catch (err) {
                throw new HttpError(400, `cannot load checkpoint ${dir}: ${err instanceof Error ? err.message : String(err)}`);
            }
            this.loaded.set(dir, t);
        }
        return t;
    }
    async generate(body, res) {
        const t = this.model(body.checkpoint);
        const model = t.model;
        if (!isGenerative(model))
            throw new HttpError(400, `cannot generate from a ${t.kind} model`);
        const prompt = body.prompt ?? '';
        if (typeof prompt !== 'string')
            throw new HttpError(400, 'prompt must be a string');
        const opts = {
            maxTokens: optInt(body, 'maxTokens', 0, MAX_GENERATE_TOKENS) ?? 20,
            temperature: optNum(body, 'temperature', 0, 100) ?? 0.8,
            topK: optInt(body, 'topK', 0, 1_000_000),
            topP: optNum(body, 'topP', 0, 1),
            seed: optInt(body, 'seed', 0, 2 ** 31 - 1) ?? 1,
        };
        const ids = t.vocab.encode(prompt.split(/\s+/).filter((w) => w !== ''));
        // The client may go away mid-stream: stop generating then.
        let gone = false;
        res.on('close', () => {
            gone = true;
        });
        // No content-length: node:http sends `transfer-encoding: chunked`; one chunk per word.
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
        res.socket?.setNoDelay(true);
        let first = true;
        for await (const id of generate(model, ids, opts)) {
            if (gone)
                break;
            res.write(`${first ? '' : ' '}${t.vocab.decode([id])[0] ?? ''}`);
            first = false;
        }
        res.end('\n');
    }
    /** Starts listening; resolves with the bound address. */
    listen(port, host) {
        return new Promise((resolvePromise, reject) => {
            this.server.once('error', reject);
            this.server.listen(port, host, () => resolvePromise(this.server.address()));
        });
    }
    /** Stops the training (if any), closes the server and frees the models. */
    async close() {
        if (this.job?.state === 'training')
            this.job.abort.abort(new Error('server closing'));
        this.server.closeAllConnections();
        await new Promise((r) => this.server.close(() => r()));
        this.latest?.trained.model.dispose();
        for (const t of this.loaded.values())
            t.model.dispose();
        this.loaded.clear();
        this.latest = null;
    }
}
/** Creates the server and starts listening. */
export async function startServer(o = {}) {
    const checkpoints = o.checkpoints ?? mkdtempSync(join(tmpdir(), 'lmkit-server-'));
    const server = new LmServer(resolve(checkpoints));
    const address = await server.listen(o.port ?? 8080, o.host ?? '127.0.0.1');
    return { server, address };
}
async function main() {
    const { values } = parseArgs({
        options: {
            port: { type: 'string', default: '8080' },
            host: { type: 'string', default: '127.0.0.1' },
            checkpoints: { type: 'string' },
        },
    });
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new Error(`--port must be an integer in [0, 65535]`);
    const { server, address } = await startServer({ port, host: values.host, checkpoints: values.checkpoints });
    // The first line on stdout is the address (the test reads it).
    process.stdout.write(`listening on http://${address.address}:${address.port} (checkpoints in ${server.checkpoints})\n`);
    const stop = () => {
        void server.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
}
// Run as a program (not when imported).
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
    main().catch((err) => {
        process.stderr.write(`server: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
    });
}
