# Sourced by the other scripts: where the two Rust toolchains are.
# rustup's stable cargo builds and tests natively; Debian's cargo 1.96 (in
# /usr/bin) builds WebAssembly, because only it has the std sources that
# -Zbuild-std needs here.
export PATH="$HOME/.cargo/bin:$PATH"
HOST_CARGO="$(command -v cargo)"
WASM_CARGO_PATH="/usr/bin:$PATH"
export HOST_CARGO WASM_CARGO_PATH
