#!/usr/bin/env bash
# All the GPU measurements of lmkit in one command, for a GPU machine lent for a short time
# (docs/cuda.md, "Running the GPU measurements"):
#
#   bash scripts/gpu-session.sh [OUTDIR] [--steps LIST] [--budget SECONDS] [--jobs N]
#                               [--no-build] [--require-gpu] [--cpu-dry-run]
#   npm run gpu:session -- [OUTDIR] [...]
#
# Steps, in this order (each time-limited with `timeout`; a failing step is logged and the next
# one runs):
#   env        nvidia-smi, driver, nvcc (all found; one chosen), compute-sanitizer, PyTorch, cuBLAS,
#              Node, CPU -> env.json. Picks the nvcc the driver can run (a CUDA 13 build needs a
#              driver >= 580: with an older driver a CUDA 12 nvcc is used via CUDACXX), the GPU's
#              architecture (nvidia-smi compute_cap, e.g. 90 -> 90-real) and a libcublas.so.N
#              (N = the nvcc's major) for LMKIT_CUBLAS when the loader would not find one.
#   build      scripts/build-cuda.sh --CDCMAKE_CUDA_ARCHITECTURES=<arch>-real with JOBS=<cores>
#              (an npx stand-in is put on PATH where only node exists), then
#              bench/scripts/kernels-gpu.mjs --probe (device, cuBLAS, one matmul vs the CPU).
#   dist       dist/ for the CLI steps: kept if present (carry it), else tsc, else a transpile of
#              lib/ with rolldown (node_modules; no type check).
#   test       LMKIT_BACKEND=cuda LMKIT_REQUIRE_GPU=1 vitest run test/gpu -> vitest-gpu.json
#   oom        a 200 GB (>= 2.5x the device) Tensor.zeros on cuda must throw a JS error and the
#              process must go on computing (also test/gpu/oom.test.ts)
#   bench      bench/scripts/kernels-gpu.mjs: every kernel family, lmkit CUDA vs PyTorch CUDA
#              -> kernels-cuda.json (copy it to bench/results/); then the GEMM cases again with
#              TF32 off (in logs.tar.gz)
#   train      lmkit train on Brown (every neural family at its defaults; LSTM, Transformer: the README table's shapes, a
#              GPU-sized Transformer), --device cuda 200 steps and the same on the CPU (fewer
#              steps) -> train.json (tokens/s, cuda/cpu ratio, loss at step 50 on both)
#   memcheck   compute-sanitizer --tool memcheck --leak-check full over vitest run test/gpu in one
#              process tree (--no-file-parallelism --maxWorkers=1 --no-isolate)
#   racecheck  compute-sanitizer --tool racecheck over test/gpu/ops.test.ts
# LIST: step names and groups, comma-separated: main = test,oom,bench,train (the default),
# sanitize = memcheck,racecheck, all = main + sanitize. env always runs; build and dist run when a
# selected step needs them. A step that would not fit in what is left of --budget (default 540 s,
# or GPU_SESSION_BUDGET) is skipped, and the summary prints the command that runs the rest.
#
# OUTDIR (default ./gpu-out) receives at most 8 files (what the device tool brings back):
#   summary.txt summary.json env.json vitest-gpu.json kernels-cuda.json train.json sanitizer.txt
#   logs.tar.gz (every step's full log and intermediate JSON)
# They are rewritten after every step, so a run cut short still leaves its results so far.
#
# Without a GPU every GPU step is skipped with the reason and the script exits 0 (--require-gpu:
# exit 3). --cpu-dry-run (no GPU only) runs the harness instead on the CPU: vitest test/gpu (all
# skipped), the OOM check on a CPU tensor, the kernel benchmark on CPU storages, short CPU
# training runs and the single-process vitest command of the sanitizer steps without the
# sanitizer; it checks the script, not the GPU.
# Exit codes: 0 every step that ran passed (skips allowed); 1 a step failed or timed out;
# 2 bad arguments or no node on PATH (source .gpu/enter first); 3 --require-gpu and no GPU.
set -uo pipefail
SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
ROOT="$(cd "$(dirname "$SELF")/.." && pwd)"
cd "$ROOT" || exit 2

# ---------------------------------------------------------------------------------------------
# Steps, run as `bash gpu-session.sh __step NAME` under `timeout` (state comes in GS_* variables).

step_build() {
  set -e
  if [ -n "${GS_CUDACXX:-}" ]; then
    export CUDACXX="$GS_CUDACXX"
    export PATH="$(dirname "$GS_CUDACXX"):$PATH"
  fi
  if ! command -v npx >/dev/null 2>&1; then
    # The GPU bundle (.gpu/enter) has node but no npm: build-cuda.sh's `npx cmake-js` goes to
    # node_modules/.bin.
    mkdir -p "$GS_WORK/bin"
    cat >"$GS_WORK/bin/npx" <<'EOS'
#!/usr/bin/env bash
# npx stand-in (scripts/gpu-session.sh): runs node_modules/.bin/<tool> of the current folder.
tool=$1; shift
[ -x "node_modules/.bin/$tool" ] || { echo "npx stand-in: node_modules/.bin/$tool not found" >&2; exit 127; }
exec "node_modules/.bin/$tool" "$@"
EOS
    chmod +x "$GS_WORK/bin/npx"
    export PATH="$GS_WORK/bin:$PATH"
    echo "gpu-session: no npx on PATH; using the stand-in $GS_WORK/bin/npx"
  fi
  if [ "${GS_NO_BUILD:-0}" = 1 ] && [ -f build-cuda/Release/lmkit_cuda.node ]; then
    echo "gpu-session: --no-build: using build-cuda/Release/lmkit_cuda.node as it is"
  else
    if [ -f build-cuda/CMakeCache.txt ] && [ -n "${CUDACXX:-}" ]; then
      cached=$(sed -n 's/^CMAKE_CUDA_COMPILER:[A-Z]*=//p' build-cuda/CMakeCache.txt | head -1)
      if [ -n "$cached" ] && [ "$(readlink -f "$cached")" != "$(readlink -f "$CUDACXX")" ]; then
        echo "gpu-session: build-cuda/ was configured with $cached, not $CUDACXX: starting afresh"
        rm -rf build-cuda
      fi
    fi
    args=()
    [ -n "${GS_ARCH:-}" ] && args+=("--CDCMAKE_CUDA_ARCHITECTURES=${GS_ARCH}-real")
    echo "+ JOBS=$GS_JOBS CUDACXX=${CUDACXX:-} bash scripts/build-cuda.sh ${args[*]:-}"
    JOBS="$GS_JOBS" bash scripts/build-cuda.sh "${args[@]}"
  fi
  ls -la build-cuda/Release/
  set +e
  # The probe: exit 3 (the addon sees no usable GPU, e.g. a driver older than the toolkit) fails
  # the step, so the GPU steps are skipped; a wrong or failing matmul (exit 1) is reported and
  # the steps go on (they will say more).
  node bench/scripts/kernels-gpu.mjs --probe >"$GS_WORK/probe.json" 2>"$GS_WORK/probe.err"
  rc=$?
  cat "$GS_WORK/probe.json" "$GS_WORK/probe.err"
  GS_RC=$rc node - <<'EOS'
const fs = require('fs');
const w = process.env.GS_WORK;
let p = null;
try { p = JSON.parse(fs.readFileSync(`${w}/probe.json`, 'utf8')); } catch {}
const err = fs.readFileSync(`${w}/probe.err`, 'utf8').trim().split('\n').pop();
const a = p?.after ?? {};
const rc = process.env.GS_RC;
const note = p
  ? `${rc === '0' ? '' : 'PROBE MATMUL WRONG: '}${a.name} cc ${a.computeCapability}, driver ${a.driverVersion}, runtime ${a.runtimeVersion}; SGEMM: ${a.sgemm}; probe matmul max |cuda - cpu| ${p.matmul.maxAbsDiffVsCpu.toExponential(2)}`
  : `the probe failed (exit ${rc}): ${err || 'see build.log'}`;
fs.writeFileSync(`${w}/build.result.json`, JSON.stringify({ note, probe: p, arch: process.env.GS_ARCH || null, cudacxx: process.env.GS_CUDACXX || null }));
EOS
  [ $rc = 3 ] && return 3
  return 0
}

