#!/usr/bin/env bash
# Builds the prebuilt CUDA addon into its own npm package, packages/lmkit-cuda-<platform>-<arch>/
# lmkit-cuda.node (stripped), so that the CPU-only lmkit package stays small. The addon is
# built by scripts/build-cuda.sh (cmake-js, -DLMKIT_CUDA=ON: sm_80/86/89/90 + compute_90 PTX,
# static CUDA runtime, cuBLAS dlopened) and needs nvcc but no GPU.
#   bash scripts/prebuild-cuda.sh              # build (incremental in build-cuda/) and copy
#   SKIP_BUILD=1 bash scripts/prebuild-cuda.sh # copy the existing build-cuda/Release/lmkit_cuda.node
#   bash scripts/prebuild-cuda.sh --pack DIR   # also npm pack the package into DIR
# The package's version is set to lmkit's (the loader refuses any other version).
set -euo pipefail
cd "$(dirname "$0")/.."
pack_dir=""
if [ "${1:-}" = "--pack" ]; then pack_dir=$(cd "${2:?--pack DIR}" && pwd); fi
plat=$(node -p 'process.platform + "-" + process.arch')
pkg="packages/lmkit-cuda-$plat"
[ -f "$pkg/package.json" ] || { echo "prebuild-cuda: no package folder $pkg for this platform" >&2; exit 1; }
if [ -z "${SKIP_BUILD:-}" ]; then bash scripts/build-cuda.sh; fi
built=build-cuda/Release/lmkit_cuda.node
[ -f "$built" ] || { echo "prebuild-cuda: $built is missing (run scripts/build-cuda.sh)" >&2; exit 1; }
cp "$built" "$pkg/lmkit-cuda.node"
strip --strip-all "$pkg/lmkit-cuda.node"
node -e '
  const fs = require("fs");
  const [lmkitJson, cudaJson] = process.argv.slice(1);
  const v = JSON.parse(fs.readFileSync(lmkitJson, "utf8")).version;
  const p = JSON.parse(fs.readFileSync(cudaJson, "utf8"));
  if (p.version !== v || p.peerDependencies?.lmkit !== v) {
    p.version = v; p.peerDependencies = { ...p.peerDependencies, lmkit: v };
    fs.writeFileSync(cudaJson, JSON.stringify(p, null, 2) + "\n");
  }' package.json "$pkg/package.json"
# Smoke test: it loads here (a machine without a GPU or driver is fine: deviceCount() is 0).
node -e 'const a = require(process.argv[1]); if (a.backend !== "cuda") process.exit(1);
  const i = a.cudaInfo(); console.log(`prebuild-cuda: loads; runtime ${i.runtimeVersion}, devices ${i.deviceCount}${i.error ? ` (${i.error})` : ""}`);' \
  "$PWD/$pkg/lmkit-cuda.node"
echo "prebuild-cuda: $pkg/lmkit-cuda.node ($(du -k "$pkg/lmkit-cuda.node" | cut -f1) KiB)"
if [ -n "$pack_dir" ]; then
  (cd "$pkg" && npm pack --ignore-scripts --pack-destination "$pack_dir" >/dev/null)
  echo "prebuild-cuda: $(ls "$pack_dir"/lmkit-cuda-"$plat"-*.tgz)"
fi
