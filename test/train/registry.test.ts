// The model-family registry (lib/train/registry.ts, one descriptor per family under
// lib/train/families/): what it lists, its errors, registerFamily's checks, the example family
// of docs/adding-a-model-family.md (examples/cbow-family.ts) trained, saved and loaded through
// it. (No import circle in lib/, lib/train included: test/core/import-cycles.test.ts.)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { FAMILIES, MODEL_KINDS, familyOf, neuralFamilyOf, registerFamily } from '../../lib/train/registry.js';
import { MODEL_DEFAULTS } from '../../lib/train/model-defaults.js';
import type { ModelFamily } from '../../lib/train/family.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('the model-family registry', () => {
  it('lists the eight families in help order, each with exactly one of neural and counts', () => {
    expect(FAMILIES.map((f) => f.name)).toEqual(['ngram', 'loglinear', 'ffnn', 'rnn', 'lstm', 'transformer', 'mlm', 'mamba']);
    expect(MODEL_KINDS.slice(0, 8)).toEqual(FAMILIES.map((f) => f.name));
    for (const f of FAMILIES) {
      expect((f.neural === undefined) !== (f.counts === undefined), f.name).toBe(true);
      expect(familyOf(f.name)).toBe(f);
    }
    expect(Object.keys(MODEL_DEFAULTS).sort()).toEqual(['ffnn', 'loglinear', 'lstm', 'mamba', 'mlm', 'rnn', 'transformer']);
    expect(MODEL_DEFAULTS.lstm).toEqual({ batch: 20, context: 35, embed: 200, hidden: 200, layers: 1, heads: 1, lr: 2e-3, clip: 1 });
  });

  it('an unknown name is one clear error listing the known ones', () => {
    expect(() => familyOf('gru')).toThrow("unknown model 'gru' (one of ngram, loglinear, ffnn, rnn, lstm, transformer, mlm, mamba");
    expect(() => neuralFamilyOf('ngram')).toThrow("unknown model kind 'ngram'");
  });

  it('registerFamily checks the descriptor', () => {
    const ok = familyOf('ffnn') as ModelFamily<string, unknown, unknown>;
    expect(() => registerFamily({ ...ok })).toThrow(/a family named 'ffnn' is already registered/);
    expect(() => registerFamily({ ...ok, name: 'Bad Name' })).toThrow(/name must be lower-case/);
    expect(() => registerFamily({ ...ok, name: 'nopart', neural: undefined })).toThrow(/exactly one of neural and counts/);
    expect(() => registerFamily({ ...ok, name: 'nobuild', neural: { ...ok.neural!, build: undefined as never } })).toThrow(/neural\.build must be a function/);
    expect(() => registerFamily({ ...ok, name: 'badbatch', neural: { ...ok.neural!, batches: 'pages' as never } })).toThrow(/neural\.batches/);
    expect(MODEL_KINDS).not.toContain('nobuild');
  });

  it('docs/adding-a-model-family.md: the cbow example family trains, saves and loads through the registry', () => {
    const outDir = path.join(root, 'examples', 'dist', `registry-test-${process.pid}`);
    const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'examples', '--outDir', outDir], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    try {
      expect(tsc.status, `${tsc.stdout}${tsc.stderr}`).toBe(0);
      const r = spawnSync(process.execPath, [path.join(outDir, 'cbow-family.js'), '--steps', '150'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      const trained = /^trained cbow: (\d+) parameters, 150 steps, valid perplexity ([\d.]+)/m.exec(r.stdout);
      expect(trained, r.stdout).not.toBeNull();
      // 12 words (11 + <unk>): a uniform guess is perplexity 12; the templates are far more predictable.
      expect(Number(trained![2])).toBeLessThan(6);
      const loaded = /^loaded cbow from .*: (\d+) parameters; perplexity on the last 2000 characters ([\d.]+)/m.exec(r.stdout);
      expect(loaded, r.stdout).not.toBeNull();
      expect(loaded![1]).toBe(trained![1]);
      expect(Number(loaded![2])).toBeLessThan(6);
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  }, 180_000);

  it('docs/adding-a-model-family.md shows the example\'s model and descriptor, and is linked from the README', () => {
    const doc = fs.readFileSync(path.join(root, 'docs/adding-a-model-family.md'), 'utf8');
    const example = fs.readFileSync(path.join(root, 'examples/cbow-family.ts'), 'utf8');
    const span = (text: string): string => {
      const a = text.indexOf('export interface CbowConfig');
      const b = text.indexOf('\n};\n', text.indexOf('export const cbow'));
      expect(a, 'no CbowConfig').toBeGreaterThan(0);
      expect(b, 'no cbow descriptor').toBeGreaterThan(a);
      return text.slice(a, b).replace(/^\/\/ ---- .*\n/gm, '').replace(/\n{3,}/g, '\n\n');
    };
    expect(span(doc)).toBe(span(example));
    expect(fs.readFileSync(path.join(root, 'README.md'), 'utf8')).toContain('(docs/adding-a-model-family.md)');
  });
});
