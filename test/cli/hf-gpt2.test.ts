// `lmkit import --from hf-gpt2` / `lmkit export --to hf-gpt2` through the built CLI, on the
// tiny GPT-2 of test/fixtures/gpt2 (written by make_golden.py).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

import { loadPretrained } from '../../lib/io/hf-gpt2.js';
import { readSafetensors } from '../../lib/io/safetensors.js';
import { loadTrained } from '../../lib/train/checkpointing.js';
import { TransformerLM, noGrad } from '../../lib/index.js';
import { randomIds } from '../helpers.js';
import { doneEvent, expectOneLineError, lmkit } from '../support/cli.js';

const TINY = fileURLToPath(new URL('../fixtures/gpt2/tiny', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lmkit-cli-hf-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('lmkit import / export --hf-gpt2', () => {
  const ck = join(root, 'ck');

  it('import writes a checkpoint that loads as the same model; generate and eval run on it', () => {
    const r = lmkit('import', '--from', 'hf-gpt2', TINY, '--out', ck);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/2 layers, 4 heads, width 32, context 16, vocabulary 300 \(35584 parameters\), hf-bpe tokenizer/);
    const t = loadTrained(ck);
    const p = loadPretrained(TINY);
    const x = randomIds([2, 16], 300, 5);
    expect(t.model).toBeInstanceOf(TransformerLM);
    const m = t.model as TransformerLM;
    noGrad(() => {
      m.eval();
      expect(Array.from(m.forward(x).toArray())).toEqual(Array.from(p.model.forward(x).toArray()));
    });
    expect(t.tokenizer.encode('The fox runs.')).toEqual(p.tokenizer.encode('The fox runs.'));
    t.model.dispose();
    p.model.dispose();

    const g = ['generate', '--checkpoint', ck, '--prompt', 'The fox', '--max-tokens', '5', '--seed', '3'];
    const a = lmkit(...g);
    expect(a.code, a.stderr).toBe(0);
    expect(lmkit(...g).stdout).toBe(a.stdout);
    const corpus = join(root, 'corpus.txt');
    writeFileSync(corpus, 'The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away.\n'.repeat(40));
    const e = lmkit('eval', '--checkpoint', ck, '--corpus', corpus, '--json');
    expect(e.code, e.stderr).toBe(0);
    const ev = JSON.parse(e.stdout) as { ppl: number; tokens: number };
    expect(ev.tokens).toBeGreaterThan(50);
    expect(Number.isFinite(ev.ppl) && ev.ppl > 1).toBe(true);
  }, 60_000);

  it('export writes the Hugging Face layout back: the same tensors byte for byte', () => {
    const out = join(root, 'hf');
    const r = lmkit('export', '--to', 'hf-gpt2', ck, out);
    expect(r.code, r.stderr).toBe(0);
    const a = readSafetensors(join(TINY, 'model.safetensors')).tensors;
    const b = readSafetensors(join(out, 'model.safetensors')).tensors;
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [k, t] of a) expect(Buffer.from(b.get(k)!.toArray().buffer).equals(Buffer.from(t.toArray().buffer)), k).toBe(true);
    expect(readFileSync(join(out, 'merges.txt'), 'utf8')).toBe(readFileSync(join(TINY, 'merges.txt'), 'utf8'));
  });

  it('train --init fine-tunes the imported model with its own tokenizer', () => {
    const corpus = join(root, 'corpus.txt');
    const base = lmkit('eval', '--checkpoint', ck, '--corpus', corpus, '--json');
    expect(base.code, base.stderr).toBe(0);
    const basePpl = (JSON.parse(base.stdout) as { ppl: number }).ppl;
    const common = ['train', '--init', ck, '--corpus', corpus, '--batch', '4', '--no-test', '--json'];
    // lr 0: the run evaluates exactly the imported weights, through the checkpoint's tokenizer.
    const same = lmkit(...common, '--steps', '1', '--lr', '0');
    expect(same.code, same.stderr).toBe(0);
    expect(same.stderr).toMatch(/--init: weights from/);
    expect(same.stderr).toMatch(/the checkpoint's hf-bpe tokenizer, vocabulary 300/);
    expect(Math.abs((doneEvent(same.stdout).valid_ppl as number) - basePpl) / basePpl).toBeLessThan(1e-6);
    const out = join(root, 'ft');
    const ft = lmkit(...common, '--steps', '30', '--lr', '3e-3', '--out', out);
    expect(ft.code, ft.stderr).toBe(0);
    const ftPpl = doneEvent(ft.stdout).valid_ppl as number;
    expect(ftPpl).toBeLessThan(basePpl / 5);
    const t = loadTrained(out);
    expect(t.tokenizer.kind).toBe('hf-bpe');
    expect(t.meta.config).toMatchObject({ vocabSize: 300, context: 16, embed: 32, heads: 4, layers: 2 });
    t.model.dispose();
    // A run started with --init resumes exactly (same curve as without the interruption).
    const half = join(root, 'ft-half');
    expect(lmkit(...common, '--steps', '4', '--out', half).code).toBe(0);
    const resumed = lmkit('train', '--resume', half, '--steps', '8', '--json');
    expect(resumed.code, resumed.stderr).toBe(0);
    const straight = lmkit(...common, '--steps', '8');
    expect(doneEvent(resumed.stdout).valid_ppl).toBe(doneEvent(straight.stdout).valid_ppl);
    const bad = common.filter((a) => a !== '--json');
    expectOneLineError(lmkit(...bad, '--embed', '64'), /--init .*--embed 64 \(the checkpoint's model has 32\)/);
    expectOneLineError(lmkit(...bad, '--tokenizer', 'char'), /leave out --tokenizer/);
    expectOneLineError(lmkit(...bad, '--context', '32'), /--context 32 exceeds the model's 16 positions/);
  }, 90_000);

  it('a transformer trained by lmkit with the GPT-2 tokenizer: export -> import gives the same model and tokenizer', () => {
    const corpus = join(root, 'corpus2.txt');
    writeFileSync(corpus, 'It was the best of times, it was the worst of times. Ünïcödé 2026!\n'.repeat(30));
    const tr = join(root, 'tr');
    const r = lmkit(
      'train', '--model', 'transformer', '--corpus', corpus, '--tokenizer', 'gpt2', '--steps', '2', '--embed', '16', '--heads', '2',
      '--layers', '1', '--context', '16', '--batch', '2', '--eval-tokens', '100', '--no-test', '--out', tr,
    );
    expect(r.code, r.stderr).toBe(0);
    const hf = join(root, 'tr-hf');
    const e = lmkit('export', '--to', 'hf-gpt2', tr, hf);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/config\.json, model\.safetensors, vocab\.json, merges\.txt/);
    const back = join(root, 'tr-back');
    const i = lmkit('import', '--from', 'hf-gpt2', hf, '--out', back);
    expect(i.code, i.stderr).toBe(0);
    const a = loadTrained(tr);
    const b = loadTrained(back);
    expect(b.tokenizer.kind).toBe('hf-bpe');
    const text = 'It was the worst of times? Ünïcödé';
    expect(Array.from(b.tokenizer.encode(text))).toEqual(Array.from(a.tokenizer.encode(text)));
    const x = randomIds([2, 16], 50257, 8);
    noGrad(() => {
      (a.model as TransformerLM).eval();
      (b.model as TransformerLM).eval();
      expect(Array.from((b.model as TransformerLM).forward(x).toArray())).toEqual(Array.from((a.model as TransformerLM).forward(x).toArray()));
    });
    a.model.dispose();
    b.model.dispose();
    const g = (ck: string) => lmkit('generate', '--checkpoint', ck, '--prompt', 'It was', '--max-tokens', '6', '--seed', '4').stdout;
    expect(g(back)).toBe(g(tr));
  }, 90_000);

  it('the imported tokenizer needs no js-tiktoken (a plain `npm i lmkit` has none)', () => {
    // A preload that makes every resolution of js-tiktoken fail, as in an install without it.
    const block = join(root, 'no-tiktoken.cjs');
    writeFileSync(
      block,
      "const M = require('module'); const r = M._resolveFilename; M._resolveFilename = function (req, ...a) {" +
        " if (String(req).startsWith('js-tiktoken')) throw new Error('js-tiktoken is not installed'); return r.call(this, req, ...a); };",
    );
    const dist = new URL('../../dist/index.js', import.meta.url).href;
    const code =
      `const m = await import(${JSON.stringify(dist)});` +
      `const p = m.loadPretrained(${JSON.stringify(TINY)});` +
      `const ids = p.tokenizer.encode('The fox runs.');` +
      `let gpt2 = 'ok'; try { new m.Gpt2Tokenizer().encode('x'); } catch (e) { gpt2 = e.message; }` +
      `console.log(JSON.stringify({ kind: p.tokenizer.kind, ids: Array.from(ids), text: p.tokenizer.decode(ids), gpt2 }));`;
    const r = spawnSync(process.execPath, ['--require', block, '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout.trim()) as { kind: string; ids: number[]; text: string; gpt2: string };
    expect(o).toMatchObject({ kind: 'hf-bpe', ids: [269, 262, 297, 13], text: 'The fox runs.' });
    // The block works: the js-tiktoken tokenizer does fail in that process.
    expect(o.gpt2).toMatch(/needs the js-tiktoken package/);
  });

  it('bad input: one line, exit 1, --out untouched', () => {
    const bad = join(root, 'bad');
    cpSync(TINY, bad, { recursive: true });
    const f = join(bad, 'model.safetensors');
    writeFileSync(f, readFileSync(f).subarray(0, 5000)); // truncated
    const out = join(root, 'never');
    expectOneLineError(lmkit('import', '--from', 'hf-gpt2', bad, '--out', out), /bad: model\.safetensors: /);
    expect(existsSync(out)).toBe(false);
    // An existing checkpoint at --out stays as it was.
    const before = readFileSync(join(ck, 'model.safetensors'));
    expectOneLineError(lmkit('import', '--from', 'hf-gpt2', bad, '--out', ck), /model\.safetensors/);
    expect(readFileSync(join(ck, 'model.safetensors')).equals(before)).toBe(true);
    rmSync(f);
    writeFileSync(join(bad, 'pytorch_model.bin'), 'not really');
    expectOneLineError(lmkit('import', '--from', 'hf-gpt2', bad, '--out', out), /only pytorch_model\.bin/);
    expect(existsSync(out)).toBe(false);
    expectOneLineError(lmkit('export', '--to', 'hf-gpt2', join(root, 'nothing'), out), /does not exist/);
  }, 60_000);
});
