// examples/server.ts, compiled with `tsc -p examples` and run as a user would (`node
// examples/dist/server.js --port 0`): a quick training run gives a model; while a second run
// trains in the worker, /health keeps answering fast and /generate streams words chunk by chunk.
// Needs dist/ (`npm run build:ts`). About 20-40 s on a loaded 2-core machine.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { packageRoot } from '../../lib/native/index.js';

const tsc = join(packageRoot, 'node_modules', 'typescript', 'bin', 'tsc');
const serverJs = join(packageRoot, 'examples', 'dist', 'server.js');
const checkpoints = mkdtempSync(join(tmpdir(), 'lmkit-example-server-'));
let child: ChildProcess | null = null;
let base = '';
let stderr = '';

interface Status {
  job: { id: number; state: string; step: number; total: number; loss: number | null; error: string | null } | null;
  latest: { checkpoint: string; kind: string } | null;
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
function generateChunks(body: unknown): Promise<{ status: number; headers: Record<string, unknown>; chunks: string[] }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: string[] = [];
      res.setEncoding('utf8');
      res.on('data', (c: string) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, chunks }));
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
  const proc = spawn(process.execPath, [serverJs, '--port', '0', '--checkpoints', checkpoints], {
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
  rmSync(checkpoints, { recursive: true, force: true });
});

describe('examples/server.ts', () => {
  it('trains in a worker while /health stays fast and /generate streams words', async () => {
    const t0 = performance.now();
    // Bad requests are refused with a reason.
    expect((await json<{ error: string }>('POST', '/generate', { prompt: 'the' })).status).toBe(409);
    expect((await json<{ error: string }>('POST', '/train', { model: 'ngram' })).status).toBe(400);
    expect((await json<{ error: string }>('GET', '/nope')).status).toBe(404);

    // 1. A quick run: its checkpoint becomes the latest model.
    const first = await json<{ id: number }>('POST', '/train', { model: 'ffnn', steps: 20, evalTokens: 1000 });
    expect(first.status).toBe(202);
    const done = await waitFor('the first run', (s) => s.job?.id === first.body.id && s.job.state === 'done', 40_000);
    expect(done.latest).toMatchObject({ kind: 'ffnn' });
    expect(done.latest!.checkpoint).toBe(join(checkpoints, 'run-1'));
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

    // Generation from an explicit checkpoint directory.
    const fromDir = await generateChunks({ prompt: 'It was', maxTokens: 3, temperature: 0, checkpoint: join(checkpoints, 'run-1') });
    expect(fromDir.status).toBe(200);
    expect(fromDir.chunks.join('').trim().split(' ')).toHaveLength(3);

    // 4. Stop the long run.
    expect((await json('DELETE', '/train')).status).toBe(200);
    const stopped = await waitFor('the stop', (s) => s.job?.state === 'stopped', 10_000);
    expect(stopped.job!.error).toMatch(/stopped by DELETE \/train/);
  }, 90_000);
});
