// Load benchmark of examples/server.ts: total generated tokens/s, time to first token and
// /health latency at 1, 4 and 20 concurrent clients, for a feed-forward and an LSTM Brown
// model, with concurrent requests batched into one forward pass per token (the default) and
// without (--no-batch: one generator per request, stepped one after the other in the worker).
// Each client sends one request of --tokens tokens at a time, back to back, for --seconds.
//
//   npm run build:ts && npx tsc -p examples && node bench/scripts/server-load.mjs [--quick]
//
// Writes bench/results/server-load.json (--quick: build/bench/server-load-quick.json) and
// prints a markdown table. The numbers are of this machine only; ratios batched / unbatched
// are measured in the same run.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const quick = process.argv.includes('--quick');
const seconds = quick ? 3 : 8;
const tokens = 40;
const clientsList = [1, 4, 20];
const cli = join(root, 'dist', 'cli', 'index.js');
const serverJs = join(root, 'examples', 'dist', 'server.js');
const env = { ...process.env, LMKIT_NUM_THREADS: '1' };
const scratch = mkdtempSync(join(os.tmpdir(), 'lmkit-server-load-'));
const checkpoints = join(scratch, 'ck');
mkdirSync(checkpoints);

function train(name, args) {
  const r = spawnSync(process.execPath, [cli, 'train', ...args, '--eval-tokens', '1000', '--no-test', '--out', join(checkpoints, name)], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`train ${name}: ${r.stderr}`);
}

async function startServer(extra) {
  const proc = spawn(process.execPath, [serverJs, '--port', '0', '--checkpoints', checkpoints, ...extra], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const base = await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    proc.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  return { proc, base };
}

async function oneRequest(base, checkpoint, seed) {
  const t0 = performance.now();
  const r = await fetch(`${base}/generate`, { method: 'POST', body: JSON.stringify({ checkpoint, prompt: 'The jury said', maxTokens: tokens, temperature: 0.8, seed }) });
  const reader = r.body.getReader();
  let first = Number.NaN;
  let text = '';
  const dec = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (Number.isNaN(first)) first = performance.now() - t0;
    text += dec.decode(value, { stream: true });
  }
  return { ttft: first, tokens: text.trim().split(/\s+/).filter(Boolean).length };
}

const pct = (a, q) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};

async function load(base, checkpoint, clients) {
  await oneRequest(base, checkpoint, 1); // loads the model
  const until = performance.now() + seconds * 1000;
  const ttft = [];
  let count = 0;
  const health = [];
  let running = true;
  const probe = (async () => {
    while (running) {
      const s = performance.now();
      await (await fetch(`${base}/health`)).json();
      health.push(performance.now() - s);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; performance.now() < until; i++) {
        const r = await oneRequest(base, checkpoint, c * 1000 + i);
        ttft.push(r.ttft);
        count += r.tokens;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  await probe;
  return { clients, tokensPerSecond: count / elapsed, requests: ttft.length, ttftMedianMs: pct(ttft, 0.5), ttftP90Ms: pct(ttft, 0.9), healthP99Ms: pct(health, 0.99) };
}

const results = [];
try {
  train('ffnn', ['--model', 'ffnn', '--steps', '30']);
  train('lstm', ['--model', 'lstm', '--steps', '10']);
  for (const [mode, extra] of [['batched', []], ['unbatched', ['--no-batch']]]) {
    const { proc, base } = await startServer(extra);
    try {
      for (const model of ['ffnn', 'lstm']) {
        for (const clients of clientsList) {
          const r = await load(base, model, clients);
          results.push({ model, mode, ...r });
          console.error(`${model} ${mode} ${clients} clients: ${r.tokensPerSecond.toFixed(0)} tokens/s, TTFT median ${r.ttftMedianMs.toFixed(0)} ms, /health p99 ${r.healthP99Ms.toFixed(1)} ms`);
        }
      }
    } finally {
      proc.kill('SIGTERM');
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const machine = `${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores; node ${process.version}; LMKIT_NUM_THREADS=1 (server and worker)`;
const out = { machine, date: new Date().toISOString(), seconds, tokensPerRequest: tokens, results };
const file = quick ? join(root, 'build', 'bench', 'server-load-quick.json') : join(root, 'bench', 'results', 'server-load.json');
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
const rows = ['| model | clients | batched tokens/s | unbatched tokens/s | batched / unbatched | TTFT median (batched / unbatched, ms) | /health p99 (batched / unbatched, ms) |', '|---|---|---|---|---|---|---|'];
for (const model of ['ffnn', 'lstm']) {
  for (const clients of clientsList) {
    const b = results.find((r) => r.model === model && r.clients === clients && r.mode === 'batched');
    const u = results.find((r) => r.model === model && r.clients === clients && r.mode === 'unbatched');
    rows.push(`| ${model} | ${clients} | ${b.tokensPerSecond.toFixed(0)} | ${u.tokensPerSecond.toFixed(0)} | ${(b.tokensPerSecond / u.tokensPerSecond).toFixed(2)} | ${b.ttftMedianMs.toFixed(0)} / ${u.ttftMedianMs.toFixed(0)} | ${b.healthP99Ms.toFixed(1)} / ${u.healthP99Ms.toFixed(1)} |`);
  }
}
console.log(`Machine: ${machine}; ${tokens} tokens per request, ${seconds} s per case.\n\n${rows.join('\n')}`);
console.log(`\nwritten to ${file}`);
