// `lmkit build [--cuda]`: rebuilds the native addon from the sources shipped in the package
// (CMakeLists.txt and native/) with cmake-js, into <package>/build/Release (--cuda: the CUDA
// addon into build-cuda/Release, as scripts/build-cuda.sh does), where the loader
// (lib/native/index.ts) looks before prebuilds/. --cuda also needs nvcc. Needs cmake >= 3.18, a C++17 compiler and
// cmake-js (a devDependency of lmkit: present in a clone after `npm ci`, not in an installed
// package; the error says how to get it). cmake-js fetches the Node.js headers on first use.
//
// This module must not import lib/native: the addon may be missing or broken, which is the
// reason to rebuild it.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: two levels above this file, both in lib/ (sources) and dist/ (compiled). */
const defaultRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Flags of `lmkit build`. */
export interface BuildFlags {
  /** Build the CUDA backend (only when CMakeLists.txt has a CUDA option). */
  cuda?: boolean;
  /** Parallel compile jobs passed to cmake-js (`--parallel`). */
  parallel?: number;
  /** Print the command and the output path, build nothing. */
  dryRun?: boolean;
}

/** What `lmkit build` runs and what it produces. */
export interface BuildPlan {
  /** The package root (holds CMakeLists.txt and native/). */
  root: string;
  /** The cmake-js entry script. */
  cmakeJs: string;
  /** Arguments after `node <cmakeJs>`. */
  args: string[];
  /** The addon file the build writes (and the loader picks up first). */
  output: string;
}

/**
 * The CMake cache variable that turns the CUDA backend on (declared with `option(LMKIT_..CUDA..`
 * or `set(LMKIT_..CUDA.. ... CACHE ...)`), or null when CMakeLists.txt declares none.
 */
export function cudaOption(cmakeLists: string): string | null {
  const code = cmakeLists.replace(/#.*$/gm, '');
  const m =
    /^\s*option\s*\(\s*(LMKIT_\w*CUDA\w*)\b/im.exec(code) ?? /^\s*set\s*\(\s*(LMKIT_\w*CUDA\w*)\s[^)]*\bCACHE\b/im.exec(code);
  return m ? m[1]! : null;
}

/** The cmake-js entry script reachable from `root` (its node_modules or above), or null. */
export function findCmakeJs(root: string): string | null {
  try {
    const req = createRequire(join(root, 'package.json'));
    const pkgFile = req.resolve('cmake-js/package.json');
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { bin?: string | Record<string, string> };
    const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.['cmake-js'];
    if (!bin) return null;
    const path = join(dirname(pkgFile), bin);
    return existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

/**
 * Checks that an addon can be built from `root` and returns the cmake-js command; throws an
 * Error that says what is missing and how to get it.
 */
export function buildPlan(flags: BuildFlags, root: string = defaultRoot): BuildPlan {
  const listsFile = join(root, 'CMakeLists.txt');
  if (!existsSync(listsFile) || !existsSync(join(root, 'native'))) {
    throw new Error(`build: ${root} has no CMakeLists.txt and native/ sources to build from`);
  }
  const option = cudaOption(readFileSync(listsFile, 'utf8'));
  const buildDir = join(root, flags.cuda ? 'build-cuda' : 'build');
  const args = ['compile', '--directory', root, '--out', buildDir, '--CDCMAKE_BUILD_TYPE=Release'];
  let output = join(buildDir, 'Release', 'lmkit.node');
  if (!flags.cuda) {
    // Explicit, so that a CMake cache configured with the CUDA option on does not carry it over.
    if (option) args.push(`--CD${option}=OFF`);
  } else {
    if (!option) {
      throw new Error(
        'build --cuda: the CUDA backend is not in this version of lmkit (its CMakeLists.txt has no CUDA option); ' +
          'run `lmkit build` without --cuda for the CPU addon',
      );
    }
    args.push(`--CD${option}=ON`);
    output = join(buildDir, 'Release', 'lmkit_cuda.node');
  }
  if (flags.parallel !== undefined) args.push('--parallel', String(flags.parallel));
  const cmakeJs = findCmakeJs(root);
  if (!cmakeJs) {
    throw new Error(
      `build: cmake-js is not installed (it is a development dependency of lmkit, not installed with the package). ` +
        `Get it with \`npm install --no-save cmake-js@^8\` in ${root} (or \`npm ci\` in a clone of the repository), then run \`lmkit build\` again`,
    );
  }
  return { root, cmakeJs, args, output };
}

/** '' when nvcc is on PATH or CUDACXX is set, else the first CUDA bin folder holding nvcc, else null. */
function findNvccDir(): string | null {
  if (process.env.CUDACXX) return '';
  if (!spawnSync('nvcc', ['--version'], { encoding: 'utf8' }).error) return '';
  for (const d of ['/usr/local/cuda/bin', '/usr/local/cuda-13/bin', '/usr/local/cuda-12/bin']) {
    if (existsSync(join(d, 'nvcc'))) return d;
  }
  return null;
}

function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs `lmkit build`: rebuilds the addon, checks that it loads and says where it went. */
export function runBuild(flags: BuildFlags, root: string = defaultRoot): void {
  const plan = buildPlan(flags, root);
  const command = [process.execPath, plan.cmakeJs, ...plan.args].map(quote).join(' ');
  if (flags.dryRun) {
    process.stdout.write(`would run: ${command}\nwould write: ${plan.output}\n`);
    return;
  }
  const cmake = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
  if (cmake.error || cmake.status !== 0) {
    throw new Error('build: cmake is not on PATH (cmake >= 3.18 and a C++17 compiler are needed to build the addon)');
  }
  const env = { ...process.env };
  if (flags.cuda) {
    const nvccDir = findNvccDir();
    if (nvccDir === null) throw new Error('build --cuda: nvcc not found (install the CUDA toolkit, put nvcc on PATH or set CUDACXX)');
    if (nvccDir !== '') env.PATH = `${nvccDir}${delimiter}${env.PATH ?? ''}`;
  }
  process.stderr.write(`lmkit build: ${command}\n`);
  const started = Date.now();
  const r = spawnSync(process.execPath, [plan.cmakeJs, ...plan.args], { cwd: plan.root, stdio: 'inherit', env });
  if (r.error) throw new Error(`build: cannot run cmake-js (${r.error.message})`);
  if (r.status !== 0) throw new Error(`build: cmake-js failed (exit code ${r.status ?? r.signal}); see its output above`);
  if (!existsSync(plan.output) || statSync(plan.output).mtimeMs < started - 1000) {
    throw new Error(`build: cmake-js succeeded but ${plan.output} was not (re)written`);
  }
  // Load the new addon in a fresh process: a broken build is reported here, not at the next import.
  const check = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(require(process.argv[1]).backend))', plan.output], {
    encoding: 'utf8',
  });
  if (check.status !== 0) {
    throw new Error(`build: ${plan.output} was built but does not load: ${(check.stderr || '').trim().split('\n')[0]}`);
  }
  const kib = (statSync(plan.output).size / 1024).toFixed(0);
  process.stdout.write(
    `built ${plan.output} (${kib} KiB, backend ${check.stdout.trim()}); ` +
      `lmkit loads it ahead of prebuilds/ (\`lmkit info\` shows which addon is in use)\n`,
  );
}
