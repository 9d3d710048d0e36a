// bench/scripts/awd-ablation.mjs: each leave-one-out run differs from the full recipe by exactly
// the option it names, and the full recipe is the README's awd-lstm-adam row at another budget.
import { describe, expect, it } from 'vitest';

// @ts-expect-error: a plain ES module of the bench scripts (no types)
import { PIECES, ablationRows } from '../../bench/scripts/awd-ablation.mjs';
// @ts-expect-error: a plain ES module of the bench scripts (no types)
import { ROWS } from '../../bench/scripts/brown-lm.mjs';

type Row = { id: string; flags: string; removed: string | null };
type Piece = { id: string; flags: string };

/** A command line's options as a set of "--flag value" / "--flag" items. */
function options(flags: string): Set<string> {
  const items: string[] = [];
  for (const w of flags.split(/\s+/)) {
    if (w.startsWith('--')) items.push(w);
    else items[items.length - 1] += ` ${w}`;
  }
  return new Set(items);
}

describe('awd-ablation rows', () => {
  const rows: Row[] = ablationRows(2);
  const all = options(rows.find((r) => r.id === 'all')!.flags);

  it('the full run is the awd-lstm-adam recipe with the budget changed', () => {
    const recipe = options(ROWS.find((r: { id: string }) => r.id === 'awd-lstm-adam').flags);
    expect([...recipe].filter((o) => !all.has(o))).toEqual(['--epochs 10']);
    expect([...all].filter((o) => !recipe.has(o))).toEqual(['--epochs 2']);
  });

  it('each leave-one-out run lacks exactly its option', () => {
    for (const p of PIECES as Piece[]) {
      const row = rows.find((r) => r.id === `no-${p.id}`)!;
      expect(row.removed).toBe(p.id);
      const mine = options(row.flags);
      expect([...all].filter((o) => !mine.has(o)).sort()).toEqual([...options(p.flags)].sort());
      expect([...mine].filter((o) => !all.has(o))).toEqual([]);
    }
  });

  it('plain and none keep the model and optimizer, without any AWD option', () => {
    const pieceFlags = new Set((PIECES as Piece[]).flatMap((p) => [...options(p.flags)]));
    for (const id of ['plain', 'none']) {
      const mine = options(rows.find((r) => r.id === id)!.flags);
      const shared = [...all].filter((o) => !pieceFlags.has(o));
      expect(shared.every((o) => mine.has(o))).toBe(true);
      expect([...mine].filter((o) => !all.has(o))).toEqual(id === 'plain' ? ['--dropout 0.4'] : []);
    }
  });
});
