#!/usr/bin/env bash
# Puts the Gloo module of the prebuilt package together: lmkit_gloo.node (from build/Release,
# `npm run build:native` with libgloo-dev installed) plus libgloo.so.0 and every shared library
# it needs that is not part of the base system (ldd's closure minus glibc, libstdc++ and
# libgcc_s, which Node itself needs), each given RUNPATH $ORIGIN so that they find each other
# beside the module, plus their Debian copyright files under licenses/ (see README.md).
#   bash scripts/bundle-gloo.sh [DEST]    # default prebuilds/<platform>-<arch>
# Then checks that every bundled library resolves from DEST (ldd) and that the module loads.
set -euo pipefail
cd "$(dirname "$0")/.."
plat=$(node -p 'process.platform + "-" + process.arch')
dest=${1:-prebuilds/$plat}
src=${LMKIT_GLOO_SRC:-build/Release/lmkit_gloo.node}
[ -f "$src" ] || { echo "bundle-gloo: no $src (apt-get install libgloo-dev, then npm run build:native)" >&2; exit 1; }
command -v patchelf >/dev/null || { echo "bundle-gloo: patchelf is needed (apt-get install patchelf)" >&2; exit 1; }
mkdir -p "$dest/licenses"
cp "$src" "$dest/lmkit_gloo.node"
strip --strip-unneeded "$dest/lmkit_gloo.node"
base='^(linux-vdso|libc\.so|libm\.so|libstdc\+\+\.so|libgcc_s\.so|ld-linux|libpthread\.so|libdl\.so|librt\.so)'
bundled=()
while read -r name path; do
  [[ $name =~ $base ]] && continue
  [ -f "$path" ] || { echo "bundle-gloo: $name not found" >&2; exit 1; }
  cp -L "$path" "$dest/$name"
  chmod u+w "$dest/$name"
  patchelf --set-rpath '$ORIGIN' "$dest/$name"
  strip --strip-unneeded "$dest/$name"
  bundled+=("$name")
  pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
  [ -z "$pkg" ] && pkg=$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
  if [ -n "$pkg" ] && [ -f "/usr/share/doc/$pkg/copyright" ]; then
    cp "/usr/share/doc/$pkg/copyright" "$dest/licenses/$pkg.copyright"
  else
    echo "bundle-gloo: no copyright file for $name ($pkg)" >&2; exit 1
  fi
done < <(ldd "$src" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }')
for l in GPL-2 LGPL-2.1; do cp "/usr/share/common-licenses/$l" "$dest/licenses/$l"; done
# Every bundled library must now resolve from $dest, not from the system.
for name in "${bundled[@]}"; do
  where=$(ldd "$dest/lmkit_gloo.node" | awk -v n="$name" '$1 == n { print $3 }')
  [ "$(readlink -f "$where")" = "$(readlink -f "$dest/$name")" ] || { echo "bundle-gloo: $name resolves to $where, not $dest" >&2; exit 1; }
done
node -e 'const g = require(require("path").resolve(process.argv[1])); if (!g.connect) process.exit(1); console.log("bundle-gloo: loads, Gloo " + g.glooVersion)' "$dest/lmkit_gloo.node"
echo "bundle-gloo: $dest: lmkit_gloo.node + ${bundled[*]} ($(du -ck "$dest"/lmkit_gloo.node $(printf "$dest/%s " "${bundled[@]}") | tail -n 1 | cut -f1) KiB), licenses: $(ls "$dest/licenses" | tr '\n' ' ')"
