// Hugging Face GPT-2 import/export (lib/io/hf-gpt2.ts) against the PyTorch golden fixture
// written by test/fixtures/gpt2/make_golden.py (plain-torch GPT-2 forward, float64 reference).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { Gpt2Tokenizer, HfBpeTokenizer, gpt2TokenizerFiles } from '../../lib/data/tokenizers.js';
import { HfGpt2Error, loadPretrained, savePretrained } from '../../lib/io/hf-gpt2.js';
import { readSafetensors, writeSafetensors } from '../../lib/io/safetensors.js';
import { TransformerLM } from '../../lib/models/transformer.js';
import { AdamW } from '../../lib/optim/optimizer.js';
import { Tensor, crossEntropy, noGrad } from '../../lib/index.js';
import { randomIds } from '../helpers.js';
import { gpt2GoldenErrors } from '../support/gpt2-golden.js';

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'gpt2');
const TINY = path.join(FIX, 'tiny');
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lmkit-hf-gpt2-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let tmpN = 0;
const tmp = (): string => path.join(tmpRoot, `d${tmpN++}`);

describe('loadPretrained: golden parity with a PyTorch GPT-2', () => {
  it('reproduces the logits and loss to 1e-5 and every gradient to 1e-4', () => {
    const { model, config, tokenizer } = loadPretrained(TINY);
    expect(config).toMatchObject({ vocabSize: 300, context: 16, embed: 32, heads: 4, layers: 2, dropout: 0 });
    expect(tokenizer.kind).toBe('hf-bpe');
    model.dispose();
    const e = gpt2GoldenErrors();
    expect(e.logits).toBeLessThan(1e-5);
    expect(e.loss).toBeLessThan(1e-5);
    expect(e.grads.size).toBe(e.parameters);
    expect(e.grads.size).toBe(2 + 2 * 12 + 2);
    for (const [name, err] of e.grads) expect(err, `gradient of ${name}`).toBeLessThan(1e-4);
  });

  it('reads vocab.json + merges.txt: encodings match the reference BPE, decoding inverts them', () => {
    const { tokenizer, model } = loadPretrained(TINY);
    model.dispose();
    const cases = JSON.parse(fs.readFileSync(path.join(FIX, 'tokenizer-golden.json'), 'utf8')) as { text: string; ids: number[] }[];
    expect(cases.length).toBeGreaterThan(3);
    for (const c of cases) {
      expect(Array.from(tokenizer.encode(c.text)), c.text).toEqual(c.ids);
      expect(tokenizer.decode(c.ids)).toBe(c.text);
    }
    // The tokenizer survives its JSON form (what a checkpoint stores).
    const again = HfBpeTokenizer.fromJSON((tokenizer as HfBpeTokenizer).toJSON());
    expect(Array.from(again.encode(cases[1]!.text))).toEqual(cases[1]!.ids);
  });
});

describe("HfBpeTokenizer with GPT-2's own vocab.json + merges.txt", () => {
  it('encodes and decodes exactly as the GPT-2 tokenizer (js-tiktoken)', () => {
    const files = gpt2TokenizerFiles();
    const hf = HfBpeTokenizer.fromFiles(files.vocabJson, files.mergesTxt);
    const ref = new Gpt2Tokenizer();
    expect(hf.vocabSize).toBe(50257);
    const vocab = JSON.parse(files.vocabJson) as Record<string, number>;
    // Well-known ids of GPT-2's vocab.json.
    expect([vocab['!'], vocab['Ġthe'], vocab['Ġ'], vocab['<|endoftext|>']]).toEqual([0, 262, 220, 50256]);
    expect(files.mergesTxt.split('\n').slice(0, 3)).toEqual(['#version: 0.2', 'Ġ t', 'Ġ a']);
    const texts = [
      "Hello, world! It's 2026 and we're testing GPT-2's tokenizer; don't you think?",
      '  leading   spaces,\ttabs\n\nand newlines  ',
      'Ünïcödé: naïve café, 東京, Привет, emoji 🎉🚀 and <|endoftext|> as text.',
      'numbers 3.14159 1,000,000 x=y+z_w (a[b]) {"k": [1, 2]}',
      'The quick brown fox jumps over the lazy dog. '.repeat(20),
    ];
    for (const t of texts) {
      const ids = hf.encode(t);
      expect(Array.from(ids), t).toEqual(Array.from(ref.encode(t)));
      expect(hf.decode(ids)).toBe(t);
    }
  }, 60_000);
});