step_dist() {
  if [ -f dist/cli/index.js ] && [ -f dist/index.js ]; then
    echo "gpu-session: dist/ is present (carried or built before); not rebuilt. It must match lib/ (npx tsc -p tsconfig.json)."
    echo '{"note":"dist/ present, used as it is"}' >"$GS_WORK/dist.result.json"
    return 0
  fi
  if [ -f node_modules/typescript/bin/tsc ]; then
    echo "+ node node_modules/typescript/bin/tsc -p tsconfig.json"
    node node_modules/typescript/bin/tsc -p tsconfig.json || return 1
    echo '{"note":"dist/ built with tsc"}' >"$GS_WORK/dist.result.json"
    return 0
  fi
  echo "gpu-session: no dist/ and no TypeScript compiler (the GPU bundle leaves it out): transpiling lib/ with rolldown"
  node --input-type=module - <<'EOS' || return 1
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
const root = process.cwd();
const req = createRequire(join(root, 'package.json'));
const { transformSync } = await import(pathToFileURL(req.resolve('rolldown/utils')).href);
const files = [];
const walk = (d) => { for (const f of readdirSync(d)) { const p = join(d, f); if (statSync(p).isDirectory()) walk(p); else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) files.push(p); } };
walk(join(root, 'lib'));
for (const f of files) {
  const r = transformSync(f, readFileSync(f, 'utf8'), { lang: 'ts', sourcemap: false });
  if (r.errors?.length) throw new Error(`${relative(root, f)}: ${r.errors.map((e) => e.message ?? String(e)).join('; ')}`);
  const out = join(root, 'dist', relative(join(root, 'lib'), f)).replace(/\.ts$/, '.js');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, r.code);
}
console.log(`transpiled ${files.length} files of lib/ into dist/`);
EOS
  echo '{"note":"dist/ transpiled from lib/ with rolldown (no type check)"}' >"$GS_WORK/dist.result.json"
}

step_test() {
  local json="$GS_OUTDIR/vitest-gpu.json"
  local envs=(LMKIT_BACKEND=cuda LMKIT_REQUIRE_GPU=1)
  [ "$GS_DRY" = 1 ] && envs=(LMKIT_BACKEND=auto)
  echo "+ ${envs[*]} node node_modules/vitest/vitest.mjs run test/gpu --reporter=default --reporter=json --outputFile.json=$json"
  env "${envs[@]}" node node_modules/vitest/vitest.mjs run test/gpu --reporter=default --reporter=json --outputFile.json="$json"
  local rc=$?
  GS_RC=$rc GS_JSON="$json" node - <<'EOS'
const fs = require('fs');
let j = null;
try { j = JSON.parse(fs.readFileSync(process.env.GS_JSON, 'utf8')); } catch {}
const note = j
  ? `${j.numPassedTests} passed, ${j.numFailedTests} failed, ${j.numPendingTests + (j.numTodoTests ?? 0)} skipped (${j.numTotalTestSuites} suites)` +
    (j.numFailedTests ? `; failed: ${j.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status === 'failed').map((a) => a.fullName)).slice(0, 8).join(' | ')}` : '')
  : `no JSON report (exit ${process.env.GS_RC})`;
fs.writeFileSync(`${process.env.GS_WORK}/test.result.json`, JSON.stringify({ note, passed: j?.numPassedTests, failed: j?.numFailedTests, skipped: j ? j.numPendingTests + (j.numTodoTests ?? 0) : undefined }));
EOS
  return $rc
}

step_oom() {
  local dev=cuda
  [ "$GS_DRY" = 1 ] && dev=cpu
  local envs=(LMKIT_BACKEND=cuda)
  [ "$GS_DRY" = 1 ] && envs=(LMKIT_BACKEND=auto)
  echo "+ ${envs[*]} node (an allocation larger than the $dev memory, then a small op)"
  env "${envs[@]}" GS_DEV=$dev node --input-type=module - <<'EOS'
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const root = process.cwd();
const { Tensor, matmul, memory, tidy } = await import(pathToFileURL(`${root}/dist/index.js`).href);
const { native, nativeLoadInfo } = await import(pathToFileURL(`${root}/dist/native/index.js`).href);
const dev = process.env.GS_DEV;
const res = { device: dev, backend: nativeLoadInfo.backend, addon: nativeLoadInfo.path };
const out = () => writeFileSync(`${process.env.GS_WORK}/oom.result.json`, JSON.stringify(res));
if (dev === 'cuda' && nativeLoadInfo.backend !== 'cuda') {
  res.note = `FAILED: the CUDA addon is not in use (${nativeLoadInfo.reason})`;
  out();
  console.log(JSON.stringify(res));
  process.exit(1);
}
const total = dev === 'cuda' ? native.cudaInfo().totalMemory : 0;
const bytes = Math.max(200 * 2 ** 30, 2.5 * total);
res.requestedGB = +(bytes / 2 ** 30).toFixed(1);
res.deviceGB = +(total / 2 ** 30).toFixed(1);
const m0 = memory();
const t0 = performance.now();
try {
  Tensor.zeros([Math.ceil(bytes / 4)], 'float32', dev);
  res.threw = false;
} catch (e) {
  res.threw = true;
  res.error = `${e.constructor.name}: ${e.message}`;
}
res.ms = +(performance.now() - t0).toFixed(1);
// The process goes on: a small op on the same device, read back, and a sync with no sticky error.
try {
  const v = tidy(() => Array.from(matmul(Tensor.full([2, 3], 2, 'float32', dev), Tensor.full([3, 2], 0.5, 'float32', dev)).toArray()));
  if (dev === 'cuda') native.cudaSynchronize();
  res.continued = v.every((x) => x === 3);
  res.after = v;
} catch (e) {
  res.continued = false;
  res.afterError = `${e.constructor.name}: ${e.message}`;
}
const m1 = memory();
res.memoryBefore = m0;
res.memoryAfter = m1;
res.ok = res.threw && res.continued && (m1.deviceBytes ?? m1.bytes) === (m0.deviceBytes ?? m0.bytes);
// Fill the device in 2 GB blocks until it refuses, free them, and allocate half the device again
// (this process is alone on the GPU here; test/gpu leaves this out: its files run side by side).
if (dev === 'cuda') {
  const block = 2 ** 31 / 4;
  const held = [];
  const f = { blocks: 0 };
  const t1 = performance.now();
  try {
    for (let k = 0; k < Math.ceil(total / 2 ** 31) + 4; k++) held.push(Tensor.empty([block], 'float32', 'cuda'));
    f.error = null;
  } catch (e) {
    f.error = `${e.constructor.name}: ${e.message}`;
  } finally {
    f.blocks = held.length;
    for (const t of held) t.dispose();
  }
  f.freedToBefore = (memory().deviceBytes ?? 0) === (m0.deviceBytes ?? 0);
  native.emptyCache();
  try {
    tidy(() => Tensor.zeros([Math.floor(total / 2 / 4)], 'float32', 'cuda').storage.numel);
    native.cudaSynchronize();
    f.halfAgain = true;
  } catch (e) {
    f.halfAgain = false;
    f.halfError = `${e.constructor.name}: ${e.message}`;
  }
  native.emptyCache();
  f.ms = +(performance.now() - t1).toFixed(0);
  f.ok = f.error !== null && f.blocks > 0 && f.freedToBefore && f.halfAgain;
  res.fill = f;
  res.ok = res.ok && f.ok;
}
res.note = res.ok
  ? `${res.requestedGB} GB on ${dev}${dev === 'cuda' ? ` (device ${res.deviceGB} GB)` : ''} -> ${res.error}; the process went on (a matmul after it is correct)` +
    (res.fill ? `; filled with ${res.fill.blocks} x 2 GB before "${res.fill.error}", freed, half the device allocated again` : '')
  : `FAILED: threw ${res.threw} (${res.error ?? 'no error'}), continued ${res.continued}${res.afterError ? ` (${res.afterError})` : ''}` +
    (res.fill && !res.fill.ok ? `; fill: ${JSON.stringify(res.fill)}` : '');
out();
console.log(JSON.stringify(res, null, 1));
process.exit(res.ok ? 0 : 1);
EOS
}

