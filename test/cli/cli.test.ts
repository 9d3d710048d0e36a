// Runs the built CLI (dist/cli/index.js, made by `npm run build`) as a user would.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));

function lmkit(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('lmkit CLI', () => {
  it('is built', () => {
    expect(existsSync(cli), 'run `npm run build` first').toBe(true);
  });

  it('info --json reports the backend, SGEMM and kernel families', () => {
    const r = lmkit('info', '--json');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as { backend: string; sgemm: string; threads: number; families: string[] };
    expect(info.backend).toBe('cpu');
    expect(info.sgemm).toMatch(/lmkit|cblas/);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    for (const f of ['embedding', 'matmul', 'lstm', 'attention', 'crossentropy']) expect(info.families).toContain(f);
  });

  it('train --model ngram --json prints eval and done events with perplexities', () => {
    const r = lmkit('train', '--model', 'ngram', '--context', '2', '--json');
    expect(r.code).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const done = events.find((e) => e.event === 'done')!;
    expect(done).toBeDefined();
    expect(done.valid_ppl as number).toBeGreaterThan(50);
    expect(done.valid_ppl as number).toBeLessThan(400);
    expect(events.filter((e) => e.event === 'eval').map((e) => e.split)).toEqual(['valid', 'test']);
    // Messages go to stderr in --json mode.
    expect(r.stderr).toMatch(/corpus brown/);
  });

  it('bad flags exit non-zero with one clear line on stderr and no stack trace', () => {
    for (const args of [
      ['train', '--model', 'bogus'],
      ['train', '--steps', '-3'],
      ['train', '--lr', 'fast'],
      ['nosuchcommand'],
    ]) {
      const r = lmkit(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines.length, r.stderr).toBe(1);
      expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
    }
  });

  it('a model that cannot be built gives a clear error, not a crash', () => {
    const r = lmkit('train', '--model', 'ffnn', '--hidden', '0', '--steps', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^lmkit: .*direct connections are required/);
  });
});
