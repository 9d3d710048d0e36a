// kill -9 during training with --save-every: whatever the moment (before the first save,
// while a checkpoint is being written -- temporary files in the directory --, between
// saves), the checkpoint directory afterwards either holds no checkpoint yet or one that
// loads (loadTrained) and resumes (runTraining --resume).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

import { META_FILE } from '../../lib/io/checkpoint.js';
import { makeRng } from '../../lib/tensor.js';
import { loadTrained } from '../../lib/train/checkpointing.js';
import { runTraining } from '../../lib/train/run.js';

const cli = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function start(dir: string): ChildProcess {
  const args = [cli, 'train', '--model', 'ffnn', '--batch', '32', '--embed', '32', '--hidden', '32', '--min-count', '50'];
  args.push('--eval-tokens', '200', '--no-test', '--steps', '1000000', '--save-every', '2', '--out', dir);
  return spawn(process.execPath, args, { stdio: 'ignore', env: { ...process.env, LMKIT_NUM_THREADS: '1' } });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const exited = (c: ChildProcess): Promise<void> =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r()));
const hasTemp = (dir: string): boolean => existsSync(dir) && readdirSync(dir).some((f) => f.includes('.tmp-'));

/**
 * Kills the child when `dir` shows a temporary file of a save in progress (polling), or
 * after `maxMs`; with `afterCommit`, only once a checkpoint has been committed there.
 */
async function killWhileWriting(child: ChildProcess, dir: string, maxMs: number, afterCommit: boolean): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < maxMs) {
    // Busy-poll in slices, yielding now and then so the exit event can be seen.
    const slice = Date.now() + 20;
    while (Date.now() < slice) {
      if (hasTemp(dir) && (!afterCommit || existsSync(join(dir, META_FILE)))) {
        child.kill('SIGKILL');
        return true;
      }
    }
    await sleep(0);
  }
  child.kill('SIGKILL');
  return false;
}

describe('kill -9 during checkpoint writes', () => {
  it('leaves no checkpoint or one that loads and resumes, at random moments and mid-write', async () => {
    const rng = makeRng(20240607);
    // Moments: ms after spawn (random; the first before any save), 'first-write' (kill when
    // the first save's temporary files show up) or 'write' (the same, once a checkpoint is
    // committed: a save replacing it; twice to catch different stages of the save).
    const plan: (number | 'first-write' | 'write')[] = [Math.floor(rng() * 300), 'first-write', 'write', 1300 + Math.floor(rng() * 800), 'write'];
    let checkpoints = 0;
    let midWrite = 0;
    for (const moment of plan) {
      const dir = mkdtempSync(join(tmpdir(), 'lmkit-kill-'));
      dirs.push(dir);
      const child = start(dir);
      if (moment === 'write' || moment === 'first-write') {
        if (await killWhileWriting(child, dir, 25_000, moment === 'write')) midWrite++;
      } else {
        await sleep(moment);
        child.kill('SIGKILL');
      }
      await exited(child);
      expect(child.signalCode).toBe('SIGKILL');
      if (!existsSync(join(dir, META_FILE))) continue; // killed before the first commit
      checkpoints++;
      const loaded = loadTrained(dir);
      const step = loaded.meta.step;
      loaded.model.dispose();
      expect(step).toBeGreaterThanOrEqual(2);
      expect(step % 2).toBe(0);
      const r = await runTraining({ resume: dir, steps: step + 2 });
      expect(r.steps).toBe(step + 2);
      expect(Number.isFinite(r.validPpl)).toBe(true);
      const again = loadTrained(dir);
      expect(again.meta.step).toBe(step + 2);
      again.model.dispose();
    }
    console.log(`kill -9: ${plan.length} kills, ${midWrite} while a save had temporary files, ${checkpoints} left a checkpoint`);
    expect(midWrite).toBeGreaterThanOrEqual(2);
    expect(checkpoints).toBeGreaterThanOrEqual(2);
  }, 180_000);
});
