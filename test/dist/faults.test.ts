// Data-parallel failures over loopback: a rank killed mid-run, and the rendezvous errors
// (port in use, --nproc 0, a world size the ranks do not match, ranks that never arrive, an
// unreachable master, ranks that run different things). Each must end every process with a
// clear message within a bound, never hang.
import { cpSync, mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { cli, freePort, glooMissing, rankEnv, result, runJob, start, worker, type Proc } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'lmkit-dist-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const small = { model: 'ffnn', corpus: 'brown', batch: 8, context: 3, embed: 8, hidden: 8, evalTokens: 200, test: false, seed: 2 };
/** Bound on the time from a kill to every other rank's exit (detection is immediate; naming the rank waits <= 3 s for the store). */
const LOST_BOUND_MS = 15_000;

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const savedStep = (dir: string): number =>
  (JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { meta: { training: { trainer: { step: number } } } }).meta.training.trainer.step;

describe.skipIf(glooMissing !== null)('data parallel: a rank lost mid-run', () => {
  it('SIGKILL of rank 1 of 3: ranks 0 and 2 exit non-zero naming rank 1, in bounded time; the last checkpoint resumes (on 1 and on 2 ranks)', async () => {
    const out = join(tmp, 'killed');
    const port = await freePort();
    const input = { ...small, steps: 1_000_000, out, saveEvery: 5 };
    const procs: Proc[] = [0, 1, 2].map((r) => start([worker, JSON.stringify(input)], rankEnv(r, 3, port, { TEST_SAY_STEPS: '1' })));
    await until(() => existsSync(join(out, 'checkpoint.json')) && /step 12\n/.test(procs[0]!.stderr()), 60_000, 'a checkpoint and step 12');
    const killedAt = Date.now();
    procs[1]!.child.kill('SIGKILL');
    const exits = await Promise.all(procs.map((p) => p.exit));
    expect(exits[1]!.signal).toBe('SIGKILL');
    for (const r of [0, 2]) {
      const e = exits[r]!;
      expect(e.code, e.stderr).not.toBe(0);
      expect(e.stderr).toMatch(new RegExp(`rank ${r}: all-reduce failed: rank 1 was lost`));
    }
    // Bounded: every rank gone within LOST_BOUND_MS of the kill.
    const gone = Date.now() - killedAt;
    expect(gone).toBeLessThan(LOST_BOUND_MS + 1000);
    console.log(`ranks 0 and 2 exited ${gone} ms after rank 1 was killed: ${exits[0]!.stderr.trim().split('\n').pop()}`);
    // The checkpoint written before the kill resumes: in one process, and on 2 ranks.
    const step = savedStep(out);
    expect(step % 5).toBe(0);
    const copy = `${out}-copy`;
    cpSync(out, copy, { recursive: true });
    const [one] = await runJob(1, { resume: out, steps: step + 3 });
    expect(result(one!).steps).toBe(step + 3);
    const two = await runJob(2, { resume: copy, steps: step + 2 });
    expect(two.map((e) => result(e).steps)).toEqual([step + 2, step + 2]);
  });

  it('through the launcher: lmkit train --nproc 2 reports the killed rank and exits non-zero', async () => {
    const port = await freePort();
    const p = start(
      [cli, 'train', '--model', 'ffnn', '--batch', '8', '--context', '3', '--embed', '8', '--hidden', '8', '--steps', '1000000', '--eval-tokens', '200', '--no-test', '--nproc', '2', '--master-port', String(port)],
      { LMKIT_DIST_GRACE: '5' },
    );
    await until(() => /rank 1 of 2 started \(pid \d+\)/.test(p.stderr()), 30_000, 'the launcher');
    const pid = Number(/rank 1 of 2 started \(pid (\d+)\)/.exec(p.stderr())![1]);
    await until(() => /data-parallel: 2 ranks/.test(p.stdout()), 60_000, 'training to start');
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');
    const e = await p.exit;
    expect(e.code).not.toBe(0);
    expect(Date.now() - t0).toBeLessThan(LOST_BOUND_MS);
    expect(e.stderr).toMatch(new RegExp(`rank 1 \\(pid ${pid}\\) was killed by SIGKILL`));
    expect(e.stderr).toMatch(/rank 0: .*rank 1 was lost/);
  });
});

describe.skipIf(glooMissing !== null)('data parallel: rendezvous errors are clear and bounded', () => {
  // Short timeouts where the test waits for them; 20 s where both ranks must arrive (a loaded machine).
  const quick = { LMKIT_DIST_RENDEZVOUS_TIMEOUT: '2', LMKIT_DIST_GRACE: '2' };
  const arrive = { LMKIT_DIST_RENDEZVOUS_TIMEOUT: '20', LMKIT_DIST_TIMEOUT: '60', LMKIT_DIST_GRACE: '2' };

  it('--nproc 0 is refused', async () => {
    const e = await start([cli, 'train', '--nproc', '0'], {}).exit;
    expect(e.code).not.toBe(0);
    expect(e.stderr).toMatch(/--nproc must be an integer in \[1, 4096\]/);
  });

  it('a master port in use', async () => {
    const busy = createServer((s) => s.destroy());
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      const e = await start([cli, 'train', '--model', 'ffnn', '--steps', '2', '--nproc', '2', '--master-port', String(port)], quick).exit;
      expect(e.code).not.toBe(0);
      expect(e.stderr).toMatch(new RegExp(`rank 0: rendezvous: the master port 127.0.0.1:${port} is in use`));
      expect(e.ms).toBeLessThan(30_000);
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });

  it('a world size that the arriving ranks do not match', async () => {
    const port = await freePort();
    const input = JSON.stringify({ ...small, steps: 2 });
    const [e0, e1] = await Promise.all([
      start([worker, input], rankEnv(0, 2, port, arrive)).exit,
      start([worker, input], rankEnv(1, 3, port, arrive)).exit,
    ]);
    for (const e of [e0!, e1!]) {
      expect(e.code).not.toBe(0);
      expect(e.stderr).toMatch(/world size mismatch: rank 1 was started with world size 3, the master \(rank 0\) with 2/);
      expect(e.ms).toBeLessThan(15_000);
    }
  });

  it('ranks that never arrive, and an unreachable master', async () => {
    const port = await freePort();
    const input = JSON.stringify({ ...small, steps: 2 });
    const alone = await start([worker, input], rankEnv(0, 2, port, quick)).exit;
    expect(alone.code).not.toBe(0);
    expect(alone.stderr).toMatch(/rank 0: rendezvous: 1 of 2 ranks arrived within 2 s \(missing: rank 1\)/);
    const orphan = await start([worker, input], rankEnv(1, 2, await freePort(), quick)).exit;
    expect(orphan.code).not.toBe(0);
    expect(orphan.stderr).toMatch(/rank 1: rendezvous: the master 127.0.0.1:\d+ was unreachable for 2 s/);
    expect(Math.max(alone.ms, orphan.ms)).toBeLessThan(15_000);
  });

  it('ranks that run different models: the first difference is named', async () => {
    const port = await freePort();
    const [e0, e1] = await Promise.all([
      start([worker, JSON.stringify({ ...small, steps: 2 })], rankEnv(0, 2, port, arrive)).exit,
      start([worker, JSON.stringify({ ...small, steps: 2, hidden: 12 })], rankEnv(1, 2, port, arrive)).exit,
    ]);
    for (const e of [e0!, e1!]) {
      expect(e.code).not.toBe(0);
      expect(e.stderr).toMatch(/rank 1 does not run what rank 0 runs: config.hidden is 12 on rank 1, 8 on rank 0/);
    }
  });
});
