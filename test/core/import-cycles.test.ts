// The library's modules form no import circle (DESIGN.md: "no import circles"). Every relative
// import and re-export of lib/**/*.ts counts, `import type` too: a circle of type imports still
// ties the modules together for readers and for tools that follow types.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LIB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../lib');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** Each module's relative imports (`import ... from './x.js'`, `export ... from`, `import('./x.js')`). */
function importGraph(files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    // Comments go first, so that an example in a doc comment is no import.
    const src = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const deps = new Set<string>();
    const re = /(?:^|[\s;])(?:import|export)\s[^;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;
    for (const m of src.matchAll(re)) {
      const spec = (m[1] ?? m[2])!;
      const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
      if (fs.existsSync(target)) deps.add(target);
      else if (fs.existsSync(path.join(target.replace(/\.ts$/, ''), 'index.ts'))) deps.add(path.join(target.replace(/\.ts$/, ''), 'index.ts'));
    }
    graph.set(file, [...deps]);
  }
  return graph;
}

/** The strongly connected components of more than one module (Tarjan), each sorted. */
function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('import circles', () => {
  it('the checker finds a planted circle (a -> b -> c -> a) and no false one', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
    ]);
    expect(circles(g)).toEqual([['a', 'b', 'c']]);
    expect(circles(new Map([['a', ['b']], ['b', []]]))).toEqual([]);
  });

  it('lib/ has none', () => {
    const files = tsFiles(LIB);
    expect(files.length).toBeGreaterThan(50);
    const graph = importGraph(files);
    // The graph is real: tensor.ts imports the autograd engine, run.ts the family registry, and
    // type-only imports count (options.ts -> registry.ts).
    expect(graph.get(path.join(LIB, 'tensor.ts'))).toContain(path.join(LIB, 'autograd.ts'));
    expect(graph.get(path.join(LIB, 'train', 'run.ts'))).toContain(path.join(LIB, 'train', 'registry.ts'));
    expect(graph.get(path.join(LIB, 'train', 'options.ts'))).toContain(path.join(LIB, 'train', 'registry.ts'));
    const found = circles(graph).map((c) => c.map((f) => path.relative(LIB, f)).join(' -> '));
    expect(found).toEqual([]);
  });
});
