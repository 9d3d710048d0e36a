// examples/server.ts, compiled with `tsc -p examples` and run as a user would (`node
// examples/dist/server.js --port 0`): a quick training run gives a model; while a second run
// trains in the worker, /health keeps answering fast and /generate streams words chunk by chunk.
// Then (issue 18): every tokenizer kind is served exactly as `lmkit generate` prints it; mamba
// and n-gram models train and generate; "checkpoint" stays inside --checkpoints and the model
// cache is bounded (--cache-size 2); bad requests are 400s naming the field; 20 concurrent
// generations keep /health under 50 ms p99 and each yields what it yields alone.
// Needs dist/ (`npm run build:ts`). About 60-90 s on a loaded 2-core machine.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { packageRoot } from '../../lib/native/index.js';
import { lmkit } from '../support/cli.js';

const tsc = join(packageRoot, 'node_modules', 'typescript', 'bin', 'tsc');
const serverJs = join(packageRoot, 'examples', 'dist', 'server.js');
const scratch = mkdtempSync(join(tmpdir(), 'lmkit-example-server-'));
const checkpoints = join(scratch, 'checkpoints');
mkdirSync(checkpoints);
let child: ChildProcess | null = null;
let base = '';
let stderr = '';

interface Status {
  job: { id: number; state: string; step: number; total: number; loss: number | null; error: string | null } | null;
  latest: { checkpoint: string; kind: string } | null;
  generation: { loaded: string[]; active: number };
}

async function json<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as T };
}