describe('savePretrained', () => {
  it('import -> export gives byte-identical tensors, config and tokenizer files', () => {
    const { model, tokenizer } = loadPretrained(TINY);
    const out = tmp();
    const files = savePretrained(out, model, { tokenizer });
    model.dispose();
    expect(files.sort()).toEqual(['config.json', 'merges.txt', 'model.safetensors', 'vocab.json']);
    const a = readSafetensors(path.join(TINY, 'model.safetensors'));
    const b = readSafetensors(path.join(out, 'model.safetensors'));
    expect([...b.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
    for (const [k, t] of a.tensors) {
      const u = b.tensors.get(k)!;
      expect(u.shape, k).toEqual(t.shape);
      expect(Buffer.from((u.toArray() as Float32Array).buffer).equals(Buffer.from((t.toArray() as Float32Array).buffer)), k).toBe(true);
    }
    expect(b.metadata.format).toBe('pt');
    const ca = JSON.parse(fs.readFileSync(path.join(TINY, 'config.json'), 'utf8')) as Record<string, unknown>;
    const cb = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    for (const k of ['model_type', 'vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head', 'activation_function', 'layer_norm_epsilon', 'tie_word_embeddings']) {
      expect(cb[k], k).toEqual(ca[k]);
    }
    expect(JSON.parse(fs.readFileSync(path.join(out, 'vocab.json'), 'utf8'))).toEqual(JSON.parse(fs.readFileSync(path.join(TINY, 'vocab.json'), 'utf8')));
    expect(fs.readFileSync(path.join(out, 'merges.txt'), 'utf8')).toBe(fs.readFileSync(path.join(TINY, 'merges.txt'), 'utf8'));
  });

  it('an lmkit-trained transformer exported and imported gives the same logits', () => {
    const model = new TransformerLM({ vocabSize: 300, context: 8, embed: 24, heads: 3, layers: 3, dropout: 0, seed: 7 });
    const opt = new AdamW(model.parameters(), { lr: 1e-2 });
    for (let s = 0; s < 3; s++) {
      const x = randomIds([2, 8], 300, 10 + s);
      const y = randomIds([16], 300, 20 + s);
      opt.zeroGrad();
      crossEntropy(model.forward(x), y).backward();
      opt.step();
    }
    const out = tmp();
    const tok = loadPretrained(TINY).tokenizer;
    savePretrained(out, model, { tokenizer: tok });
    const back = loadPretrained(out);
    expect(back.config).toMatchObject({ vocabSize: 300, context: 8, embed: 24, heads: 3, layers: 3 });
    const x = randomIds([3, 8], 300, 99);
    noGrad(() => {
      model.eval();
      back.model.eval();
      expect(Array.from(back.model.forward(x).toArray())).toEqual(Array.from(model.forward(x).toArray()));
    });
    model.dispose();
    back.model.dispose();
  });
});

describe('loadPretrained: bad input', () => {
  /** A copy of the tiny model directory, changed by `edit`. */
  function variant(edit: (dir: string) => void): string {
    const d = tmp();
    fs.cpSync(TINY, d, { recursive: true });
    edit(d);
    return d;
  }
  function expectOneLine(dir: string, re: RegExp): void {
    let err: unknown;
    try {
      loadPretrained(dir).model.dispose();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HfGpt2Error);
    const msg = (err as Error).message;
    expect(msg).toMatch(re);
    expect(msg).not.toContain('\n');
    expect(msg.startsWith(dir)).toBe(true);
  }
  const editConfig = (d: string, f: (c: Record<string, unknown>) => void): void => {
    const c = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8')) as Record<string, unknown>;
    f(c);
    fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(c));
  };
  const editTensors = (d: string, f: (m: Map<string, Tensor>) => void): void => {
    const m = readSafetensors(path.join(d, 'model.safetensors')).tensors;
    f(m);
    writeSafetensors(path.join(d, 'model.safetensors'), m, { format: 'pt' });
  };

  it('names what is wrong', () => {
    expectOneLine(path.join(tmpRoot, 'nope'), /not a directory/);
    expectOneLine(variant((d) => editConfig(d, (c) => (c.model_type = 'llama'))), /model_type is "llama", not "gpt2"/);
    expectOneLine(variant((d) => editConfig(d, (c) => (c.activation_function = 'relu'))), /activation_function "relu"/);
    expectOneLine(variant((d) => editConfig(d, (c) => (c.layer_norm_epsilon = 1e-6))), /layer_norm_epsilon/);
    expectOneLine(variant((d) => editConfig(d, (c) => (c.n_head = 5))), /n_embd \(32\) is not a multiple of n_head \(5\)/);
    expectOneLine(variant((d) => editConfig(d, (c) => (c.n_layer = 3))), /missing tensor h\.2\.ln_1\.weight/);
    expectOneLine(variant((d) => editTensors(d, (m) => m.delete('transformer.h.1.mlp.c_fc.bias'))), /missing tensor h\.1\.mlp\.c_fc\.bias \[128\]/);
    expectOneLine(
      variant((d) => editTensors(d, (m) => m.set('transformer.h.0.attn.c_attn.weight', Tensor.zeros([96, 32])))),
      /h\.0\.attn\.c_attn\.weight has shape \[96,32\], config\.json implies \[32,96\]/,
    );
    expectOneLine(variant((d) => editTensors(d, (m) => m.set('lm_head.weight', Tensor.zeros([300, 32])))), /lm_head\.weight differs from wte\.weight/);
    expectOneLine(
      variant((d) => {
        const f = path.join(d, 'model.safetensors');
        const buf = fs.readFileSync(f);
        fs.writeFileSync(f, buf.subarray(0, buf.length - 100));
      }),
      /model\.safetensors: /,
    );
    expectOneLine(
      variant((d) => {
        fs.renameSync(path.join(d, 'model.safetensors'), path.join(d, 'pytorch_model.bin'));
      }),
      /only pytorch_model\.bin/,
    );
    expectOneLine(variant((d) => fs.rmSync(path.join(d, 'merges.txt'))), /has vocab\.json but not merges\.txt/);
    expectOneLine(
      variant((d) => {
        fs.rmSync(path.join(d, 'merges.txt'));
        fs.rmSync(path.join(d, 'vocab.json'));
      }),
      /vocab_size 300 is not GPT-2's 50257/,
    );
  });

  it('accepts the names without the transformer. prefix and ignores the attention-mask buffers', () => {
    const d = variant((dir) =>
      editTensors(dir, (m) => {
        for (const [k, t] of [...m]) {
          m.delete(k);
          m.set(k.replace(/^transformer\./, ''), t);
        }
        m.set('h.0.attn.bias', Tensor.ones([1, 1, 16, 16]));
        m.set('lm_head.weight', m.get('wte.weight')!);
      }),
    );
    const a = loadPretrained(TINY).model;
    const b = loadPretrained(d).model;
    const x = randomIds([1, 5], 300, 3);
    expect(Array.from(b.forward(x).toArray())).toEqual(Array.from(a.forward(x).toArray()));
    a.dispose();
    b.dispose();
  });
});
