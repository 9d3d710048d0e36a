// Resuming a data-parallel run: on the same world size the continued losses equal the
// uninterrupted run's bit for bit; on another world size they agree to float32 round-off (the
// gradient is summed in another order). An LSTM, so the carried BPTT state (gathered into the
// global layout at the save, split again on resume) is part of it.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { glooMissing, result, runJob } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'lmkit-dist-resume-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(glooMissing !== null)('data parallel: resume', () => {
  it('2 ranks: 8 steps straight = 4 steps, save, resume to 8 (bit-exact); resumed on 1 process: round-off', async () => {
    const base = { model: 'lstm', corpus: 'brown', batch: 4, context: 8, embed: 12, hidden: 12, evalTokens: 300, test: false, seed: 5 };
    const out = join(tmp, 'half');
    const [straight, half] = await Promise.all([runJob(2, { ...base, steps: 8 }), runJob(2, { ...base, steps: 4, out })]);
    const all = result(straight![0]!).losses;
    expect(result(half![0]!).losses).toEqual(all.slice(0, 4));
    const copy = `${out}-copy`;
    cpSync(out, copy, { recursive: true });
    // One after the other: both continue a run whose recorded --out is `out`, where each saves at its end.
    const resumed = await runJob(2, { resume: out, steps: 8 });
    const single = await runJob(1, { resume: copy, steps: 8 });
    expect(result(resumed![0]!).losses).toEqual(all.slice(4));
    const one = result(single![0]!).losses;
    expect(one).toHaveLength(4);
    one.forEach((l, i) => expect(Math.abs(l - all[4 + i]!) / l).toBeLessThan(1e-5));
  });
});