async function waitFor(what: string, ok: (s: Status) => boolean, timeoutMs: number): Promise<Status> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = (await json<Status>('GET', '/status')).body;
    if (ok(s)) return s;
    if (s.job?.state === 'failed') throw new Error(`training failed: ${s.job.error}`);
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(s)}\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** POST /generate with node:http, recording every body chunk as it arrives. */
function generateChunks(body: unknown): Promise<{ status: number; headers: Record<string, unknown>; chunks: string[]; firstMs: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let firstMs = Number.NaN;
    const req = request(`${base}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: string[] = [];
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (chunks.length === 0) firstMs = performance.now() - t0;
        chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, chunks, firstMs, ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

beforeAll(async () => {
  expect(existsSync(join(packageRoot, 'dist', 'index.d.ts')), 'run `npm run build:ts` first').toBe(true);
  const c = spawnSync(process.execPath, [tsc, '-p', join(packageRoot, 'examples')], { encoding: 'utf8', timeout: 60_000 });
  expect(c.status, `tsc -p examples:\n${c.stdout}${c.stderr}`).toBe(0);
  const proc = spawn(process.execPath, [serverJs, '--port', '0', '--checkpoints', checkpoints, '--cache-size', '2'], {
    env: { ...process.env, LMKIT_NUM_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  base = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (code) => reject(new Error(`the server exited (${code}): ${out}${stderr}`)));
  });
}, 90_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  rmSync(scratch, { recursive: true, force: true });
});

describe('examples/server.ts', () => {
  it('trains in a worker while /health stays fast and /generate streams words', async () => {
    const t0 = performance.now();
    // Bad requests are refused with a reason.
    expect((await json<{ error: string }>('POST', '/generate', { prompt: 'the' })).status).toBe(409);
    expect((await json<{ error: string }>('POST', '/train', { model: 'mlm' })).status).toBe(400);
    expect((await json<{ error: string }>('GET', '/nope')).status).toBe(404);

    // 1. A quick run: its checkpoint becomes the latest model.
    const first = await json<{ id: number }>('POST', '/train', { model: 'ffnn', steps: 20, evalTokens: 1000 });
    expect(first.status).toBe(202);
    const done = await waitFor('the first run', (s) => s.job?.id === first.body.id && s.job.state === 'done', 40_000);
    expect(done.latest).toMatchObject({ kind: 'ffnn' });
    expect(done.latest!.checkpoint.endsWith(join('checkpoints', 'run-1'))).toBe(true);
    const tFirst = performance.now();

    // 2. A long run; only one at a time.
    expect((await json('POST', '/train', { model: 'ffnn', steps: 1_000_000, evalTokens: 1000 })).status).toBe(202);
    expect((await json('POST', '/train', { model: 'ffnn' })).status).toBe(409);
    const training = await waitFor('steps of the second run', (s) => s.job?.state === 'training' && s.job.step >= 2, 30_000);

    // 3. While it trains: 50 health checks (every 10 ms) and a streamed generation.
    const gen = generateChunks({ prompt: 'The jury said', maxTokens: 12, temperature: 0.8, seed: 3 });
    const latencies: number[] = [];
    for (let i = 0; i < 50; i++) {
      const s = performance.now();
      const r = await fetch(`${base}/health`);
      expect(r.status).toBe(200);
      expect(((await r.json()) as { ok: boolean }).ok).toBe(true);
      latencies.push(performance.now() - s);
      await new Promise((r) => setTimeout(r, 10));
    }
    const g = await gen;
    const after = (await json<Status>('GET', '/status')).body;
    expect(after.job!.state).toBe('training');
    expect(after.job!.step).toBeGreaterThan(training.job!.step);

    latencies.sort((a, b) => a - b);
    const p50 = latencies[latencies.length >> 1]!;
    const p99 = latencies[Math.ceil(latencies.length * 0.99) - 1]!;
    console.log(
      `example server: first run ${((tFirst - t0) / 1000).toFixed(1)} s; /health while training: p50 ${p50.toFixed(1)} ms, ` +
        `p99 ${p99.toFixed(1)} ms; /generate: ${g.chunks.length} chunks "${g.chunks.join('').trim()}"; ` +
        `training step ${training.job!.step} -> ${after.job!.step}`,
    );
    expect(p99, `health latencies (ms): ${latencies.map((l) => l.toFixed(1)).join(' ')}`).toBeLessThan(100);

    expect(g.status).toBe(200);
    expect(g.headers['transfer-encoding']).toBe('chunked');
    // One chunk per word (12 words, a stop token may end it early) plus the final newline.
    expect(g.chunks.length).toBeGreaterThanOrEqual(5);
    const words = g.chunks.join('').trim().split(' ');
    expect(words.length).toBeGreaterThanOrEqual(4);
    expect(words.length).toBeLessThanOrEqual(12);

    // Generation from an explicit checkpoint folder (inside --checkpoints).
    const fromDir = await generateChunks({ prompt: 'It was', maxTokens: 3, temperature: 0, checkpoint: 'run-1' });
    expect(fromDir.status).toBe(200);
    expect(fromDir.chunks.join('').trim().split(' ')).toHaveLength(3);

    // 4. Stop the long run.
    expect((await json('DELETE', '/train')).status).toBe(200);
    const stopped = await waitFor('the stop', (s) => s.job?.state === 'stopped', 10_000);
    expect(stopped.job!.error).toMatch(/stopped by DELETE \/train/);
  }, 90_000);
});

/** The text of a /generate answer (the chunks joined, the final newline removed). */
async function text(body: Record<string, unknown>): Promise<string> {
  const g = await generateChunks(body);
  expect(g.status, g.chunks.join('')).toBe(200);
  return g.chunks.join('').replace(/\n$/, '');
}

describe('examples/server.ts: tokenizers, families, containment, validation, load', () => {
  it('serves every tokenizer kind exactly as `lmkit generate` prints it', async () => {
    const corpus = join(scratch, 'pets.txt');
    const lines = ['The cat sat on the mat, and the dog slept.', 'A bird sang; the fox ran away!', 'Über den Fluss gingen drei Kühe.'];
    writeFileSync(corpus, Array.from({ length: 300 }, (_, i) => lines[i % 3]).join('\n'));
    const kinds: [string, string[]][] = [
      ['ck-char', ['--tokenizer', 'char', '--min-count', '1']],
      ['ck-word', ['--tokenizer', 'word', '--min-count', '1']],
      ['ck-bpe', ['--tokenizer', 'bpe', '--bpe-vocab', '300']],
    ];
    for (const [name, flags] of kinds) {
      const r = lmkit('train', '--model', 'lstm', '--corpus', corpus, ...flags, '--steps', '8', '--batch', '4', '--context', '16', '--embed', '16', '--hidden', '16', '--eval-tokens', '400', '--no-test', '--out', join(checkpoints, name));
      expect(r.code, r.stderr).toBe(0);
    }
    // The Brown (whitespace-split word) model of the first test, and the three above.
    for (const [name, prompt] of [['run-1', 'The jury said'], ['ck-char', 'The c'], ['ck-word', 'The cat'], ['ck-bpe', 'Über den']] as const) {
      for (const temperature of [0, 0.9]) {
        const cli = lmkit('generate', '--checkpoint', join(checkpoints, name), '--prompt', prompt, '--max-tokens', '12', '--temperature', String(temperature), '--seed', '5');
        expect(cli.code, cli.stderr).toBe(0);
        const served = await text({ checkpoint: name, prompt, maxTokens: 12, temperature, seed: 5 });
        expect(served, `${name} at temperature ${temperature}`).toBe(cli.stdout.replace(/\n$/, ''));
      }
    }
    // A char model's text is not split into words.
    expect(await text({ checkpoint: 'ck-char', prompt: 'The c', maxTokens: 20, temperature: 0 })).not.toMatch(/^(\S ){5}/);
    // The cache holds at most 2 models (--cache-size 2), least recently used evicted first.
    const st = (await json<Status>('GET', '/status')).body;
    expect(st.generation.loaded).toEqual(['ck-bpe', 'ck-char']); // run-1 and ck-word were evicted
  }, 120_000);

  it('trains and serves mamba and n-gram models; a prompt of unknown words gets a warning', async () => {
    for (const [model, extra] of [['mamba', { embed: 16, layers: 1, context: 16, batch: 4 }], ['ngram', {}]] as const) {
      const r = await json<{ id: number }>('POST', '/train', { model, steps: 4, evalTokens: 1000, ...extra });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      const s = await waitFor(`the ${model} run`, (x) => x.job?.id === r.body.id && x.job.state === 'done', 60_000);
      expect(s.latest!.kind).toBe(model);
      const g = await generateChunks({ prompt: 'The jury said', maxTokens: 5, temperature: 0 });
      expect(g.status).toBe(200);
      expect(g.headers['x-lmkit-model']).toBe(model);
      expect(g.chunks.join('').trim().split(' ').length).toBeGreaterThanOrEqual(1);
    }
    const unk = await generateChunks({ prompt: 'zzqxv qqzxw', maxTokens: 2 });
    expect(unk.status).toBe(200);
    expect(String(unk.headers['x-lmkit-warning'])).toMatch(/every word of the prompt is unknown to the model/);
    expect(stderr).toMatch(/server: warning: every word of the prompt is unknown/);
  }, 150_000);

  it('refuses checkpoints outside --checkpoints and bad request fields with 400s that say why', async () => {
    const outside = join(scratch, 'outside');
    mkdirSync(outside);
    symlinkSync(outside, join(checkpoints, 'escape'));
    symlinkSync(join(checkpoints, 'run-1'), join(checkpoints, 'alias')); // a symlink inside the root is fine
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ prompt: 'The', checkpoint: join(checkpoints, 'run-1') }, 400, /absolute path/],
      [{ prompt: 'The', checkpoint: '../outside' }, 400, /contains '\.\.'/],
      [{ prompt: 'The', checkpoint: 'run-1/../../outside' }, 400, /contains '\.\.'/],
      [{ prompt: 'The', checkpoint: 'escape' }, 400, /leads out of the checkpoints folder/],
      [{ prompt: 'The', checkpoint: 'nope' }, 404, /no folder 'nope'/],
      [{ prompt: 'The', checkpoint: '' }, 400, /checkpoint: must be a non-empty/],
      [{ checkpoint: 'run-1' }, 400, /^prompt: required/],
      [{ prompt: '   ', checkpoint: 'run-1' }, 400, /^prompt: must not be empty/],
      [{ prompt: 7 }, 400, /^prompt: must be a string/],
      [{ prompt: 'The', max_tokens: 5 }, 400, /^unknown field 'max_tokens' \(allowed: prompt, maxTokens/],
      [{ prompt: 'The', maxTokens: 5000 }, 400, /maxTokens must be an integer in \[0, 500\]/],
    ];
    for (const [body, status, message] of cases) {
      const r = await json<{ error: string }>('POST', '/generate', body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.body.error, JSON.stringify(body)).toMatch(message);
    }
    expect((await generateChunks({ prompt: 'The', checkpoint: 'alias', maxTokens: 2 })).status).toBe(200);
    const t = await json<{ error: string }>('POST', '/train', { model: 'ffnn', stpes: 10 });
    expect(t.status).toBe(400);
    expect(t.body.error).toMatch(/^unknown field 'stpes'/);
  }, 60_000);

  it('20 concurrent generations: /health stays under 50 ms p99, each request yields what it yields alone', async () => {
    const body = (i: number) => ({ checkpoint: 'run-1', prompt: 'The jury said', maxTokens: 40, temperature: 0.8, seed: 100 + i });
    const alone = await Promise.all([0, 7, 19].map(async (i) => [i, await text(body(i))] as const));
    const all = Promise.all(Array.from({ length: 20 }, (_, i) => generateChunks(body(i))));
    let finished = false;
    void all.then(() => (finished = true));
    const latencies: number[] = [];
    while (!finished) {
      const s = performance.now();
      const r = await fetch(`${base}/health`);
      await r.json();
      latencies.push(performance.now() - s);
      await new Promise((r) => setTimeout(r, 5));
    }
    const results = await all;
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.ceil(latencies.length * 0.99) - 1]!;
    const ttft = results.map((r) => r.firstMs).sort((a, b) => a - b);
    console.log(
      `example server, 20 concurrent generations of 40 tokens: /health p50 ${latencies[latencies.length >> 1]!.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms ` +
        `(${latencies.length} probes); time to first token median ${ttft[10]!.toFixed(0)} ms, max ${ttft[19]!.toFixed(0)} ms; ` +
        `all done in ${Math.max(...results.map((r) => r.ms)).toFixed(0)} ms`,
    );
    expect(latencies.length).toBeGreaterThanOrEqual(5);
    expect(p99, `health latencies (ms): ${latencies.map((l) => l.toFixed(1)).join(' ')}`).toBeLessThan(50);
    for (const r of results) expect(r.status).toBe(200);
    for (const [i, t] of alone) expect(results[i]!.chunks.join('').replace(/\n$/, ''), `request ${i}`).toBe(t);
  }, 90_000);
});
