// The README's "Training, evaluating, saving, loading and generating from TypeScript" example,
// run as written: the code block after `<!-- readme-example: train -->` is copied into a file
// inside the package (so `import ... from 'lmkit'` resolves to this package's dist/ through
// package.json "exports"), type-checked and compiled with tsc (strict), and run with node.
// Needs dist/ (`npm run build:ts`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { packageRoot } from '../../lib/native/index.js';

const dir = join(packageRoot, 'test', `.readme-example-${process.pid}`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The TypeScript block after `<!-- readme-example: NAME -->` in README.md. */
export function readmeBlock(readme: string, name: string): string {
  const m = new RegExp(`<!-- readme-example: ${name} -->\\s*\`\`\`ts\\n([\\s\\S]*?)\\n\`\`\``).exec(readme);
  if (!m) throw new Error(`README.md has no ts block after <!-- readme-example: ${name} -->`);
  return m[1]!;
}

describe('README example: training from TypeScript', () => {
  it('type-checks and runs as written: trains, evaluates, saves, loads and generates', () => {
    expect(existsSync(join(packageRoot, 'dist', 'index.d.ts')), 'run `npm run build:ts` first').toBe(true);
    const code = readmeBlock(readFileSync(join(packageRoot, 'README.md'), 'utf8'), 'train');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'example.ts'), code);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: ['node'], rootDir: '.', outDir: 'out', skipLibCheck: false },
        files: ['example.ts'],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(packageRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8', timeout: 90_000 });
    expect(tsc.status, `tsc:\n${tsc.stdout}${tsc.stderr}`).toBe(0);
    const run = spawnSync(process.execPath, [join(dir, 'out', 'example.js')], {
      encoding: 'utf8',
      timeout: 90_000,
      env: { ...process.env, LMKIT_NUM_THREADS: '1' },
    });
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
    const out = run.stdout;
    console.log(out.trim());
    expect(out).toMatch(/^step 60\/60: loss \d+\.\d{3}, lr 0\.01$/m);
    const valid = Number(/^valid (\d+\.\d+), test \d+\.\d+/m.exec(out)?.[1]);
    // A repetitive 13-word text: far below the vocabulary size once trained.
    expect(valid).toBeGreaterThan(1);
    expect(valid).toBeLessThan(6);
    expect(out).toMatch(/^valid perplexity at step 60: \d+\.\d{2}$/m);
    const held = /^held-out perplexity (\d+\.\d{2}) over (\d+) tokens$/m.exec(out);
    expect(held, out).not.toBeNull();
    expect(Number(held![2])).toBeGreaterThan(100);
    expect(Number(held![1])).toBeLessThan(20);
    const gen = /^the cat (.+)$/m.exec(out)?.[1]?.split(' ') ?? [];
    expect(gen).toHaveLength(6);
  }, 120_000);
});
