// Which CPU kernels the addon runs, on every architecture: the addon is built for this process's
// architecture, reports its SIMD family and SGEMM micro-kernel consistently, and the generic switch
// (LMKIT_CPU_GENERIC=1) is honoured. `npm run test:arm64` sets LMKIT_EXPECT_ARCH / LMKIT_EXPECT_SIMD
// so that a run meant for the NEON (or generic) path cannot silently run another one.
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/native/index.js';
import { sgemmBackend } from '../../lib/ops/matmul.js';

const generic = !!process.env.LMKIT_CPU_GENERIC && process.env.LMKIT_CPU_GENERIC !== '0';

describe('portable CPU core', () => {
  it('the addon is compiled for this process architecture', () => {
    expect(native.arch).toBe(process.arch);
    if (process.env.LMKIT_EXPECT_ARCH) expect(process.arch).toBe(process.env.LMKIT_EXPECT_ARCH);
  });

  it('the SIMD family and the SGEMM micro-kernel agree with the architecture and the switches', () => {
    const simd = native.simd;
    if (process.env.LMKIT_EXPECT_SIMD) expect(simd).toBe(process.env.LMKIT_EXPECT_SIMD);
    if (generic) expect(simd).toBe('generic');
    else if (process.arch === 'arm64') expect(simd).toBe('neon'); // Advanced SIMD is part of every ARMv8-A core
    else if (process.arch === 'x64') expect(simd).toBe(native.avx2 ? 'avx2-fma' : 'generic');
    const gemm = sgemmBackend();
    if (gemm === 'cblas') return; // built with -DLMKIT_USE_CBLAS
    const gemmGeneric = generic || (!!process.env.LMKIT_GEMM_GENERIC && process.env.LMKIT_GEMM_GENERIC !== '0');
    expect(gemm).toBe(gemmGeneric || simd === 'generic' ? 'lmkit-generic' : `lmkit-${simd}`);
  });
});
