// The typed API reference (`npm run docs`: TypeDoc over lib/index.ts, the package's only export,
// into docs/api/). Here TypeDoc runs with --treatWarningsAsErrors into a temp folder: a public
// declaration that references a type the package does not export (or a broken {@link}) fails the
// test; fix it by exporting the type from lib/index.ts (or, for internal typings, by listing it in
// typedoc.json's intentionallyNotExported). About 10-20 s.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { packageRoot } from '../../lib/native/index.js';

const typedocBin = join(packageRoot, 'node_modules', 'typedoc', 'bin', 'typedoc');
const out = mkdtempSync(join(tmpdir(), 'lmkit-docs-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('API reference (TypeDoc)', () => {
  it('builds warning-free from typedoc.json with pages for the public classes and functions', () => {
    expect(existsSync(typedocBin), 'typedoc is not installed: npm install').toBe(true);
    const options = JSON.parse(readFileSync(join(packageRoot, 'typedoc.json'), 'utf8')) as { entryPoints: string[]; out: string };
    expect(options.entryPoints).toEqual(['lib/index.ts']);
    expect(options.out).toBe('docs/api');

    const t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      [typedocBin, '--options', 'typedoc.json', '--out', out, '--treatWarningsAsErrors', '--logLevel', 'Warn'],
      { cwd: packageRoot, encoding: 'utf8', timeout: 90_000 },
    );
    const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    console.log(`typedoc: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(r.status, `typedoc --treatWarningsAsErrors failed:\n${log.slice(-4000)}`).toBe(0);
    expect(log).not.toMatch(/\[warning\]|\[error\]/);

    const pages: [string, string][] = [
      ['classes', 'Tensor'],
      ['classes', 'Trainer'],
      ['classes', 'TransformerLM'],
      ['classes', 'RecurrentLM'],
      ['classes', 'FeedForwardLM'],
      ['classes', 'AdamW'],
      ['classes', 'Vocab'],
      ['functions', 'generate'],
      ['functions', 'generateAll'],
      ['functions', 'trainInWorker'],
      ['functions', 'runTraining'],
      ['functions', 'tidy'],
      ['interfaces', 'GenerateOptions'],
      ['interfaces', 'TrainRunOptions'],
    ];
    for (const [kind, name] of pages) {
      const file = join(out, kind, `${name}.html`);
      expect(existsSync(file), `no page ${kind}/${name}.html`).toBe(true);
    }
    // The pages carry the doc comments of the sources.
    const gen = readFileSync(join(out, 'functions', 'generate.html'), 'utf8');
    expect(gen).toContain('Streams up to');
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('lmkit');
  }, 120_000);
});