step_bench() {
  local py=()
  [ -n "${GS_PYTHON:-}" ] && py=(--python "$GS_PYTHON")
  local rc=0
  if [ "$GS_DRY" = 1 ]; then
    echo "+ node bench/scripts/kernels-gpu.mjs --device cpu --quick --reps 1 --min-ms 5 --cooldown-ms 0 (dry run)"
    node bench/scripts/kernels-gpu.mjs --device cpu --quick --reps 1 --min-ms 5 --cooldown-ms 0 "${py[@]}" --out "$GS_WORK/kernels-dryrun-cpu.json" || rc=$?
    GS_KJSON="$GS_WORK/kernels-dryrun-cpu.json" bench_result
    return $rc
  fi
  # Seconds this step may take (its timeout): the TF32 run gets all but 90 s, the FP32 GEMMs the rest.
  local limit=${GS_STEP_LIMIT:-300} t0=$SECONDS
  local d1=$((limit - 100))
  [ $d1 -lt 60 ] && d1=60
  echo "+ node bench/scripts/kernels-gpu.mjs --reps 5 --cooldown-ms 50 --deadline-s $d1 --out $GS_OUTDIR/kernels-cuda.json"
  node bench/scripts/kernels-gpu.mjs --reps 5 --cooldown-ms 50 --deadline-s "$d1" "${py[@]}" --out "$GS_OUTDIR/kernels-cuda.json" || rc=$?
  local left=$((limit - (SECONDS - t0) - 15))
  if [ $left -ge 30 ]; then
    echo "+ LMKIT_CUDA_TF32=0 node bench/scripts/kernels-gpu.mjs --cases 'mm_*' --tf32 0 --deadline-s $((left - 10))"
    LMKIT_CUDA_TF32=0 node bench/scripts/kernels-gpu.mjs --cases 'mm_*' --tf32 0 --reps 5 --cooldown-ms 50 --deadline-s $((left - 10)) "${py[@]}" \
      --out "$GS_WORK/kernels-cuda-fp32.json" || echo "gpu-session: the FP32 GEMM run failed (exit $?)"
  else
    echo "gpu-session: no time left for the FP32 GEMM run"
  fi
  GS_KJSON="$GS_OUTDIR/kernels-cuda.json" GS_KJSON32="$GS_WORK/kernels-cuda-fp32.json" bench_result
  return $rc
}

bench_result() {
  node - <<'EOS'
const fs = require('fs');
const read = (f) => { try { return f && fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : null; } catch { return null; } };
const k = read(process.env.GS_KJSON);
const k32 = read(process.env.GS_KJSON32);
const line = (x, doc) => {
  const pk = x.peak_tflops ? ` = ${(100 * x.lmkit_peak_fraction).toFixed(0)}% of ${x.peak_tflops.toFixed(0)} (${x.peak_basis})` : '';
  const pt = x.pytorch_tflops != null ? `, PyTorch ${x.pytorch_tflops.toFixed(2)}${x.pytorch_peak_fraction != null ? ` = ${(100 * x.pytorch_peak_fraction).toFixed(0)}%` : ''} (lmkit/PyTorch ${x.ratio.toFixed(2)})` : '';
  return `GEMM ${x.case} ${x.dims.M}x${x.dims.N}x${x.dims.K} ${doc.settings.tf32 ? 'TF32' : 'FP32'}: lmkit ${x.lmkit_tflops.toFixed(2)} TFLOP/s${pk}${pt}`;
};
const lines = [];
for (const doc of [k, k32]) if (doc) for (const x of doc.gemm) if (/^mm_sq(4096|8192)$|^mm_gpt2_out$/.test(x.case) || doc.device === 'cpu') lines.push(line(x, doc));
const rows = k?.rows ?? [];
const behind = rows.filter((r) => r.peers.pytorch && !r.peers.pytorch.skipped && r.peers.pytorch.ratio < 0.95).map((r) => `${r.case} ${r.peers.pytorch.ratio.toFixed(2)}`);
const note = k
  ? `${rows.length} cases timed${k.skipped.length ? `, ${k.skipped.length} skipped` : ''}; PyTorch ${k.peers.pytorch.ran ? k.peers.pytorch.version : `not run (${k.peers.pytorch.why})`}; lmkit behind PyTorch (< 0.95): ${behind.length ? behind.join(', ') : 'none'}`
  : 'no kernels JSON written';
fs.writeFileSync(`${process.env.GS_WORK}/bench.result.json`, JSON.stringify({ note, details: lines, skipped: k?.skipped ?? [] }));
for (const l of lines) console.log(l);
EOS
}

# One training run: NAME DEVICE STEPS TIMEOUT ARGS... -> $GS_WORK/train/NAME.DEVICE.{jsonl,log,rc}
train_run() {
  local name=$1 dev=$2 steps=$3 limit=$4
  shift 4
  local dir="$GS_WORK/train" envs=()
  mkdir -p "$dir"
  if [ "$dev" = cuda ]; then
    envs=(LMKIT_BACKEND=cuda)
  elif [ -f build-cuda/Release/lmkit.node ]; then
    envs=(LMKIT_ADDON="$ROOT/build-cuda/Release/lmkit.node") # the CPU addon built next to the CUDA one
  else
    envs=(LMKIT_BACKEND=cpu)
  fi
  local cmd=(node dist/cli/index.js train --corpus brown --device "$dev" --steps "$steps" --eval-tokens 10000 --no-test --json "$@")
  echo "+ ${envs[*]} ${cmd[*]}   (limit ${limit} s)"
  echo "${envs[*]} ${cmd[*]}" >"$dir/$name.$dev.cmd"
  grep -qx "$name" "$dir/order" 2>/dev/null || echo "$name" >>"$dir/order"
  env "${envs[@]}" timeout -k 10 "$limit" "${cmd[@]}" >"$dir/$name.$dev.jsonl" 2>"$dir/$name.$dev.log"
  local rc=$?
  echo "$rc" >"$dir/$name.$dev.rc"
  tail -n 3 "$dir/$name.$dev.log"
  grep '"event":"done"' "$dir/$name.$dev.jsonl" || echo "(no done event; exit $rc)"
  return 0
}

