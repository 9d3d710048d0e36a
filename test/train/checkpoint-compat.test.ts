// Checkpoints written by an earlier lmkit keep loading: test/fixtures/checkpoints-v1/ holds one
// small checkpoint per model family, written by `lmkit train --out` before the family registry
// (issue 17; scripts/make-checkpoint-fixtures.mjs), and expected.json with what that code
// computed from them. The current code must load each and find the same eval loss and
// perplexity (`lmkit eval`), the same next-token logits after a prompt, the same greedy
// continuation (`lmkit generate`; mlm and loglinear: the same refusal), and continue each saved
// run (`lmkit train --resume`; the LSTM's mid-epoch, carried BPTT state) with the same losses.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { noGrad } from '../../lib/autograd.js';
import { encodeText } from '../../lib/data/training-corpus.js';
import { isGenerative, makeDecoder } from '../../lib/generate/generate.js';
import type { LogLinearLM } from '../../lib/models/loglinear.js';
import type { MaskedLM } from '../../lib/models/mlm.js';
import { native } from '../../lib/native/index.js';
import { Tensor, tidy } from '../../lib/tensor.js';
import { loadAnyTrained } from '../../lib/train/checkpointing.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rel = 'test/fixtures/checkpoints-v1';
const cli = path.join(root, 'dist/cli/index.js');
interface Expected {
  machine: string;
  prompt: string;
  models: Record<
    string,
    {
      eval: { loss: number; ppl: number; tokens: number };
      promptIds: number[];
      logits?: number[];
      generated?: number[];
      text?: string;
      resume?: { steps: number; losses: [number, number][]; validPpl: number };
    }
  >;
}
const expected = JSON.parse(fs.readFileSync(path.join(root, rel, 'expected.json'), 'utf8')) as Expected;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lmkit-compat-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// From the repository root: the checkpoints record their corpus by its relative path.
function lmkit(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function close(a: number, b: number, tol: number): boolean {
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
}

describe(`checkpoints of lmkit before the family registry (${rel}, written on ${expected.machine})`, () => {
  it('covers every model family', () => {
    expect(Object.keys(expected.models).sort()).toEqual(['ffnn', 'loglinear', 'lstm', 'mamba', 'mlm', 'ngram', 'rnn', 'transformer']);
  });

  for (const [name, want] of Object.entries(expected.models)) {
    const dir = `${rel}/${name}`;
    it(`${name}: lmkit eval gives the recorded loss and perplexity`, () => {
      const r = lmkit('eval', '--checkpoint', dir, '--corpus', `${rel}/corpus.txt`, '--split', 'valid', '--eval-tokens', '300', '--json', '--threads', '1');
      expect(r.code, r.stderr).toBe(0);
      const e = JSON.parse(r.stdout) as { kind: string; loss: number; ppl: number; tokens: number };
      expect(e.kind).toBe(name);
      expect(e.tokens).toBe(want.eval.tokens);
      expect(close(e.loss, want.eval.loss, 1e-5), `${e.loss} vs ${want.eval.loss}`).toBe(true);
      expect(close(e.ppl, want.eval.ppl, 1e-5), `${e.ppl} vs ${want.eval.ppl}`).toBe(true);
    });

    it(`${name}: loads with the same vocabulary and gives the recorded logits`, () => {
      native.setNumThreads(1);
      const t = loadAnyTrained(path.join(root, dir));
      try {
        expect(t.kind).toBe(name);
        const ids = encodeText(t, expected.prompt);
        expect([...ids]).toEqual(want.promptIds);
        if (t.kind === 'ngram') return; // no logits; generation is checked below
        let logits: number[];
        t.model.eval();
        if (name === 'mlm') {
          const m = t.model as MaskedLM;
          const input = Int32Array.from([...ids, m.maskId]);
          logits = noGrad(() => tidy(() => {
            const l = m.forward(Tensor.fromArray(input, [1, input.length], 'int32'));
            return [...(l.storage.read((input.length - 1) * l.shape[1]!, l.shape[1]!) as Float32Array)];
          }));
        } else if (!isGenerative(t.model)) {
          const m = t.model as LogLinearLM;
          const n = m.config.context;
          const w = new Int32Array(n);
          w.set(ids.subarray(Math.max(0, ids.length - n)), Math.max(0, n - ids.length));
          logits = noGrad(() => tidy(() => [...(m.forward(Tensor.fromArray(w, [1, n], 'int32')).toArray() as Float32Array)]));
        } else {
          const d = makeDecoder(t.model);
          logits = [...d.prime(ids)];
          d.dispose();
        }
        expect(logits.length).toBe(want.logits!.length);
        const worst = Math.max(...logits.map((v, i) => Math.abs(v - want.logits![i]!)));
        expect(worst, `largest logit difference ${worst}`).toBeLessThan(1e-4);
      } finally {
        if (t.kind !== 'ngram') t.model.dispose();
      }
    });

    if (want.text !== undefined) {
      it(`${name}: lmkit generate (greedy) continues the prompt as recorded`, () => {
        const r = lmkit('generate', '--checkpoint', dir, '--prompt', expected.prompt, '--max-tokens', String(want.generated!.length), '--temperature', '0', '--threads', '1');
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout.trim()).toBe(want.text);
      });
    } else {
      it(`${name}: lmkit generate refuses with one clear line`, () => {
        const r = lmkit('generate', '--checkpoint', dir, '--prompt', expected.prompt);
        expect(r.code).not.toBe(0);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr.trim()).toMatch(
          name === 'mlm' ? /^lmkit: generate: mlm checkpoints cannot generate text/ : new RegExp(`^lmkit: generate supports .* checkpoints, not ${name}$`),
        );
      });
    }

    if (want.resume) {
      const resume = want.resume;
      it(`${name}: lmkit train --resume continues the saved run with the recorded losses`, () => {
        const out = path.join(tmp, `${name}-resumed`);
        const r = lmkit('train', '--resume', dir, '--steps', String(resume.steps), '--out', out, '--json', '--log-every', '1');
        expect(r.code, r.stderr).toBe(0);
        const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        const losses = events.filter((e) => e.event === 'step').map((e) => [e.step as number, e.loss as number]);
        expect(losses.map(([s]) => s)).toEqual(resume.losses.map(([s]) => s));
        losses.forEach(([, l], i) => expect(close(l!, resume.losses[i]![1], 1e-4), `step ${resume.losses[i]![0]}: ${l} vs ${resume.losses[i]![1]}`).toBe(true));
        const done = events.find((e) => e.event === 'done')!;
        expect(close(done.valid_ppl as number, resume.validPpl, 1e-4)).toBe(true);
        // The fixture itself is untouched (the resumed run wrote to --out).
        expect(fs.existsSync(path.join(root, dir, 'report.html'))).toBe(false);
      }, 60_000);
    }
  }
});
