#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/ and
# runs the test suite (or the vitest arguments given) against it.
#   bash scripts/sanitize.sh                 # whole suite
#   bash scripts/sanitize.sh test/ops        # a subset
# Leak checking is off: Node itself keeps allocations alive at exit; memory growth is
# measured by the memory tests instead.
set -euo pipefail
cd "$(dirname "$0")/.."
npx cmake-js compile --out build-asan --CDLMKIT_SANITIZE=ON --CDCMAKE_BUILD_TYPE=RelWithDebInfo >"${TMPDIR:-/tmp}/lmkit-asan-build.$$.log" 2>&1 ||
  { tail -30 "${TMPDIR:-/tmp}/lmkit-asan-build.$$.log"; exit 1; }
addon="$PWD/build-asan/Release/lmkit.node"
[ -f "$addon" ] || addon=$(find build-asan -name lmkit.node | head -1)
libasan=$(gcc -print-file-name=libasan.so)
libubsan=$(gcc -print-file-name=libubsan.so)
echo "sanitized addon: $addon"
LMKIT_ADDON="$addon" \
LD_PRELOAD="$libasan:$libubsan" \
ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1" \
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
  npx vitest run "$@"
