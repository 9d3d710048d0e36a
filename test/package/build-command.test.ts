// `lmkit build [--cuda]` (lib/cli/build.ts): only the checks, the plan and the help text; a real
// rebuild of the addon takes minutes and is left to `npm run build:native` / CI.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { buildPlan, cudaOption, findCmakeJs, runBuild } from '../../lib/cli/build.js';
import { packageRoot } from '../../lib/native/index.js';

const cli = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));
function lmkit(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const scratch = mkdtempSync(join(tmpdir(), 'lmkit-build-cmd-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('lmkit build', () => {
  it('plans a cmake-js Release build of this package into build/Release/lmkit.node', () => {
    expect(findCmakeJs(packageRoot)).toMatch(/cmake-js/);
    const plan = buildPlan({}, packageRoot);
    expect(plan.root).toBe(packageRoot);
    expect(plan.output).toBe(join(packageRoot, 'build', 'Release', 'lmkit.node'));
    expect(plan.args[0]).toBe('compile');
    expect(plan.args).toContain('--CDCMAKE_BUILD_TYPE=Release');
    expect(plan.args.join(' ')).toContain(`--directory ${packageRoot}`);
    expect(buildPlan({ parallel: 3 }, packageRoot).args.slice(-2)).toEqual(['--parallel', '3']);
  });

  it('--cuda: a clear error when CMakeLists.txt has no CUDA option; the option when it has one', () => {
    const lists = readFileSync(join(packageRoot, 'CMakeLists.txt'), 'utf8');
    const cpuOnly = lists.replace(/^\s*(option|set)\s*\(\s*LMKIT_\w*CUDA[^)]*\)/gim, '');
    expect(cudaOption(cpuOnly)).toBeNull();
    expect(cudaOption('# option(LMKIT_CUDA "in a comment" OFF)\n')).toBeNull();
    expect(cudaOption('option(LMKIT_CUDA "Build the CUDA backend" OFF)\n')).toBe('LMKIT_CUDA');
    expect(cudaOption('set(LMKIT_CUDA OFF CACHE STRING "OFF, ON or AUTO")\n')).toBe('LMKIT_CUDA');
    const option = cudaOption(lists);
    if (option === null) {
      expect(() => buildPlan({ cuda: true }, packageRoot)).toThrow(/CUDA backend is not in this version of lmkit/);
    } else {
      const plan = buildPlan({ cuda: true }, packageRoot);
      expect(plan.args).toContain(`--CD${option}=ON`);
      expect(plan.args.join(' ')).toContain(`--out ${join(packageRoot, 'build-cuda')}`);
      expect(plan.output).toBe(join(packageRoot, 'build-cuda', 'Release', 'lmkit_cuda.node'));
      // The CPU build turns it off explicitly (a cache configured with it on would keep it).
      expect(buildPlan({}, packageRoot).args).toContain(`--CD${option}=OFF`);
    }
    // A copy of the package without the CUDA option: --cuda is refused before anything runs.
    const root = join(scratch, 'cpu-only');
    mkdirSync(join(root, 'native'), { recursive: true });
    writeFileSync(join(root, 'CMakeLists.txt'), cpuOnly);
    writeFileSync(join(root, 'package.json'), '{"name":"x","version":"0.0.0"}');
    expect(() => runBuild({ cuda: true }, root)).toThrow(/^build --cuda: the CUDA backend is not in this version of lmkit/);
    // With the option, the next check is cmake-js (scratch is outside the repository: none reachable).
    writeFileSync(join(root, 'CMakeLists.txt'), `${cpuOnly}\noption(LMKIT_CUDA "Build the CUDA backend" OFF)\n`);
    expect(findCmakeJs(root)).toBeNull();
    expect(() => buildPlan({ cuda: true }, root)).toThrow(/cmake-js is not installed.*npm install --no-save cmake-js/);
  });

  it('says how to get cmake-js when it is missing, and refuses a folder without sources', () => {
    const root = join(scratch, 'installed');
    mkdirSync(join(root, 'native'), { recursive: true });
    copyFileSync(join(packageRoot, 'CMakeLists.txt'), join(root, 'CMakeLists.txt'));
    writeFileSync(join(root, 'package.json'), '{"name":"lmkit","version":"0.0.0"}');
    expect(() => runBuild({}, root)).toThrow(/cmake-js is not installed \(it is a development dependency/);
    expect(() => buildPlan({}, join(scratch, 'nothing-here'))).toThrow(/no CMakeLists.txt and native\/ sources/);
  });

  it('CLI: help text, --cuda (refused, or planned when CMakeLists.txt has the option), --dry-run prints the command', () => {
    const help = lmkit('build', '--help');
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/rebuild the native addon/);
    expect(help.stdout).toMatch(/--cuda/);
    expect(help.stdout).toMatch(/--dry-run/);
    expect(help.stdout).toMatch(/build\/Release\/lmkit\.node/);
    expect(help.stdout).toMatch(/npm install --no-save cmake-js/);
    expect(lmkit('--help').stdout).toMatch(/build \[options\]/);

    // --cuda: refused when this version has no CUDA option, else planned (a real CUDA build is not run here).
    const option = cudaOption(readFileSync(join(packageRoot, 'CMakeLists.txt'), 'utf8'));
    const cuda = option === null ? lmkit('build', '--cuda') : lmkit('build', '--cuda', '--dry-run');
    if (option === null) {
      expect(cuda.code).toBe(1);
      expect(cuda.stderr).toMatch(/^lmkit: build --cuda: the CUDA backend is not in this version of lmkit/);
      expect(cuda.stdout).toBe('');
    } else {
      expect(cuda.code, cuda.stderr).toBe(0);
      expect(cuda.stdout).toContain(`--CD${option}=ON`);
      expect(cuda.stdout).toContain(join('build-cuda', 'Release', 'lmkit_cuda.node'));
    }

    const dry = lmkit('build', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would run: .*cmake-js compile .*--CDCMAKE_BUILD_TYPE=Release/);
    expect(dry.stdout).toContain(`would write: ${join(packageRoot, 'build', 'Release', 'lmkit.node')}`);

    expect(lmkit('build', '--parallel', '0').code).toBe(1);
  });
});
