#!/usr/bin/env bash
# Builds the prebuilt CPU addon shipped in the npm package: prebuilds/<platform>-<arch>/lmkit.node
# (Node-API 8, so one binary serves every Node >= 18; stripped).
#   bash scripts/prebuild.sh                # prebuildify (node-gyp + binding.gyp), the default
#   PREBUILD_WITH=cmake-js bash scripts/prebuild.sh   # same sources through cmake-js (CMakeLists.txt)
# The build runs in a scratch copy of the sources, so it never touches ./build (the local build
# that `npm run build:native` and the tests use). prebuildify is given this Node's version as the
# target: its default (the newest Node) would need headers from the network.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
plat=$(node -p 'process.platform + "-" + process.arch')
nodever=$(node -p process.versions.node)
out="$root/prebuilds/$plat"
stage=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-prebuild.XXXXXX")
trap 'rm -rf "$stage"' EXIT

cp -r binding.gyp CMakeLists.txt package.json native "$stage/"
ln -s "$root/node_modules" "$stage/node_modules"
export JOBS=${JOBS:-$(node -p 'Math.max(1, require("os").availableParallelism?.() ?? 1)')}

case "${PREBUILD_WITH:-prebuildify}" in
  prebuildify)
    (cd "$stage" && npx --no-install prebuildify --napi -t "$nodever" --strip --cwd "$stage") \
      >"$stage.log" 2>&1 || { tail -30 "$stage.log"; exit 1; }
    built=$(find "$stage/prebuilds/$plat" -name '*.node' | head -1)
    ;;
  cmake-js)
    (cd "$stage" && npx --no-install cmake-js compile --CDCMAKE_BUILD_TYPE=Release --parallel "$JOBS") \
      >"$stage.log" 2>&1 || { tail -30 "$stage.log"; exit 1; }
    built="$stage/build/Release/lmkit.node"
    strip --strip-all "$built"
    ;;
  *) echo "PREBUILD_WITH must be prebuildify or cmake-js" >&2; exit 2 ;;
esac
rm -f "$stage.log"
[ -f "$built" ] || { echo "prebuild: no .node produced" >&2; exit 1; }

mkdir -p "$out"
cp "$built" "$out/lmkit.node"
# Smoke test: the prebuild loads in this Node and reports its backend.
node -e 'const a = require(process.argv[1]); if (a.backend !== "cpu") process.exit(1);' "$out/lmkit.node"
echo "prebuild: $out/lmkit.node ($(du -k "$out/lmkit.node" | cut -f1) KiB, node-api, built on node $nodever)"

# The data-parallel module and the libraries it needs (scripts/bundle-gloo.sh), from the local
# cmake-js build (build/Release/lmkit_gloo.node, built when libgloo-dev is installed).
if [ -f "$root/build/Release/lmkit_gloo.node" ]; then
  bash "$root/scripts/bundle-gloo.sh" "$out"
else
  echo "prebuild: no build/Release/lmkit_gloo.node (apt-get install libgloo-dev patchelf; npm run build:native): the package will have no data-parallel training"
fi