step_train() {
  local limit=${GS_STEP_LIMIT:-400} t0=$SECONDS
  mkdir -p "$GS_WORK/train"
  # name | cuda steps | cpu steps | flags
  local configs=(
    "lstm-default|200|50|--model lstm"
    "transformer-default|200|50|--model transformer"
    "ffnn-default|200|50|--model ffnn --direct"
    "rnn-default|200|50|--model rnn"
    "mlm-default|200|50|--model mlm"
    "mamba-default|200|50|--model mamba"
    "loglinear-default|200|50|--model loglinear"
    "lstm-1x512|200|30|--model lstm --embed 512 --hidden 512 --layers 1 --dropout 0.5 --lr 0.002 --clip 1"
    "transformer-4x256-ctx128|200|30|--model transformer --embed 256 --layers 4 --heads 4 --context 128 --batch 16 --dropout 0.2 --lr 0.001 --clip 1"
    "transformer-6x512-ctx256|200|10|--model transformer --embed 512 --hidden 2048 --layers 6 --heads 8 --context 256 --batch 32 --lr 0.0006 --clip 1"
  )
  local c name cs ps flags left
  [ "$GS_DRY" = 1 ] && configs=("${configs[@]:0:2}") # the dry run checks the harness: two small models
  for c in "${configs[@]}"; do
    IFS='|' read -r name cs ps flags <<<"$c"
    for dev in cuda cpu; do
      [ "$GS_DRY" = 1 ] && [ "$dev" = cuda ] && continue
      local steps=$cs
      [ "$dev" = cpu ] && steps=$ps
      [ "$GS_DRY" = 1 ] && steps=10
      left=$((limit - (SECONDS - t0) - 10))
      if [ $left -lt 30 ]; then
        echo "gpu-session: train: no time left for $name on $dev"
        echo "skipped: time" >"$GS_WORK/train/$name.$dev.skip"
        continue
      fi
      local lim=$((left < 240 ? left : 240))
      # shellcheck disable=SC2086
      train_run "$name" "$dev" "$steps" "$lim" $flags
    done
  done
  GS_DRYRUN="$GS_DRY" node - <<'EOS'
const fs = require('fs');
const dir = `${process.env.GS_WORK}/train`;
const files = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
const runs = {};
for (const f of files) {
  const m = /^(.+)\.(cuda|cpu)\.(jsonl|rc|cmd|skip)$/.exec(f);
  if (!m) continue;
  const r = (runs[`${m[1]}.${m[2]}`] ??= { config: m[1], device: m[2] });
  const text = fs.readFileSync(`${dir}/${f}`, 'utf8');
  if (m[3] === 'rc') r.rc = Number(text.trim());
  if (m[3] === 'cmd') r.command = text.trim();
  if (m[3] === 'skip') r.skipped = text.trim();
  if (m[3] === 'jsonl') {
    const ev = text.split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
    const done = ev.find((e) => e.event === 'done');
    const s50 = ev.find((e) => e.event === 'step' && e.step === 50);
    const steps = ev.filter((e) => e.event === 'step');
    if (done) Object.assign(r, { steps: done.steps, seconds: done.seconds, tokens_per_s: done.tokens_per_s, parameters: done.parameters, valid_ppl: done.valid_ppl });
    if (s50) r.loss_step50 = s50.loss;
    if (steps.length) r.loss_last = steps[steps.length - 1].loss;
  }
}
for (const r of Object.values(runs)) {
  if (r.rc !== undefined && r.rc !== 0) {
    const log = fs.existsSync(`${dir}/${r.config}.${r.device}.log`) ? fs.readFileSync(`${dir}/${r.config}.${r.device}.log`, 'utf8').trim().split('\n') : [];
    r.error = r.rc === 124 || r.rc === 137 ? `timed out` : (log.filter((l) => /error|lmkit:/i.test(l)).pop() ?? log.pop() ?? `exit ${r.rc}`).slice(0, 300);
  }
}
const order = fs.existsSync(`${dir}/order`) ? fs.readFileSync(`${dir}/order`, 'utf8').split('\n').filter(Boolean) : [];
const configs = [...new Set([...order, ...Object.values(runs).map((r) => r.config)])].filter((c) => Object.values(runs).some((r) => r.config === c));
const rows = configs.map((config) => {
  const g = runs[`${config}.cuda`];
  const c = runs[`${config}.cpu`];
  const row = { config, cuda: g ?? null, cpu: c ?? null };
  if (g?.tokens_per_s && c?.tokens_per_s) row.cuda_over_cpu = g.tokens_per_s / c.tokens_per_s;
  if (g?.loss_step50 !== undefined && c?.loss_step50 !== undefined) row.loss_step50_abs_diff = Math.abs(g.loss_step50 - c.loss_step50);
  return row;
});
const doc = {
  benchmark: process.env.GS_DRYRUN === '1' ? 'train-dryrun-cpu' : 'train-cuda',
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  method: 'lmkit train on Brown with --json; tokens/s of the done event (training steps only, after the warm-up steps the trainer leaves out; no evaluation); the CPU runs use all cores and fewer steps; loss_step50: the loss of step 50 on each device (same seed and batches)',
  rows,
};
const out = process.env.GS_DRYRUN === '1' ? `${process.env.GS_WORK}/train-dryrun-cpu.json` : `${process.env.GS_OUTDIR}/train.json`;
fs.writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
const f0 = (x) => (x == null ? '-' : x.toFixed(0));
const details = rows.map((r) =>
  `${r.config}: cuda ${r.cuda?.tokens_per_s ? `${f0(r.cuda.tokens_per_s)} tok/s` : r.cuda?.error ?? r.cuda?.skipped ?? '-'}, cpu ${r.cpu?.tokens_per_s ? `${f0(r.cpu.tokens_per_s)} tok/s` : r.cpu?.error ?? r.cpu?.skipped ?? '-'}` +
  (r.cuda_over_cpu ? `, cuda/cpu ${r.cuda_over_cpu.toFixed(1)}x` : '') +
  (r.loss_step50_abs_diff !== undefined ? `, |loss@50 cuda - cpu| ${r.loss_step50_abs_diff.toExponential(1)}` : ''));
const failed = Object.values(runs).filter((r) => r.rc !== undefined && r.rc !== 0);
const note = `${Object.values(runs).filter((r) => r.tokens_per_s).length} runs done${failed.length ? `, ${failed.length} failed (${failed.map((r) => `${r.config} ${r.device}`).join(', ')})` : ''}`;
fs.writeFileSync(`${process.env.GS_WORK}/train.result.json`, JSON.stringify({ note, details, failed: failed.length }));
for (const d of details) console.log(d);
process.exit(failed.length ? 1 : 0);
EOS
}

# compute-sanitizer TOOL over vitest (one process tree); writes $GS_WORK/TOOL.log.
sanitize() {
  local tool=$1
  shift
  local cs="${GS_SANITIZER:-}"
  local vit=(node node_modules/vitest/vitest.mjs run "$@" --no-file-parallelism --maxWorkers=1 --no-isolate
    --reporter=default --testTimeout=900000 --hookTimeout=900000)
  local rc
  if [ "$GS_DRY" = 1 ]; then
    echo "+ (dry run, no compute-sanitizer) ${vit[*]}"
    LMKIT_SANITIZER=$tool "${vit[@]}"
    rc=$?
  else
    local opts=(--tool "$tool" --target-processes all --print-limit 100 --error-exitcode 86)
    [ "$tool" = memcheck ] && opts+=(--leak-check full)
    [ "$tool" = racecheck ] && opts+=(--racecheck-report analysis)
    echo "+ LMKIT_BACKEND=cuda LMKIT_REQUIRE_GPU=1 LMKIT_SANITIZER=$tool LMKIT_CUDA_POOL_KEEP_MB=0 $cs ${opts[*]} ${vit[*]}"
    LMKIT_BACKEND=cuda LMKIT_REQUIRE_GPU=1 LMKIT_SANITIZER=$tool LMKIT_CUDA_POOL_KEEP_MB=0 "$cs" "${opts[@]}" "${vit[@]}"
    rc=$?
  fi
  echo "gpu-session: $tool exit $rc"
  return $rc
}

step_memcheck() {
  sanitize memcheck test/gpu >"$GS_WORK/memcheck.out" 2>&1
  local rc=$?
  tail -n 40 "$GS_WORK/memcheck.out"
  sanitizer_result memcheck "$rc"
  return $rc
}

step_racecheck() {
  sanitize racecheck test/gpu/ops.test.ts >"$GS_WORK/racecheck.out" 2>&1
  local rc=$?
  tail -n 40 "$GS_WORK/racecheck.out"
  sanitizer_result racecheck "$rc"
  return $rc
}

