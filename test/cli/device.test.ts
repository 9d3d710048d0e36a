// `lmkit train --device`: cpu is the default; cuda without a usable GPU is one clear line, exit 1.
import { describe, expect, it } from 'vitest';
import { lmkit } from '../support/cli.js';
import { nativeLoadInfo } from '../../lib/index.js';


describe('lmkit train --device', () => {
  it.skipIf(nativeLoadInfo.backend === 'cuda')('cuda without a usable GPU exits 1 with one line saying why', () => {
    const r = lmkit('train', '--model', 'ngram', '--device', 'cuda');
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^lmkit: --device cuda: no usable CUDA device \(.+\); use --device cpu$/);
  });

  it('an unknown device exits 1 with one line', () => {
    const r = lmkit('train', '--device', 'tpu');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--device/);
  });
});
