// Ctrl-C in a data-parallel run (lib/dist/ddp.ts stopWhen, lib/cli/train.ts, lib/dist/launch.ts):
// a SIGINT to the launcher and every rank (what a terminal's Ctrl-C does), or to one rank only,
// stops every rank after the same step (agreed in that step's all-reduce); rank 0 writes the
// checkpoint of that step; every process exits with 130; nothing hangs.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { cli, freePort, glooMissing, start, until } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'lmkit-dist-int-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const savedStep = (dir: string): number =>
  (JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { meta: { training: { trainer: { step: number } } } }).meta.training.trainer.step;

describe.skipIf(glooMissing !== null)('data parallel: Ctrl-C', () => {
  for (const target of ['the launcher and every rank (a terminal)', 'rank 1 only'] as const) {
    it(`SIGINT to ${target}: all ranks stop after the same step, rank 0 saves it, every process exits 130`, async () => {
      const port = await freePort();
      const out = join(root, target === 'rank 1 only' ? 'one' : 'all');
      const p = start(
        [cli, 'train', '--model', 'lstm', '--batch', '2', '--context', '8', '--embed', '8', '--hidden', '8', '--steps', '1000000', '--eval-tokens', '200', '--no-test']
          .concat(['--nproc', '2', '--master-port', String(port), '--json', '--log-every', '1', '--out', out]),
        { LMKIT_DIST_GRACE: '20' },
      );
      await until(() => /rank 1 of 2 started \(pid \d+\)/.test(p.stderr()), 30_000, 'the launcher');
      const pids = [0, 1].map((r) => Number(new RegExp(`rank ${r} of 2 started \\(pid (\\d+)\\)`).exec(p.stderr())![1]));
      const steps = (): number => (p.stdout().match(/"event":"step"/g) ?? []).length;
      await until(() => steps() >= 3, 90_000, 'three steps');
      const t0 = Date.now();
      if (target === 'rank 1 only') process.kill(pids[1]!, 'SIGINT');
      else for (const pid of [p.child.pid!, ...pids]) process.kill(pid, 'SIGINT');
      const e = await p.exit;
      const ms = Date.now() - t0;
      console.log(`SIGINT to ${target}: every process exited ${ms} ms later`);
      expect(e.code).toBe(130);
      expect(ms).toBeLessThan(30_000);
      for (const [r, pid] of pids.entries()) expect(e.stderr).toContain(`rank ${r} (pid ${pid}) stopped on an interrupt (exit 130)`);
      expect(e.stderr).not.toMatch(/interrupted again|was killed|exited with code/);
      const ev = e.stdout
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { event: string; step: number; checkpoint?: string });
      const stop = ev.find((x) => x.event === 'interrupted');
      expect(stop).toBeDefined();
      expect(stop!.checkpoint).toBe(out);
      // The last step reported is the step saved, and rank 0 saved it.
      expect(stop!.step).toBe(ev.filter((x) => x.event === 'step').pop()!.step);
      expect(savedStep(out)).toBe(stop!.step);
    });
  }
});
