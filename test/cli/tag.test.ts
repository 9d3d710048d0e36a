// `lmkit tag`: the bidirectional tagger trained from the CLI as a user runs it.
import { describe, expect, it } from 'vitest';
import { lmkit } from '../support/cli.js';

describe('lmkit tag', () => {
  it('trains a bidirectional LSTM tagger on Brown and reports tag accuracies with --json', () => {
    const r = lmkit('tag', '--steps', '60', '--embed', '16', '--hidden', '16', '--lr', '0.02', '--json');
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
    const done = events.find((e) => e.event === 'done')!;
    expect(done.steps).toBe(60);
    // 60 small steps learn far more than chance over ~13 tags, though not yet the baseline.
    expect(done.test_accuracy as number).toBeGreaterThan(0.3);
    expect(done.test_accuracy as number).toBeLessThanOrEqual(1);
    expect(done.baseline_test_accuracy as number).toBeGreaterThan(0.85);
    expect(r.stderr).toMatch(/most-frequent-tag baseline/);
  }, 150_000);

  it('a bad cell exits 1 with one line', () => {
    const r = lmkit('tag', '--cell', 'gru');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