sanitizer_result() {
  GS_TOOL=$1 GS_RC=$2 node - <<'EOS'
const fs = require('fs');
const w = process.env.GS_WORK;
const tool = process.env.GS_TOOL;
const text = (fs.existsSync(`${w}/${tool}.out`) ? fs.readFileSync(`${w}/${tool}.out`, 'utf8') : '').replace(/\x1b\[[0-9;]*m/g, '');
const lines = text.split('\n');
const summary = lines.filter((l) => /(ERROR|LEAK|RACECHECK) SUMMARY|Device not supported|Sanitizer.*(error|Error)|Target application returned/.test(l));
const tests = lines.filter((l) => /^\s*(Test Files|Tests)\s/.test(l));
const errors = [];
for (let i = 0; i < lines.length && errors.length < 400; i++) {
  if (/^========= (Invalid|Program hit|Race|Error|Leaked|Warning|Uninitialized|Barrier|Malloc|cudaErrorLaunchFailure)/.test(lines[i])) {
    for (let j = i; j < Math.min(lines.length, i + 25) && (j === i || lines[j].startsWith('=========')); j++) errors.push(lines[j]);
    errors.push('');
  }
}
const counts = summary.map((l) => l.replace(/^=+\s*/, '')).filter((l) => /SUMMARY/.test(l));
const note = `${counts.length ? [...new Set(counts)].join('; ') : 'no SUMMARY line'}${tests.length ? `; vitest: ${tests.map((t) => t.trim().replace(/\s+/g, ' ')).join('; ')}` : ''} (exit ${process.env.GS_RC})`;
const block = [`## ${tool} (exit ${process.env.GS_RC})`, '', ...summary, '', ...tests, '', ...(errors.length ? ['first reports:', ...errors] : ['no error reports']), '', ''].join('\n');
fs.appendFileSync(`${process.env.GS_OUTDIR}/sanitizer.txt`, block);
fs.writeFileSync(`${w}/${tool}.result.json`, JSON.stringify({ note, summary: counts, tests: tests.map((t) => t.trim()) }));
console.log(note);
EOS
}

# --make-bundle [DIR]: on the machine WITHOUT a GPU, before the session. The layout and `enter`
# of ../shared/gpu/make-bundle (DIR/node.xz, DIR/node_modules.tar.xz, DIR/enter), leaving out
# what no step here uses: make-bundle's full node_modules packs to about 80 MB, over the 64 MiB
# that may travel to the GPU machine; this one packs to about a third of that.
make_bundle() {
  local dir=${1:-.gpu}
  [ -f package.json ] && [ -d node_modules ] || { echo "gpu-session --make-bundle: run npm ci first" >&2; return 2; }
  command -v node >/dev/null 2>&1 || { echo "gpu-session --make-bundle: no node here" >&2; return 2; }
  mkdir -p "$dir" || return 2
  local node_bin
  node_bin=$(command -v node)
  if [ ! -f "$dir/node.xz" ] || [ "$node_bin" -nt "$dir/node.xz" ]; then
    xz -T0 -9 -c "$node_bin" >"$dir/node.xz.tmp" && mv -f "$dir/node.xz.tmp" "$dir/node.xz" || return 1
  fi
  # Left out: the TypeScript compiler (dist/ is carried, or transpiled with rolldown), and the
  # CPU-benchmark peers and doc tools (TensorFlow.js and its core-js, typedoc and its highlighter,
  # js-tiktoken: only the GPT-2 tokenizer loads it, on first use).
  tar cf - --exclude=node_modules/typescript --exclude=node_modules/@typescript --exclude='node_modules/.cache' \
    --exclude=node_modules/@tensorflow --exclude=node_modules/core-js --exclude=node_modules/typedoc \
    --exclude=node_modules/@shikijs --exclude=node_modules/lunr --exclude=node_modules/markdown-it \
    --exclude=node_modules/js-tiktoken --exclude=node_modules/@types node_modules | xz -T0 -6 >"$dir/node_modules.tar.xz.tmp" &&
    mv -f "$dir/node_modules.tar.xz.tmp" "$dir/node_modules.tar.xz" || return 1
  cat >"$dir/enter" <<'EOS'
# source me from the project root on the GPU host (made by scripts/gpu-session.sh --make-bundle)
_b=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p /tmp/nodebin
[ -x /tmp/nodebin/node ] || { xz -dc "$_b/node.xz" > /tmp/nodebin/node && chmod +x /tmp/nodebin/node; }
ln -sf /tmp/nodebin/node /tmp/nodebin/nodejs
export PATH=/tmp/nodebin:$PATH
[ -d node_modules ] || xz -dc "$_b/node_modules.tar.xz" | tar xf -
# No npm/npx here: run tools with node (node node_modules/vitest/vitest.mjs ...); gpu-session.sh
# puts an npx stand-in on PATH for scripts/build-cuda.sh.
echo "node $(node --version) ready; node_modules restored" >&2
EOS
  du -sh "$dir"/* | sed 's/^/  /'
  echo "gpu-session: carry '$dir' and 'dist' (npx tsc -p tsconfig.json first) to the GPU machine" >&2
}
if [ "${1:-}" = --make-bundle ]; then
  make_bundle "${2:-.gpu}"
  exit $?
fi

if [ "${1:-}" = __step ]; then
  # Inside a step: its stdout/stderr go to the step's log (the caller redirects them).
  "step_$2"
  exit $?
fi

# ---------------------------------------------------------------------------------------------
# Arguments

usage() { sed -n '2,/^set -uo pipefail/p' "$SELF" | sed '$d' | sed 's/^# \{0,1\}//'; }
OUTDIR=""
STEPS=main
BUDGET=${GPU_SESSION_BUDGET:-540}
REQUIRE_GPU=0
DRY_ALLOWED=0
NO_BUILD=0
JOBS_N=${JOBS:-$(nproc 2>/dev/null || echo 4)}
while [ $# -gt 0 ]; do
  case $1 in
    --steps) STEPS=${2:?--steps needs a list}; shift 2 ;;
    --steps=*) STEPS=${1#*=}; shift ;;
    --budget) BUDGET=${2:?--budget needs seconds}; shift 2 ;;
    --budget=*) BUDGET=${1#*=}; shift ;;
    --jobs) JOBS_N=${2:?--jobs needs a number}; shift 2 ;;
    --jobs=*) JOBS_N=${1#*=}; shift ;;
    --require-gpu) REQUIRE_GPU=1; shift ;;
    --cpu-dry-run) DRY_ALLOWED=1; shift ;;
    --no-build) NO_BUILD=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "gpu-session: unknown option $1 (see --help)" >&2; exit 2 ;;
    *)
      if [ -n "$OUTDIR" ]; then echo "gpu-session: one OUTDIR only (got $OUTDIR and $1)" >&2; exit 2; fi
      OUTDIR=$1; shift ;;
  esac
done
case $BUDGET in '' | *[!0-9]*) echo "gpu-session: --budget must be whole seconds (got $BUDGET)" >&2; exit 2 ;; esac
case $JOBS_N in '' | *[!0-9]*) echo "gpu-session: --jobs must be a number (got $JOBS_N)" >&2; exit 2 ;; esac

ALL_STEPS="env build dist test oom bench train memcheck racecheck"
SEL=" "
for s in ${STEPS//,/ }; do
  case $s in
    main) SEL+="test oom bench train " ;;
    sanitize) SEL+="memcheck racecheck " ;;
    all) SEL+="test oom bench train memcheck racecheck " ;;
    env | build | dist | test | oom | bench | train | memcheck | racecheck) SEL+="$s " ;;
    *) echo "gpu-session: unknown step $s (steps: $ALL_STEPS; groups: main, sanitize, all)" >&2; exit 2 ;;
  esac
done
has() { [[ "$SEL" == *" $1 "* ]]; }
# Prerequisites: every GPU step needs the addon; the CLI steps need dist/.
for s in test oom bench train memcheck racecheck; do has $s && ! has build && SEL+="build "; done
for s in oom bench train; do has $s && ! has dist && SEL+="dist "; done

if ! command -v node >/dev/null 2>&1; then
  echo "gpu-session: node is not on PATH: on the GPU machine run 'source .gpu/enter' first (a bundle made by ../shared/gpu/make-bundle)" >&2
  exit 2
fi

OUTDIR=${OUTDIR:-gpu-out}
mkdir -p "$OUTDIR" || exit 2
OUTDIR=$(cd "$OUTDIR" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-gpu-session.XXXXXX") || exit 2
rm -f "$OUTDIR"/summary.txt "$OUTDIR"/summary.json "$OUTDIR"/env.json "$OUTDIR"/vitest-gpu.json "$OUTDIR"/kernels-cuda.json \
  "$OUTDIR"/train.json "$OUTDIR"/sanitizer.txt "$OUTDIR"/logs.tar.gz
T0=$SECONDS
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
: >"$WORK/steps.tsv"

log() { printf '[%s +%3ss] %s\n' "$(date -u +%H:%M:%S)" "$((SECONDS - T0))" "$*" | tee -a "$WORK/session.log" >&2; }
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5//$'\t'/ }" >>"$WORK/steps.tsv"; }

# ---------------------------------------------------------------------------------------------
# env (in this shell: later steps need what it finds)

first_line() { head -n 1 | tr -d '\r'; }
ver_of_nvcc() { "$1" --version 2>/dev/null | sed -n 's/.*release \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' | head -1; }
# ver_le A B: version A <= version B (major.minor)
ver_le() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1)" = "$1" ]; }

step_env() {
  local e="$WORK/env"
  mkdir -p "$e"
  GPU_OK=0
  GPU_WHY=""
  # nvidia-smi
  if command -v nvidia-smi >/dev/null 2>&1; then
    timeout 30 nvidia-smi >"$e/nvidia-smi.txt" 2>&1
    timeout 30 nvidia-smi -q >"$e/nvidia-smi-q.txt" 2>&1
    timeout 30 nvidia-smi -L >"$e/gpus-L.txt" 2>&1
    if grep -q '^GPU [0-9]' "$e/gpus-L.txt"; then
      GPU_OK=1
      # One field at a time: a field this driver does not know must not lose the others.
      local f row=()
      for f in name driver_version memory.total compute_cap clocks.max.sm clocks.max.mem power.limit pci.bus_id; do
        row+=("$(timeout 20 nvidia-smi --query-gpu="$f" --format=csv,noheader -i 0 2>/dev/null | first_line | tr ',' ';')")
      done
      (IFS=,; echo "${row[*]}") >"$e/gpus.csv"
    else
      GPU_WHY="nvidia-smi lists no GPU ($(grep -v '^$' "$e/gpus-L.txt" "$e/nvidia-smi.txt" 2>/dev/null | first_line | cut -d: -f2-))"
    fi
  else
    GPU_WHY="no nvidia-smi on PATH (no NVIDIA driver on this machine)"
  fi
  DRV_VER=$(cut -d, -f2 "$e/gpus.csv" 2>/dev/null | first_line | tr -d ' ')
  DRV_CUDA=$(sed -n 's/.*CUDA Version: *\([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' "$e/nvidia-smi.txt" 2>/dev/null | head -1)
  if [ -z "$DRV_CUDA" ] && [ -n "$DRV_VER" ]; then
    # The first driver of each CUDA major: 580 -> 13.0, 525 -> 12.0, 450 -> 11.0.
    local dmaj=${DRV_VER%%.*}
    if [ "$dmaj" -ge 580 ] 2>/dev/null; then DRV_CUDA=13.0; elif [ "$dmaj" -ge 525 ] 2>/dev/null; then DRV_CUDA=12.0; elif [ "$dmaj" -ge 450 ] 2>/dev/null; then DRV_CUDA=11.0; fi
  fi
  local cc
  cc=$(cut -d, -f4 "$e/gpus.csv" 2>/dev/null | first_line | tr -d ' ')
  ARCH=""
  case $cc in [0-9]*.[0-9]*) ARCH=${cc/./} ;; esac

  # nvcc: every candidate, then the newest one the driver runs
  local cands=() n v
  [ -n "${CUDACXX:-}" ] && cands+=("$CUDACXX")
  command -v nvcc >/dev/null 2>&1 && cands+=("$(command -v nvcc)")
  for n in /usr/local/cuda/bin/nvcc /usr/local/cuda-*/bin/nvcc /opt/cuda/bin/nvcc; do [ -x "$n" ] && cands+=("$n"); done
  : >"$e/nvcc.tsv"
  local seen=" "
  for n in "${cands[@]}"; do
    local real
    real=$(readlink -f "$n")
    [[ "$seen" == *" $real "* ]] && continue
    seen+="$real "
    v=$(ver_of_nvcc "$n")
    [ -n "$v" ] && printf '%s\t%s\n' "$v" "$n" >>"$e/nvcc.tsv"
  done
  CHOSEN_NVCC=""
  NVCC_WHY=""
  if [ -n "${CUDACXX:-}" ]; then
    CHOSEN_NVCC=$CUDACXX
    NVCC_WHY="CUDACXX was set"
  elif [ -s "$e/nvcc.tsv" ]; then
    local sorted
    sorted=$(sort -t$'\t' -k1,1Vr "$e/nvcc.tsv")
    if [ -n "$DRV_CUDA" ]; then
      # Newest nvcc <= the driver's CUDA version; else the newest of the driver's major (minor
      # version compatibility: real sm_XX code, no PTX JIT); else the newest (it will not run).
      while IFS=$'\t' read -r v n; do
        if ver_le "$v" "$DRV_CUDA"; then CHOSEN_NVCC=$n; NVCC_WHY="nvcc $v <= the driver's CUDA $DRV_CUDA"; break; fi
      done <<<"$sorted"
      if [ -z "$CHOSEN_NVCC" ]; then
        while IFS=$'\t' read -r v n; do
          if [ "${v%%.*}" = "${DRV_CUDA%%.*}" ]; then CHOSEN_NVCC=$n; NVCC_WHY="nvcc $v: same major as the driver's CUDA $DRV_CUDA (minor version compatibility)"; break; fi
        done <<<"$sorted"
      fi
      if [ -z "$CHOSEN_NVCC" ]; then
        CHOSEN_NVCC=$(cut -f2 <<<"$sorted" | head -1)
        NVCC_WHY="WARNING: every nvcc is newer than the driver's CUDA $DRV_CUDA; the addon will not run (update the driver or install an older toolkit)"
      fi
    else
      CHOSEN_NVCC=$(cut -f2 <<<"$sorted" | head -1)
      NVCC_WHY="the newest nvcc (driver CUDA version unknown)"
    fi
  fi
  NVCC_VER=""
  [ -n "$CHOSEN_NVCC" ] && NVCC_VER=$(ver_of_nvcc "$CHOSEN_NVCC")

  # compute-sanitizer: next to the chosen nvcc first
  SANITIZER=""
  for n in "$(dirname "$(readlink -f "${CHOSEN_NVCC:-/nonexistent/x}")")/compute-sanitizer" "$(command -v compute-sanitizer 2>/dev/null)" \
    /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer /usr/local/cuda-*/bin/compute-sanitizer; do
    if [ -n "$n" ] && [ -x "$n" ]; then SANITIZER=$n; break; fi
  done
  SANITIZER_VER=""
  [ -n "$SANITIZER" ] && SANITIZER_VER=$(timeout 20 "$SANITIZER" --version 2>&1 | grep -i version | first_line)

  # Python with PyTorch (with CUDA when there is a GPU)
  PYTHON=""
  : >"$e/python.txt"
  for n in "${LMKIT_PYTHON:-}" python3 /usr/bin/python3 /opt/torch/.venv/bin/python3; do
    [ -z "$n" ] && continue
    command -v "$n" >/dev/null 2>&1 || continue
    local out
    out=$(timeout 120 "$n" -c 'import torch, sys
c = torch.cuda.is_available()
print(sys.executable, torch.__version__, torch.version.cuda, int(c), torch.cuda.get_device_name(0).replace(" ", "_") if c else "-")' 2>/dev/null | tail -1)
    echo "$n: ${out:-no torch}" >>"$e/python.txt"
    [ -z "$out" ] && continue
    if [ "$GPU_OK" = 0 ] || [ "$(cut -d' ' -f4 <<<"$out")" = 1 ]; then PYTHON=$n; TORCH_INFO=$out; break; fi
  done

  # cuBLAS of the nvcc's major, when dlopen("libcublas.so.N") would not find it
  CUBLAS_FILE=""
  CUBLAS_NOTE=""
  local major=${NVCC_VER%%.*}
  if [ -n "$major" ]; then
    if ldconfig -p 2>/dev/null | grep -q "libcublas.so.$major "; then
      CUBLAS_NOTE="libcublas.so.$major is on the loader's path"
    else
      local nvdir
      nvdir=$(dirname "$(readlink -f "${CHOSEN_NVCC:-/x/x}")")
      local dirs=("$nvdir/../lib64" "$nvdir/../targets/x86_64-linux/lib" /usr/local/cuda/lib64)
      if [ -n "$PYTHON" ]; then
        # The wheels PyTorch brings (nvidia-cublas: site-packages/nvidia/.../lib) and torch/lib.
        while IFS= read -r d; do dirs+=("$d/nvidia" "$d/torch/lib"); done < <(timeout 60 "$PYTHON" -c 'import site
for p in site.getsitepackages() + [site.getusersitepackages()]: print(p)' 2>/dev/null)
      fi
      local f
      for d in "${dirs[@]}"; do
        [ -d "$d" ] || continue
        f=$(find "$d" -maxdepth 5 -name "libcublas.so.$major*" ! -name '*Lt*' 2>/dev/null | sort | head -1)
        if [ -n "$f" ]; then CUBLAS_FILE=$(readlink -f "$f"); break; fi
      done
      if [ -n "$CUBLAS_FILE" ]; then
        CUBLAS_NOTE="LMKIT_CUBLAS=$CUBLAS_FILE (and its folder on LD_LIBRARY_PATH)"
        export LMKIT_CUBLAS="$CUBLAS_FILE"
        export LD_LIBRARY_PATH="$(dirname "$CUBLAS_FILE")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      else
        CUBLAS_NOTE="no libcublas.so.$major found: lmkit's own SGEMM kernel will serve"
      fi
    fi
  fi

  export GS_ENV_DATE="$STARTED" GS_ENV_HOST="$(hostname 2>/dev/null)" GS_ENV_GPU_OK=$GPU_OK GS_ENV_GPU_WHY="$GPU_WHY" \
    GS_ENV_DRIVER="$DRV_VER" GS_ENV_DRIVER_CUDA="$DRV_CUDA" GS_ENV_ARCH="$ARCH" GS_ENV_NVCC="$CHOSEN_NVCC" GS_ENV_NVCC_VERSION="$NVCC_VER" \
    GS_ENV_NVCC_WHY="$NVCC_WHY" GS_ENV_SANITIZER="$SANITIZER" GS_ENV_SANITIZER_VERSION="$SANITIZER_VER" GS_ENV_PYTHON="$PYTHON" \
    GS_ENV_TORCH="${TORCH_INFO:-}" GS_ENV_CUBLAS="$CUBLAS_NOTE" GS_ENV_NODE="$(node --version)" GS_ENV_NPX="$(command -v npx || echo 'none (a stand-in is used)')" \
    GS_ENV_CMAKE="$(cmake --version 2>/dev/null | first_line)" GS_ENV_CXX="$(c++ --version 2>/dev/null | first_line)" \
    GS_ENV_CPU="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ //')" GS_ENV_CORES="$(nproc 2>/dev/null)" \
    GS_ENV_MEM="$(free -g 2>/dev/null | awk '/^Mem:/{print $2 " GiB"}')" GS_ENV_GIT="$(git rev-parse HEAD 2>/dev/null || echo 'no .git here')" \
    GS_ENV_DIST="$([ -f dist/cli/index.js ] && echo present || echo absent)" GS_ENV_JOBS="$JOBS_N" GS_ENV_BUDGET="$BUDGET"
  GS_E="$e" GS_OUT="$OUTDIR/env.json" node - <<'EOS'
const fs = require('fs');
const e = process.env.GS_E;
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('GS_ENV_')).map(([k, v]) => [k.slice(7).toLowerCase(), v]));
const read = (f) => (fs.existsSync(`${e}/${f}`) ? fs.readFileSync(`${e}/${f}`, 'utf8') : '');
env.gpus = read('gpus.csv').trim().split('\n').filter(Boolean).map((l) => {
  const [name, driver, memory, compute_cap, sm_max_clock, mem_max_clock, power_limit, bus] = l.split(',').map((s) => s.trim());
  return { name, driver, memory, compute_cap, sm_max_clock, mem_max_clock, power_limit, bus };
});
env.nvcc_found = read('nvcc.tsv').trim().split('\n').filter(Boolean).map((l) => { const [version, path] = l.split('\t'); return { version, path }; });
env.python_found = read('python.txt').trim().split('\n').filter(Boolean);
env.gpu_ok = env.gpu_ok === '1';
fs.writeFileSync(process.env.GS_OUT, `${JSON.stringify(env, null, 2)}\n`);
const note = env.gpu_ok
  ? `${env.gpus.map((g) => `${g.name} (cc ${g.compute_cap}, ${g.memory})`).join(', ')}; driver ${env.driver} (CUDA ${env.driver_cuda}); nvcc ${env.nvcc_version || 'none'} (${env.nvcc_why}); torch ${env.torch ? env.torch.split(' ')[1] : 'none'}; sanitizer ${env.sanitizer ? 'yes' : 'none'}; ${env.cublas}`
  : `no GPU: ${env.gpu_why}`;
fs.writeFileSync(`${process.env.GS_WORK}/env.result.json`, JSON.stringify({ note }));
EOS
}

# ---------------------------------------------------------------------------------------------
# Summary (rewritten after every step) and the logs archive

write_summary() {
  GS_STARTED="$STARTED" GS_ELAPSED=$((SECONDS - T0)) GS_FINAL=${1:-0} GS_SEL="$SEL" node - <<'EOS' >/dev/null
const fs = require('fs');
const w = process.env.GS_WORK;
const out = process.env.GS_OUTDIR;
const read = (f) => { try { return JSON.parse(fs.readFileSync(f, 'utf8')); } catch { return null; } };
const steps = fs.readFileSync(`${w}/steps.tsv`, 'utf8').split('\n').filter(Boolean).map((l) => {
  const [name, status, seconds, rc, reason] = l.split('\t');
  const r = read(`${w}/${name}.result.json`) ?? {};
  return { name, status, seconds: Number(seconds), rc: rc === '' ? null : Number(rc), reason: reason || undefined, note: r.note, details: r.details };
});
const env = read(`${out}/env.json`);
const todo = steps.filter((s) => s.status === 'skipped' && /budget/.test(s.reason ?? '')).map((s) => s.name);
const failed = steps.filter((s) => s.status === 'failed' || s.status === 'timeout');
const doc = {
  started: process.env.GS_STARTED,
  elapsed_s: Number(process.env.GS_ELAPSED),
  finished: process.env.GS_FINAL === '1',
  outdir: out,
  gpu: env ? { ok: env.gpu_ok, why: env.gpu_why || undefined, gpus: env.gpus, driver: env.driver, driver_cuda: env.driver_cuda, nvcc: env.nvcc_version, arch: env.arch } : null,
  steps,
  failed: failed.map((s) => s.name),
  next: todo.length ? `bash scripts/gpu-session.sh OUTDIR --steps ${todo.join(',')}` : null,
  files: ['summary.txt', 'summary.json', 'env.json', 'vitest-gpu.json', 'kernels-cuda.json', 'train.json', 'sanitizer.txt', 'logs.tar.gz'].filter((f) => fs.existsSync(`${out}/${f}`) || f === 'logs.tar.gz'),
};
fs.writeFileSync(`${out}/summary.json`, `${JSON.stringify(doc, null, 2)}\n`);
const t = [];
t.push(`lmkit GPU session ${doc.started}, ${doc.elapsed_s} s${doc.finished ? '' : ' (in progress)'}`);
t.push(doc.gpu ? (doc.gpu.ok ? `GPU: ${doc.gpu.gpus.map((g) => `${g.name}, cc ${g.compute_cap}, ${g.memory}`).join('; ')}; driver ${doc.gpu.driver} (CUDA ${doc.gpu.driver_cuda}); nvcc ${doc.gpu.nvcc}; arch ${doc.gpu.arch}` : `GPU: none (${doc.gpu.why})`) : 'GPU: unknown (env did not finish)');
t.push('');
for (const s of steps) {
  t.push(`${s.name.padEnd(10)} ${s.status.padEnd(8)} ${String(s.seconds).padStart(4)} s  ${s.reason ?? s.note ?? ''}${s.reason && s.note ? ` | ${s.note}` : ''}`);
  for (const d of s.details ?? []) t.push(`           ${d}`);
}
if (doc.next) t.push('', `Not run for the time budget; next: ${doc.next}`);
if (doc.gpu && !doc.gpu.ok) t.push('', 'No GPU here: nothing was measured. On a GPU machine: source .gpu/enter; bash scripts/gpu-session.sh OUTDIR');
t.push('', `Files in ${out}: ${doc.files.join(', ')} (logs.tar.gz: every step's log and intermediate JSON).`);
fs.writeFileSync(`${out}/summary.txt`, `${t.join('\n')}\n`);
EOS
}

pack_logs() {
  # A runaway log must not push the archive over what comes back (16 MiB a file): keep 2 MB of
  # the head and of the tail of any file above 8 MB.
  find "$WORK" -type f -size +8M ! -name '*.tar.gz' 2>/dev/null | while IFS= read -r f; do
    { head -c 2000000 "$f"; printf '\n\n[... gpu-session: cut ...]\n\n'; tail -c 2000000 "$f"; } >"$f.cut" && mv -f "$f.cut" "$f"
  done
  tar czf "$OUTDIR/logs.tar.gz.tmp" -C "$WORK" --exclude=bin . 2>/dev/null && mv -f "$OUTDIR/logs.tar.gz.tmp" "$OUTDIR/logs.tar.gz"
}

after_step() {
  write_summary 0
  pack_logs
}

# NAME MIN_S MAX_S NEEDS(gpu|none): runs `step_NAME` under timeout, records the outcome.
run_step() {
  local name=$1 min=$2 max=$3 needs=$4
  has "$name" || return 0
  local reason=""
  if [ "$needs" = gpu ] && [ "$GPU_OK" != 1 ] && [ "$GS_DRY" != 1 ]; then
    reason="no GPU: $GPU_WHY"
  elif [ "$needs" = gpu ] && [ "$GS_DRY" = 1 ] && [ "$name" = build ]; then
    reason="dry run: no CUDA build without a GPU (the CPU addon in build/ serves)"
  elif [ "$name" != build ] && [ "$name" != dist ] && [ "$GS_DRY" != 1 ] && [ "${BUILD_OK:-0}" != 1 ]; then
    reason="the CUDA addon is not usable (see the build step)"
  elif { [ "$name" = oom ] || [ "$name" = bench ] || [ "$name" = train ]; } && [ "${DIST_OK:-0}" != 1 ]; then
    reason="dist/ is missing (see the dist step)"
  elif { [ "$name" = memcheck ] || [ "$name" = racecheck ]; } && [ -z "$SANITIZER" ] && [ "$GS_DRY" != 1 ]; then
    reason="no compute-sanitizer found (CUDA toolkit bin/ next to nvcc, or on PATH)"
  fi
  if [ -n "$reason" ]; then
    log "$name: skipped: $reason"
    record "$name" skipped 0 "" "$reason"
    after_step
    return 0
  fi
  local left=$((BUDGET - (SECONDS - T0) - 20))
  if [ "$left" -lt "$min" ]; then
    reason="time budget: ${left} s left of --budget $BUDGET, the step needs at least $min s; run it with --steps $name"
    log "$name: skipped: $reason"
    record "$name" skipped 0 "" "$reason"
    after_step
    return 0
  fi
  local limit=$((left < max ? left : max))
  log "$name: start (limit ${limit} s; log $name.log in logs.tar.gz)"
  local t=$SECONDS
  GS_STEP_LIMIT=$limit timeout -k 15 "$limit" bash "$SELF" __step "$name" >"$WORK/$name.log" 2>&1 </dev/null
  local rc=$? status=ok
  local secs=$((SECONDS - t))
  if [ $rc = 124 ] || [ $rc = 137 ]; then
    status=timeout
  elif [ $rc != 0 ]; then
    status=failed
  fi
  [ "$GS_DRY" = 1 ] && [ $status = ok ] && status=dry-ok
  record "$name" "$status" "$secs" "$rc" "$([ $status = timeout ] && echo "stopped at its limit of $limit s")"
  local note
  note=$(node -e 'try{process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).note??"")}catch{}' "$WORK/$name.result.json" 2>/dev/null)
  log "$name: $status ($secs s, exit $rc)${note:+: $note}"
  if [ $status = failed ] || [ $status = timeout ]; then
    echo "----- last lines of $name.log -----" >&2
    tail -n 25 "$WORK/$name.log" >&2
    echo "-----" >&2
  fi
  after_step
  [ $status = ok ] || [ $status = dry-ok ]
}

# ---------------------------------------------------------------------------------------------
# Main

export GS_WORK="$WORK" GS_OUTDIR="$OUTDIR" NO_COLOR=1
log "lmkit GPU session: steps env $(for s in $ALL_STEPS; do has $s && printf '%s ' $s; done)| budget $BUDGET s | out $OUTDIR | work $WORK"
t=$SECONDS
step_env 2>>"$WORK/env.log"
record env ok $((SECONDS - t)) 0 ""
log "env: $(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).note)' "$WORK/env.result.json" 2>/dev/null)"

GS_DRY=0
if [ "$GPU_OK" != 1 ] && [ "$DRY_ALLOWED" = 1 ]; then
  GS_DRY=1
  log "no GPU and --cpu-dry-run: the steps run their CPU dry runs (they check the harness, not a GPU)"
fi
export GS_DRY GS_JOBS="$JOBS_N" GS_ARCH="$ARCH" GS_CUDACXX="$CHOSEN_NVCC" GS_PYTHON="$PYTHON" GS_SANITIZER="$SANITIZER" GS_NO_BUILD="$NO_BUILD"
after_step

BUILD_OK=0
DIST_OK=0
run_step build 20 480 gpu && BUILD_OK=1
[ "$GS_DRY" = 1 ] && BUILD_OK=1
if run_step dist 1 180 gpu; then
  [ -f dist/cli/index.js ] && DIST_OK=1
fi
run_step test 30 300 gpu
run_step oom 10 120 gpu
run_step bench 90 360 gpu
run_step train 90 420 gpu
run_step memcheck 120 600 gpu
run_step racecheck 90 600 gpu

write_summary 1
pack_logs
echo >&2
cat "$OUTDIR/summary.txt" >&2
rc=0
awk -F'\t' '$2 == "failed" || $2 == "timeout" { f = 1 } END { exit !f }' "$WORK/steps.tsv" && rc=1
if [ "$GPU_OK" != 1 ] && [ "$REQUIRE_GPU" = 1 ]; then
  log "no GPU and --require-gpu: exit 3"
  rc=3
fi
exit $rc
