// `lmkit bench`: the JSON shape of a tiny kernel run (one case, one thread, PyTorch as the only
// peer so it stays a few seconds) and a bad subcommand. Runs the built CLI (npm run build:ts);
// the first run builds build/bench-native/bench_kernels with CMake (about a minute).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));

function lmkit(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 180_000, env: { ...process.env, LMKIT_NUM_THREADS: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Stat = { median: number; min: number; max: number };

describe('lmkit bench', () => {
  it('kernels --quick --json gives lmkit, peak and peer figures per case', () => {
    const r = lmkit('bench', 'kernels', '--quick', '--json', '--cases', 'lstm_fwd,mm_sq256', '--threads', '1', '--peers', 'pytorch,openblas', '--reps', '1', '--no-write');
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      benchmark: string;
      mode: string;
      machine: { cpu: string; cores: number; peak: { mhz: number; source: string; gflops_per_thread: number } };
      versions: { node: string; lmkit_sgemm: string };
      settings: { threads: number[]; reps: number };
      peers: Record<string, { ran: boolean; why?: string; version?: string }>;
      cases: { case: string; metric: string; flops: number; bytes: number; dims: Record<string, number> }[];
      rows: { case: string; threads: number; metric: string; lmkit: Stat & { peak_fraction: number | null }; peers: Record<string, (Stat & { ratio: number }) | { skipped: string }> }[];
    };
    expect(doc.benchmark).toBe('kernels-cpu');
    expect(doc.mode).toBe('quick');
    expect(doc.machine.cores).toBeGreaterThanOrEqual(1);
    expect(typeof doc.machine.peak.source).toBe('string');
    expect(doc.settings).toMatchObject({ threads: [1], reps: 1 });
    expect(doc.cases.map((c) => c.case).sort()).toEqual(['lstm_fwd', 'mm_sq256']);
    expect(doc.cases.find((c) => c.case === 'mm_sq256')).toMatchObject({ metric: 'GFLOP/s', flops: 2 * 256 ** 3, dims: { M: 256, N: 256, K: 256 } });
    expect(doc.rows).toHaveLength(2);
    for (const row of doc.rows) {
      expect(row.threads).toBe(1);
      const s = row.lmkit;
      expect(s.median).toBeGreaterThan(0);
      expect(s.min).toBeLessThanOrEqual(s.median);
      expect(s.max).toBeGreaterThanOrEqual(s.median);
      expect(Object.keys(row.peers).sort()).toEqual(['openblas', 'pytorch']);
      for (const [name, p] of Object.entries(row.peers)) {
        // A peer either has a figure and a ratio, or says why it has none.
        if ('skipped' in p) expect(p.skipped.length, name).toBeGreaterThan(0);
        else expect(p.ratio).toBeCloseTo(s.median / p.median, 6);
      }
    }
    const mm = doc.rows.find((x) => x.case === 'mm_sq256')!;
    if (doc.machine.peak.gflops_per_thread > 0) expect(mm.lmkit.peak_fraction).toBeGreaterThan(0);
    expect(doc.rows.find((x) => x.case === 'lstm_fwd')!.lmkit.peak_fraction).toBeNull();
    // The GEMM-only peer has nothing for the LSTM cell, and says so.
    expect(doc.rows.find((x) => x.case === 'lstm_fwd')!.peers.openblas).toHaveProperty('skipped');
    for (const p of Object.values(doc.peers)) expect(p.ran || (p.why ?? '').length > 0).toBe(true);
  });

  it('a bad subcommand exits 1 with one line on stderr', () => {
    const r = lmkit('bench', 'bogus');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/bogus/);
  });

  it('a bad option value exits 1 with one line', () => {
    const r = lmkit('bench', 'kernels', '--peers', 'nosuchpeer', '--no-write');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/nosuchpeer/);
  });
});
