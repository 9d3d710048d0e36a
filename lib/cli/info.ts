import { native, nativeLoadInfo } from '../native/index.js';
import { sgemmBackend } from '../ops/matmul.js';

export function runInfo(version: string, o: { json?: boolean }): void {
  const info = {
    version,
    node: process.version,
    backend: native.backend,
    avx2: native.avx2,
    sgemm: sgemmBackend(),
    threads: native.numThreads(),
    families: [...native.families].sort(),
    addon: nativeLoadInfo.path,
    addonSource: nativeLoadInfo.source,
    reason: nativeLoadInfo.reason,
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(info)}\n`);
    return;
  }
  process.stdout.write(
    [
      `lmkit ${info.version} (node ${info.node})`,
      `backend:  ${info.backend} (AVX2/FMA ${info.avx2 ? 'yes' : 'no'})`,
      `sgemm:    ${info.sgemm}`,
      `threads:  ${info.threads}`,
      `kernels:  ${info.families.join(', ')}`,
      `addon:    ${info.addon} (${info.addonSource})`,
      `why:      ${info.reason}`,
    ].join('\n') + '\n',
  );
}
