#!/usr/bin/env bash
# Installs what this project needs on a fresh Debian 12 machine and skips what
# is already there, so it is cheap to run before every build, test and demo.
# The recipe and why each piece is needed: shared/docs/toolchain.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

log() { printf '[setup] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# 1. Debian's Rust 1.96 with its std sources (WebAssembly builds compile std
#    with -Zbuild-std, since rustup cannot download a wasm32 std here) and
#    rust-lld, the wasm32 linker; Debian's Chromium for the browser test
#    (Playwright's own browser downloads are not reachable here).
missing=()
for pkg in rustc-web cargo-web rust-web-src lld-22 chromium; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from Debian"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock.
#    Without --locked: one of its locked dependencies (webpki-roots 1.0.11)
#    is not served by the registry reachable here.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ]; then
  log "installing wasm-bindgen-cli $want (had: ${have:-none}); this compiles for a few minutes"
  "$HOST_CARGO" install wasm-bindgen-cli --version "$want" --force --quiet
fi

# 3. wasm-pack.
if ! command -v wasm-pack >/dev/null 2>&1; then
  log "installing wasm-pack; this compiles for a few minutes"
  "$HOST_CARGO" install wasm-pack --locked --quiet
fi

# 4. npm dependencies, reinstalled when package-lock.json changes.
stamp=node_modules/.setup-stamp
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  log "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" >"$stamp"
fi

# 5. Node 24, an LTS line with relaxed SIMD (see env.sh). npm checks the package's integrity.
if [ ! -x "$NODE_LTS" ]; then
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) log "no Node $NODE_LTS_VERSION package for $(uname -m)"; exit 1 ;;
  esac
  log "installing Node $NODE_LTS_VERSION (node-linux-$arch from npm)"
  download=$(mktemp -d)
  (cd "$download" && npm pack --silent "node-linux-$arch@$NODE_LTS_VERSION" >/dev/null && tar xzf ./*.tgz)
  mkdir -p .tools
  rm -rf ".tools/node-v$NODE_LTS_VERSION"
  mv "$download/package" ".tools/node-v$NODE_LTS_VERSION"
  rm -rf "$download"
  "$NODE_LTS" --version >/dev/null
fi
