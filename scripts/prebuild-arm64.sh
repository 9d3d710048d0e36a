#!/usr/bin/env bash
# npm run build:prebuilds:arm64: cross-compiles the linux-arm64 addon on an x86-64 Debian host and
# installs it as prebuilds/linux-arm64/lmkit.node (Node-API 8, stripped), next to the linux-x64 one
# from scripts/prebuild.sh; the release tarball (npm run pack:release) carries both and the loader
# picks by process.arch. Needs: apt-get install -y g++-aarch64-linux-gnu (the compiler, through
# cmake/aarch64-linux-gnu.cmake) and qemu-user-static (the smoke test loads the addon in the arm64
# Node under qemu). The build folder build-arm64/ is shared with npm run test:arm64 (incremental);
# the loader never looks there.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/arm64/common.sh
arm64_need_tools
arm64_ensure_node
export JOBS=${JOBS:-$(node -p 'Math.max(1, require("os").availableParallelism?.() ?? 1)')}
mkdir -p "$arm64_dir"
arm64_build_addon build-arm64 >"$arm64_dir/build-addon.log" 2>&1 || { tail -30 "$arm64_dir/build-addon.log"; exit 1; }
out=prebuilds/linux-arm64
mkdir -p "$out"
aarch64-linux-gnu-strip --strip-all -o "$out/lmkit.node" build-arm64/Release/lmkit.node
file -b "$out/lmkit.node" | grep -q 'ARM aarch64' || { echo "prebuild-arm64: $out/lmkit.node is not an aarch64 ELF: $(file -b "$out/lmkit.node")" >&2; exit 1; }
# Smoke test: the prebuild loads in the arm64 Node and reports its kernels.
smoke=$("$arm64_node" -e 'const a = require(process.argv[1]); if (a.backend !== "cpu" || a.arch !== "arm64") process.exit(1);
  console.log(`${a.simd}, sgemm ${a.sgemm_backend()}`)' "$PWD/$out/lmkit.node") || { echo "prebuild-arm64: the addon does not load in the arm64 Node" >&2; exit 1; }
echo "prebuild: $out/lmkit.node ($(du -k "$out/lmkit.node" | cut -f1) KiB, $(file -b "$out/lmkit.node" | cut -d, -f1-2); loads under qemu: $smoke)"
