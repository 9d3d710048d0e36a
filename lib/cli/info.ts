import { native, nativeLoadInfo, type CudaInfo } from '../native/index.js';
import { sgemmBackend } from '../ops/matmul.js';

function version(v: number): string {
  return v > 0 ? `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}` : 'none';
}

/** One line about the CUDA backend: device, driver, runtime, cuBLAS. */
function cudaLine(c: CudaInfo | null): string {
  if (!c) return 'no CUDA addon loaded (build one with `bash scripts/build-cuda.sh`; see docs/cuda.md)';
  const drv = `driver ${version(c.driverVersion)}, runtime ${version(c.runtimeVersion)}`;
  if (c.deviceCount === 0 || c.error || !c.name) return `no usable GPU (${c.error ?? 'no CUDA device'}); ${drv}`;
  const mem = c.totalMemory ? `, ${(c.totalMemory / 2 ** 30).toFixed(1)} GiB` : '';
  const blas = c.cublas
    ? `cuBLAS${c.cublasVersion ? ` ${c.cublasVersion}` : ''} loaded (${c.cublasPath ?? ''})`
    : `cuBLAS not loaded (${c.cublasError ?? 'unknown'}): own SGEMM kernel`;
  return `${c.name} (sm_${(c.computeCapability ?? '').replace('.', '')}${mem}, ${c.deviceCount} device(s)); ${drv}; ${blas}`;
}

export function runInfo(version: string, o: { json?: boolean }): void {
  const info = {
    version,
    node: process.version,
    backend: native.backend,
    avx2: native.avx2,
    simd: native.simd,
    arch: native.arch,
    sgemm: sgemmBackend(),
    threads: native.numThreads(),
    families: [...native.families].sort(),
    addon: nativeLoadInfo.path,
    addonSource: nativeLoadInfo.source,
    reason: nativeLoadInfo.reason,
    // The CUDA addon's report (device, driver, cuBLAS), also when it was found but not taken.
    cuda: nativeLoadInfo.cuda ?? null,
    // 'HIP-CPU' when the CUDA kernels run emulated on the CPU (LMKIT_CUDA_EMULATE=1), else null.
    emulation: nativeLoadInfo.emulation ?? null,
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(info)}\n`);
    return;
  }
  process.stdout.write(
    [
      `lmkit ${info.version} (node ${info.node})`,
      info.emulation
        ? `backend:  cuda (emulated on CPU: ${info.emulation}) - not a GPU, says nothing of speed (host ${info.arch}; SIMD ${info.simd})`
        : `backend:  ${info.backend} (${info.arch}; SIMD ${info.simd}; AVX2/FMA ${info.avx2 ? 'yes' : 'no'})`,
      `sgemm:    ${info.sgemm}`,
      `threads:  ${info.threads}`,
      `kernels:  ${info.families.join(', ')}`,
      `addon:    ${info.addon} (${info.addonSource})`,
      `why:      ${info.reason}`,
      `cuda:     ${info.emulation ? `emulated by ${info.emulation}; ` : ''}${cudaLine(info.cuda)}`,
    ].join('\n') + '\n',
  );
}
