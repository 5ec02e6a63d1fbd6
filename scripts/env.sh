# Sourced by the other scripts: where the two Rust toolchains are.
# rustup's stable cargo builds and tests natively; Debian's cargo 1.96 (in
# /usr/bin) builds WebAssembly, because only it has the std sources that
# -Zbuild-std needs here.
export PATH="$HOME/.cargo/bin:$PATH"
HOST_CARGO="$(command -v cargo)"
WASM_CARGO_PATH="/usr/bin:$PATH"
export HOST_CARGO WASM_CARGO_PATH

# A Node LTS release, installed by setup.sh (from npm's node-linux-*
# packages: the official binaries) into .tools/. The tests run on it as well
# as on the machine's Node, and the bench runs on it: like every Node since 22 it has
# WebAssembly relaxed SIMD without a flag, so it loads the relaxed builds
# that most users get, where the machine's Node 20 loads the plain ones.
NODE_LTS_VERSION=24.21.0
NODE_LTS="$PWD/.tools/node-v$NODE_LTS_VERSION/bin/node"
export NODE_LTS_VERSION NODE_LTS
