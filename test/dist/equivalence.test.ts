// Data-parallel equivalence: 2 ranks x batch B against 1 process x batch 2B, same seed, no
// dropout, over loopback Gloo: the 20 step losses agree to fp32 round-off. The two runs sum the
// gradient in a different order (two half-batch means, all-reduced and averaged, against one
// mean), so they differ by float32 rounding only; Adam's normalisation carries that into the
// weights; the step's global loss itself travels as float32. Measured on this machine: max
// relative loss difference 1.0e-7 (ffnn, lstm, transformer: float32's epsilon); the bound asserted
// is 1e-5 relative. Without the gradient all-reduce the same check measures 3e-3 (it fails).
// Each rank builds (and, from the token file, reads) only its rows of every global batch.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { TokenFileWriter } from '../../lib/data/tokenfile.js';
import { WordTokenizer } from '../../lib/data/tokenizers.js';
import { Vocab } from '../../lib/data/vocab.js';
import { glooMissing, result, runJob } from './helpers.js';

// A token file (read from disk window by window, each rank reading only its streams/windows).
const root = mkdtempSync(join(tmpdir(), 'lmkit-dist-eq-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const tokenFile = join(root, 'corpus.tok');
{
  const V = 50;
  const w = new TokenFileWriter(tokenFile, new WordTokenizer(new Vocab(['<unk>', ...Array.from({ length: V - 1 }, (_, i) => `w${i}`)])));
  let x = 12345;
  // Half the tokens id 1, the others following the previous one: something to learn in 20 steps.
  const ids = new Int32Array(40_000);
  for (let i = 1; i < ids.length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    ids[i] = (x >> 8) % 2 === 0 ? 1 : (ids[i - 1]! * 3 + 2) % V;
  }
  w.append(ids);
  w.finish();
}

const TOL = 1e-5;
const cases: [string, Record<string, unknown>][] = [
  ['ffnn', { model: 'ffnn', batch: 16, context: 4, embed: 16, hidden: 32 }],
  ['lstm', { model: 'lstm', batch: 4, context: 12, embed: 24, hidden: 24 }],
  ['transformer', { model: 'transformer', batch: 4, context: 16, embed: 32, heads: 2, layers: 1 }],
  ['lstm on a token file', { model: 'lstm', batch: 4, context: 12, embed: 24, hidden: 24, corpus: tokenFile }],
  ['transformer on a token file', { model: 'transformer', batch: 4, context: 16, embed: 32, heads: 2, layers: 1, corpus: tokenFile }],
];

describe.skipIf(glooMissing !== null)('data parallel: 2 ranks x B equals 1 process x 2B', () => {
  for (const [name, cfg] of cases) {
    it(`${name}: 20 step losses agree within ${TOL} relative`, async () => {
      const base = { corpus: 'brown', steps: 20, seed: 3, evalTokens: 400, test: false, dropout: 0, ...cfg };
      const [single] = await runJob(1, { ...base, batch: 2 * (cfg.batch as number) });
      const pair = await runJob(2, base);
      const one = result(single!);
      const two = pair.map(result);
      expect(two.map((r) => r.worldSize)).toEqual([2, 2]);
      expect(one.losses).toHaveLength(20);
      expect(two[0]!.losses).toHaveLength(20);
      expect(two[1]!.losses).toHaveLength(0); // only rank 0 reports
      let worst = 0;
      one.losses.forEach((l, i) => (worst = Math.max(worst, Math.abs(l - two[0]!.losses[i]!) / Math.abs(l))));
      console.log(`${name}: max relative loss difference over 20 steps ${worst.toExponential(2)}; first ${one.losses[0]!.toFixed(4)}, last ${one.losses[19]!.toFixed(4)}`);
      expect(worst).toBeLessThan(TOL);
      // The loss moved (the runs trained), and every rank ends with rank 0's evaluation.
      expect(one.losses[19]).toBeLessThan(one.losses[0]!);
      expect(two[1]!.validPpl).toBe(two[0]!.validPpl);
      expect(Math.abs(two[0]!.validPpl - one.validPpl) / one.validPpl).toBeLessThan(1e-4);
    });
  }
});
