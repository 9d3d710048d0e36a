// runTraining's initRange (`lmkit train --init-range`): the override of the default init rule
// (lib/nn/init.ts), recorded in the effective config and the checkpoint's model config.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadTrained } from '../../lib/train/checkpointing.js';
import { runTraining } from '../../lib/train/run.js';

const root = mkdtempSync(join(tmpdir(), 'lmkit-initrange-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const text = 'the cat sat on the mat . the dog sat on the log . '.repeat(120);

describe('runTraining: initRange', () => {
  it('lstm: recorded in the config and the checkpoint; the default run records none', async () => {
    const out = join(root, 'lstm');
    const base = { model: 'lstm', corpus: { text, name: 'pets' }, minCount: 1, steps: 2, batch: 2, context: 8, embed: 8, hidden: 8, test: false } as const;
    const r = await runTraining({ ...base, initRange: 0.05, out });
    expect(r.config).toMatchObject({ initRange: 0.05 });
    const t = loadTrained(out);
    try {
      expect((t.meta.config as { initRange?: number }).initRange).toBe(0.05);
    } finally {
      t.model.dispose();
    }
    const d = await runTraining(base);
    expect(d.config?.initRange).toBeUndefined();
  });

  it('ffnn: a non-positive range is a clear error', async () => {
    await expect(
      runTraining({ model: 'ffnn', corpus: { text }, minCount: 1, steps: 1, batch: 4, embed: 4, hidden: 4, initRange: 0 }),
    ).rejects.toThrow(/initRange must be > 0/);
  });
});
