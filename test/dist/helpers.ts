// Running a data-parallel job of test/dist/worker.mjs processes over loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

import { glooLoadInfo } from '../../lib/dist/gloo.js';

/**
 * Why the Gloo tests cannot run here (null: they can). Without the module (no libgloo-dev at
 * build time) they skip and say so, except in CI (.ci/run installs it), where they must run.
 */
export const glooMissing: string | null = glooLoadInfo().error === null || process.env.CI ? null : glooLoadInfo().error;
if (glooMissing) console.log(`data-parallel tests skipped: ${glooMissing}`);

export const worker = fileURLToPath(new URL('./worker.mjs', import.meta.url));
export const cli = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));

/** A TCP port free on 127.0.0.1 just now. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from start to exit. */
  ms: number;
}

export interface Proc {
  child: ChildProcess;
  exit: Promise<Exit>;
  stderr: () => string;
  stdout: () => string;
}

/** Starts `node args` with `env` added; collects its output. */
export function start(args: string[], env: Record<string, string>): Proc {
  const t0 = Date.now();
  const child = spawn(process.execPath, args, { env: { ...process.env, LMKIT_NUM_THREADS: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<Exit>((resolve) =>
    child.on('exit', (code, signal) => {
      // Let the pipes drain.
      setTimeout(() => resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 }), 50);
    }),
  );
  return { child, exit, stderr: () => stderr, stdout: () => stdout };
}

/** The env of rank `rank` of `world` with rank 0 on 127.0.0.1:port. */
export function rankEnv(rank: number, world: number, port: number, extra: Record<string, string> = {}): Record<string, string> {
  return { RANK: String(rank), WORLD_SIZE: String(world), LOCAL_RANK: String(rank), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), ...extra };
}

/** Runs `world` workers on `input` (world 1: no rank variables: a plain process); their exits in rank order. */
export async function runJob(world: number, input: Record<string, unknown>, extra: Record<string, string> = {}): Promise<Exit[]> {
  const port = await freePort();
  const procs = Array.from({ length: world }, (_, r) =>
    start([worker, JSON.stringify(input)], world === 1 ? extra : rankEnv(r, world, port, extra)),
  );
  return Promise.all(procs.map((p) => p.exit));
}

/** The JSON line a worker printed. */
export function result(e: Exit): { rank: number; worldSize: number; losses: number[]; validPpl: number; steps: number } {
  const line = e.stdout.trim().split('\n').pop();
  if (e.code !== 0 || !line) throw new Error(`worker failed (code ${e.code}, signal ${e.signal}): ${e.stderr}`);
  return JSON.parse(line) as { rank: number; worldSize: number; losses: number[]; validPpl: number; steps: number };
}

/** Waits (polling) until `cond()` holds; throws naming `what` after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
