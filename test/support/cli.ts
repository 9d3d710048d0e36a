// Running the built CLI (dist/cli/index.js) as a user does, for the CLI tests.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const cli = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `lmkit ...args` with one native thread (reproducible numbers); killed after 120 s. */
export function lmkit(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, LMKIT_NUM_THREADS: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The JSON objects of `--json` output, one per line. */
export function jsonLines(s: string): Record<string, unknown>[] {
  return s
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The final `{"event":"done"}` object of `--json` output. */
export function doneEvent(stdout: string): Record<string, unknown> {
  return jsonLines(stdout).find((e) => e.event === 'done')!;
}

/** Exit code 1 and exactly one `lmkit: ...` line on stderr matching `pattern`. */
export function expectOneLineError(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines.length, r.stderr).toBe(1);
  expect(lines[0]).toMatch(/^lmkit: /);
  expect(lines[0]).toMatch(pattern);
}
